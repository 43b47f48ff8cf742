// Batched matrix product with vec4 loads  C = alpha · op(A) · op(B) (+ C when ACCUMULATE).
//   Same contract as matmul.wgsl: op(A) is (M, K), stored (M, K) or (K, M) when A_KM;
//   op(B) is (K, N), stored (N, K) (y = x·Wᵀ) or (K, N) when B_KN.
// Every operand is read as vec4 along its contiguous dimension, so it needs
//   K % 4 == 0 when A is (M, K) or B is (N, K); M % 4 == 0 when A_KM; N % 4 == 0 when B_KN;
//   and strideA, strideB multiples of 4. C is written element by element (any N).
// Each invocation computes a 4×4 block of C, stepping K by 4: the 4×4 A tile and the 4×4 B tile
// become mat4x4s and the block accumulates Bk · Am (Am[i] = row m0+i of op(A) over 4 k's,
// Bk[kk] = row k+kk of op(B) over 4 n's).
// Dispatch: (ceil(N / 32), ceil(M / 32), batches) with workgroup 8×8.
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
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 4u;
  let n0 = gid.x * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let M = p.M;
  let N = p.N;
  let K = p.K;
  // Element offsets of this batch's operands, in vec4 units.
  let baseA = gid.z * (p.strideA / 4u);
  let baseB = gid.z * (p.strideB / 4u);
  // Rows/columns past the edge are clamped: computed, never stored.
  let mi = vec4<u32>(m0, min(m0 + 1u, M - 1u), min(m0 + 2u, M - 1u), min(m0 + 3u, M - 1u));
  let ni = vec4<u32>(n0, min(n0 + 1u, N - 1u), min(n0 + 2u, N - 1u), min(n0 + 3u, N - 1u));
  let K4 = K / 4u;
  let M4 = M / 4u;
  let N4 = N / 4u;
  var acc = mat4x4<f32>();
  for (var k4 = 0u; k4 < K4; k4++) {
    // Am: column i = op(A)[m0 + i, 4k4 .. 4k4 + 3].
    var Am: mat4x4<f32>;
    if (A_KM) {
      let a = baseA + 4u * k4 * M4 + m0 / 4u;
      Am = transpose(mat4x4<f32>(A[a], A[a + M4], A[a + 2u * M4], A[a + 3u * M4]));
    } else {
      let a = baseA + k4;
      Am = mat4x4<f32>(A[a + mi.x * K4], A[a + mi.y * K4], A[a + mi.z * K4], A[a + mi.w * K4]);
    }
    // Bk: column kk = op(B)[4k4 + kk, n0 .. n0 + 3].
    var Bk: mat4x4<f32>;
    if (B_KN) {
      let b = baseB + 4u * k4 * N4 + n0 / 4u;
      Bk = mat4x4<f32>(B[b], B[b + N4], B[b + 2u * N4], B[b + 3u * N4]);
    } else {
      let b = baseB + k4;
      Bk = transpose(mat4x4<f32>(B[b + ni.x * K4], B[b + ni.y * K4], B[b + ni.z * K4], B[b + ni.w * K4]));
    }
    acc += Bk * Am;
  }
  let baseC = gid.z * p.strideC;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n < N) {
        let idx = baseC + m * N + n;
        var out = p.alpha * acc[i][j];
        if (ACCUMULATE) { out += C[idx]; }
        C[idx] = out;
      }
    }
  }
}
