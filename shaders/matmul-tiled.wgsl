// Batched matrix product through workgroup memory  C = alpha · op(A) · op(B) (+ C when ACCUMULATE).
//   Same contract as matmul.wgsl: op(A) is (M, K), stored (M, K) or (K, M) when A_KM;
//   op(B) is (K, N), stored (N, K) (y = x·Wᵀ) or (K, N) when B_KN. Any M, N, K, any strides.
// A 16×16 workgroup computes a 64×64 block of C; each invocation a 4×4 sub-block.
// K advances in steps of 16: the workgroup stages op(A)[64 rows, 16 k] and op(B)[16 k, 64 cols]
// in workgroup memory (each invocation loads 4 + 4 elements, consecutive invocations reading
// consecutive addresses in either layout; out-of-range elements are staged as 0), then every
// invocation runs 16 rank-1 updates of its 4×4 block from vec4 reads of the staged tiles.
// This is the form real GPUs reward; SwiftShader pays dearly for the barriers (see autotune.ts).
// Dispatch: (ceil(N / 64), ceil(M / 64), batches).
// Reference: src/reference/ops.ts matmulRef.
override A_KM: bool = false;
override B_KN: bool = false;
override ACCUMULATE: bool = false;

const TILE = 64u; // rows and columns of C per workgroup
const TK = 16u; // k per stage

struct Params {
  M: u32, N: u32, K: u32,
  strideA: u32, strideB: u32, strideC: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

// As[kk * 16 + r4][i] = op(A)[m0 + 4 r4 + i, k0 + kk];  Bs[kk * 16 + c4][j] = op(B)[k0 + kk, n0 + 4 c4 + j].
var<workgroup> As: array<vec4<f32>, 256>;
var<workgroup> Bs: array<vec4<f32>, 256>;

/** op(A)[m, k] of this batch, 0 outside (M, K). */
fn loadA(base: u32, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  if (A_KM) { return A[base + k * p.M + m]; }
  return A[base + m * p.K + k];
}

/** op(B)[k, n] of this batch, 0 outside (K, N). */
fn loadB(base: u32, k: u32, n: u32) -> f32 {
  if (n >= p.N || k >= p.K) { return 0.0; }
  if (B_KN) { return B[base + k * p.N + n]; }
  return B[base + n * p.K + k];
}

@compute @workgroup_size(16, 16)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let m0 = wid.y * TILE;
  let n0 = wid.x * TILE;
  let baseA = wid.z * p.strideA;
  let baseB = wid.z * p.strideB;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    // Stage 64×16 of A and 16×64 of B: element e = li + 256 j, walking the contiguous dimension first.
    for (var j = 0u; j < 4u; j++) {
      let e = li + 256u * j;
      var r: u32; var kk: u32;
      if (A_KM) { r = e % TILE; kk = e / TILE; } else { kk = e % TK; r = e / TK; }
      As[kk * 16u + r / 4u][r % 4u] = loadA(baseA, m0 + r, k0 + kk);
      var c: u32; var kb: u32;
      if (B_KN) { c = e % TILE; kb = e / TILE; } else { kb = e % TK; c = e / TK; }
      Bs[kb * 16u + c / 4u][c % 4u] = loadB(baseB, k0 + kb, n0 + c);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let a = As[kk * 16u + lid.y];
      let b = Bs[kk * 16u + lid.x];
      acc0 += a.x * b;
      acc1 += a.y * b;
      acc2 += a.z * b;
      acc3 += a.w * b;
    }
    workgroupBarrier();
  }
  let baseC = wid.z * p.strideC;
  let r0 = m0 + lid.y * 4u;
  let c0 = n0 + lid.x * 4u;
  store(baseC, r0, c0, acc0);
  store(baseC, r0 + 1u, c0, acc1);
  store(baseC, r0 + 2u, c0, acc2);
  store(baseC, r0 + 3u, c0, acc3);
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
