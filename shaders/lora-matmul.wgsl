// Fused low-rank matmul  C = alpha · op(A) · op(B) + s · X2 · op(L) (+ C when ACCUMULATE).
// The LoRA forward without forming ΔW:  y = x·Wᵀ + s·(x·Aᵀ)·Bᵀ  with A := x, B := W, X2 := x·Aᵀ, L := B_lora.
// The LoRA input gradient:              dx = dy·W + s·(dy·B)·A   with B_KN, X2 := dy·B, L := A_lora, L_RN.
//   op(A) is (M, K): stored (M, K), or (K, M) when A_KM.
//   op(B) is (K, N): stored (N, K), or (K, N) when B_KN.
//   X2 is (M, R) row-major; op(L) is (R, N): stored (N, R), or (R, N) when L_RN.
// Dispatch: (ceil(N / 32), ceil(M / 32)); workgroup 8×8, each invocation a 4×4 block of C.
// Reference: src/reference/ops.ts loraMatmulRef.
override A_KM: bool = false;
override B_KN: bool = false;
override L_RN: bool = false;
override ACCUMULATE: bool = false;

struct Params {
  M: u32, N: u32, K: u32, R: u32,
  alpha: f32, s: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> X2: array<f32>;
@group(0) @binding(4) var<storage, read> L: array<f32>;
@group(0) @binding(5) var<storage, read_write> C: array<f32>;

fn aAt(m: u32, k: u32) -> f32 {
  if (A_KM) { return A[k * p.M + m]; }
  return A[m * p.K + k];
}

fn bAt(n: u32, k: u32) -> f32 {
  if (B_KN) { return B[k * p.N + n]; }
  return B[n * p.K + k];
}

fn lAt(n: u32, j: u32) -> f32 {
  if (L_RN) { return L[j * p.N + n]; }
  return L[n * p.R + j];
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 4u;
  let n0 = gid.x * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  // Rows/columns past the edge are clamped: computed, never stored.
  let mi = vec4<u32>(m0, min(m0 + 1u, p.M - 1u), min(m0 + 2u, p.M - 1u), min(m0 + 3u, p.M - 1u));
  let ni = vec4<u32>(n0, min(n0 + 1u, p.N - 1u), min(n0 + 2u, p.N - 1u), min(n0 + 3u, p.N - 1u));
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < p.K; k++) {
    let b = vec4<f32>(bAt(ni.x, k), bAt(ni.y, k), bAt(ni.z, k), bAt(ni.w, k));
    acc[0] += aAt(mi.x, k) * b;
    acc[1] += aAt(mi.y, k) * b;
    acc[2] += aAt(mi.z, k) * b;
    acc[3] += aAt(mi.w, k) * b;
  }
  var low: array<vec4<f32>, 4>;
  for (var j = 0u; j < p.R; j++) {
    let l = vec4<f32>(lAt(ni.x, j), lAt(ni.y, j), lAt(ni.z, j), lAt(ni.w, j));
    low[0] += X2[mi.x * p.R + j] * l;
    low[1] += X2[mi.y * p.R + j] * l;
    low[2] += X2[mi.z * p.R + j] * l;
    low[3] += X2[mi.w * p.R + j] * l;
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= p.M) { break; }
    let v = p.alpha * acc[i] + p.s * low[i];
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n < p.N) {
        let idx = m * p.N + n;
        var out = v[j];
        if (ACCUMULATE) { out += C[idx]; }
        C[idx] = out;
      }
    }
  }
}
