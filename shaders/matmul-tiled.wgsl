// Batched matrix product through workgroup memory  C = alpha · op(A) · op(B) (+ C when ACCUMULATE).
//   Same contract as matmul.wgsl: op(A) is (M, K), stored (M, K) or (K, M) when A_KM;
//   op(B) is (K, N), stored (N, K) (y = x·Wᵀ) or (K, N) when B_KN. Any M, N, K, any strides.
// A 16×16 workgroup computes a 64×64 block of C; each invocation a 4×4 sub-block.
// K advances in steps of 16: the workgroup stages op(A)[64 rows, 16 k] and op(B)[16 k, 64 cols]
// in workgroup memory (each invocation loads 4 + 4 elements, consecutive invocations reading
// consecutive addresses in either layout; out-of-range elements are staged as 0), then every
// invocation runs 16 rank-1 updates of its 4×4 block from vec4 reads of the staged tiles.
// This is the form real GPUs reward; SwiftShader pays dearly for the barriers (see autotune.ts).
// Entry points (both run the same K loop, `block`, so their base sums are bit-identical):
//   main          C = alpha · op(A)·op(B)                 bindings: p(0) A(1) B(2) C(3)
//   main_lowrank  C = alpha · op(A)·op(B) + s · X2·op(L)   bindings: p(0) A(1) B(2) X2(3) L(4) CL(5)
//     the fused LoRA matmul: X2 is (M, R) row-major; op(L) is (R, N), stored (N, R) or (R, N) when L_RN.
//     The rank-R epilogue reads X2 and L from global memory (no staging). Each element is stored as
//     alpha·acc + s·low, so low = 0 (a fresh LoRA, B = 0) adds exactly +0. Not batched: one matrix (z = 0).
// Dispatch: (ceil(N / (4·WGX)), ceil(M / (4·WGY)), batches) from the uniforms (src/kernels/matmul.ts), i.e. one
//   workgroup per TILE × TILE block: the staging below is written for WGX = WGY = TILE / 4 = 16.
// Reference: src/reference/ops.ts matmulRef, loraMatmulRef.
override A_KM: bool = false;
override B_KN: bool = false;
override L_RN: bool = false;
override ACCUMULATE: bool = false;
override WGX: u32 = 16u;
override WGY: u32 = 16u;

const TILE = 64u; // rows and columns of C per workgroup
const TK = 16u; // k per stage

struct Params {
  M: u32, N: u32, K: u32,
  strideA: u32, strideB: u32, strideC: u32,
  alpha: f32,
  R: u32, s: f32, // main_lowrank only (0, 0 otherwise)
  batches: u32, // the grid's z: read by the dispatch, not the shader
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>; // main
@group(0) @binding(3) var<storage, read> X2: array<f32>; // main_lowrank
@group(0) @binding(4) var<storage, read> L: array<f32>; // main_lowrank
@group(0) @binding(5) var<storage, read_write> CL: array<f32>; // main_lowrank

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

/**
 * The K loop of the workgroup's 64×64 block at (m0, n0): acc[i] = this invocation's row
 * m0 + 4 lid.y + i, columns n0 + 4 lid.x .. +3. Every invocation of the workgroup must call it (barriers).
 */
fn block(baseA: u32, baseB: u32, m0: u32, n0: u32, lid: vec3<u32>, li: u32) -> array<vec4<f32>, 4> {
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
  return array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
}

@compute @workgroup_size(WGX, WGY)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let m0 = wid.y * TILE;
  let n0 = wid.x * TILE;
  let acc = block(wid.z * p.strideA, wid.z * p.strideB, m0, n0, lid, li);
  let baseC = wid.z * p.strideC;
  let r0 = m0 + lid.y * 4u;
  let c0 = n0 + lid.x * 4u;
  store(baseC, r0, c0, acc[0]);
  store(baseC, r0 + 1u, c0, acc[1]);
  store(baseC, r0 + 2u, c0, acc[2]);
  store(baseC, r0 + 3u, c0, acc[3]);
}

/** C[m, n0 .. n0+3] = alpha · v (+ C), inside (M, N) only. */
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

fn lAt(n: u32, r: u32) -> f32 {
  if (L_RN) { return L[r * p.N + n]; }
  return L[n * p.R + r];
}

@compute @workgroup_size(WGX, WGY)
fn main_lowrank(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let m0 = wid.y * TILE;
  let n0 = wid.x * TILE;
  let acc = block(0u, 0u, m0, n0, lid, li);
  let r0 = m0 + lid.y * 4u;
  let c0 = n0 + lid.x * 4u;
  if (r0 >= p.M || c0 >= p.N) { return; } // after the barriers in `block`
  // low<i>[j] = Σ_r X2[r0 + i, r] · op(L)[r, c0 + j], rows and columns clamped into (M, N).
  let mi = vec4<u32>(r0, min(r0 + 1u, p.M - 1u), min(r0 + 2u, p.M - 1u), min(r0 + 3u, p.M - 1u));
  let ni = vec4<u32>(c0, min(c0 + 1u, p.N - 1u), min(c0 + 2u, p.N - 1u), min(c0 + 3u, p.N - 1u));
  var low0 = vec4<f32>(0.0);
  var low1 = vec4<f32>(0.0);
  var low2 = vec4<f32>(0.0);
  var low3 = vec4<f32>(0.0);
  for (var r = 0u; r < p.R; r++) {
    let l = vec4<f32>(lAt(ni.x, r), lAt(ni.y, r), lAt(ni.z, r), lAt(ni.w, r));
    low0 += X2[mi.x * p.R + r] * l;
    low1 += X2[mi.y * p.R + r] * l;
    low2 += X2[mi.z * p.R + r] * l;
    low3 += X2[mi.w * p.R + r] * l;
  }
  storeLowRank(r0, c0, acc[0], low0);
  storeLowRank(r0 + 1u, c0, acc[1], low1);
  storeLowRank(r0 + 2u, c0, acc[2], low2);
  storeLowRank(r0 + 3u, c0, acc[3], low3);
}

/** CL[m, n0 .. n0+3] = alpha · v + s · low (+ CL), inside (M, N) only; low = 0 stores exactly what `store` would. */
fn storeLowRank(m: u32, n0: u32, v: vec4<f32>, low: vec4<f32>) {
  if (m >= p.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + j;
    if (n < p.N) {
      let idx = m * p.N + n;
      var out = p.alpha * v[j] + p.s * low[j];
      if (ACCUMULATE) { out += CL[idx]; }
      CL[idx] = out;
    }
  }
}
