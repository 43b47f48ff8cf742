// Batched matrix product  C = alpha · op(A) · op(B) (+ C when ACCUMULATE).
//   op(A) is (M, K): A stored (M, K) row-major, or (K, M) when A_KM.
//   op(B) is (K, N): B stored (N, K) row-major — the linear-layer form y = x·Wᵀ — or (K, N) when B_KN.
//   Forward y = x·Wᵀ: default. Backward dX = dY·W: B_KN. dW = dYᵀ·X: A_KM and B_KN.
// Batches: workgroup z indexes the batch; strideA/B/C are element strides between batches (0 = shared).
// Dispatch: (ceil(N / 32), ceil(M / 32), batches); each invocation computes a 4×4 block of C.
// Reference: src/reference/ops.ts matmulRef.
override A_KM: bool = false;
override B_KN: bool = false;
override ACCUMULATE: bool = false;

struct Params {
  M: u32, N: u32, K: u32,
  strideA: u32, strideB: u32, strideC: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

fn aAt(base: u32, m: u32, k: u32) -> f32 {
  if (A_KM) { return A[base + k * p.M + m]; }
  return A[base + m * p.K + k];
}

fn bAt(base: u32, n: u32, k: u32) -> f32 {
  if (B_KN) { return B[base + k * p.N + n]; }
  return B[base + n * p.K + k];
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 4u;
  let n0 = gid.x * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let baseA = gid.z * p.strideA;
  let baseB = gid.z * p.strideB;
  let baseC = gid.z * p.strideC;
  // Rows/columns past the edge are clamped: computed, never stored.
  let mi = vec4<u32>(m0, min(m0 + 1u, p.M - 1u), min(m0 + 2u, p.M - 1u), min(m0 + 3u, p.M - 1u));
  let ni = vec4<u32>(n0, min(n0 + 1u, p.N - 1u), min(n0 + 2u, p.N - 1u), min(n0 + 3u, p.N - 1u));
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k++) {
    let b = vec4<f32>(bAt(baseB, ni.x, k), bAt(baseB, ni.y, k), bAt(baseB, ni.z, k), bAt(baseB, ni.w, k));
    acc0 += aAt(baseA, mi.x, k) * b;
    acc1 += aAt(baseA, mi.y, k) * b;
    acc2 += aAt(baseA, mi.z, k) * b;
    acc3 += aAt(baseA, mi.w, k) * b;
  }
  store(baseC, m0, n0, acc0);
  store(baseC, m0 + 1u, n0, acc1);
  store(baseC, m0 + 2u, n0, acc2);
  store(baseC, m0 + 3u, n0, acc3);
}

fn store(baseC: u32, m: u32, n0: u32, v: vec4<f32>) {
  if (m >= p.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + j;
    if (n < p.N) {
      let idx = baseC + m * p.N + n;
      var out = p.alpha * v[j];
      if (ACCUMULATE) { out += C[idx]; }
      C[idx] = out;
    }
  }
}
