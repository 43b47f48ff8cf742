// matmul.wgsl with B in 16-bit storage: C = alpha · op(A) · op(B) (+ C when ACCUMULATE), B a frozen BF16
//   or F16 weight packed two elements per u32 (element 2i in the low half), A and C float32; products
//   and sums in f32. B_F16 picks the decoding: unpack2x16float (F16) or a 16-bit shift (BF16, whose bits
//   are the top half of a float32). No shader-f16 feature needed.
// Everything else is matmul.wgsl's: scalar loads, any shape and layout, entry points main and
//   main_lowrank, a 4×4 block of C per invocation, the same dispatch. strideB counts elements.
// Reference: src/reference/ops.ts matmulRef, loraMatmulRef, on B decoded to float32.
override A_KM: bool = false;
override B_KN: bool = false;
override L_RN: bool = false;
override ACCUMULATE: bool = false;
override B_F16: bool = false; // B holds F16 (true) or BF16 (false) elements
override WGX: u32 = 8u;
override WGY: u32 = 8u;

// R and s are used by main_lowrank only (main is dispatched with 0, 0).
struct Params {
  M: u32, N: u32, K: u32,
  strideA: u32, strideB: u32, strideC: u32,
  alpha: f32,
  R: u32, s: f32,
  batches: u32, // the grid's z: read by the dispatch, not the shader
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<u32>; // 2 packed 16-bit elements each
@group(0) @binding(3) var<storage, read_write> C: array<f32>; // main
@group(0) @binding(3) var<storage, read> X2: array<f32>; // main_lowrank
@group(0) @binding(4) var<storage, read> L: array<f32>; // main_lowrank
@group(0) @binding(5) var<storage, read_write> CL: array<f32>; // main_lowrank

fn aAt(base: u32, m: u32, k: u32) -> f32 {
  if (A_KM) { return A[base + k * p.M + m]; }
  return A[base + m * p.K + k];
}

/** Element e of B (two per u32, low half first) as float32. */
fn bElement(e: u32) -> f32 {
  let w = B[e >> 1u];
  if (B_F16) { return unpack2x16float(w)[e & 1u]; }
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (e & 1u) == 1u));
}

fn bAt(base: u32, n: u32, k: u32) -> f32 {
  if (B_KN) { return bElement(base + k * p.N + n); }
  return bElement(base + n * p.K + k);
}

fn lAt(n: u32, j: u32) -> f32 {
  if (L_RN) { return L[j * p.N + n]; }
  return L[n * p.R + j];
}

/** Rows m0 .. m0+3, clamped into M: rows past the edge are computed, never stored. */
fn rowsOf(m0: u32) -> vec4<u32> {
  return vec4<u32>(m0, min(m0 + 1u, p.M - 1u), min(m0 + 2u, p.M - 1u), min(m0 + 3u, p.M - 1u));
}

/** Columns n0 .. n0+3, clamped into N. */
fn colsOf(n0: u32) -> vec4<u32> {
  return vec4<u32>(n0, min(n0 + 1u, p.N - 1u), min(n0 + 2u, p.N - 1u), min(n0 + 3u, p.N - 1u));
}

/** The base K loop: acc[i][j] = Σ_k op(A)[mi[i], k] · op(B)[k, ni[j]]. */
fn block(baseA: u32, baseB: u32, mi: vec4<u32>, ni: vec4<u32>) -> array<vec4<f32>, 4> {
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < p.K; k++) {
    let b = vec4<f32>(bAt(baseB, ni.x, k), bAt(baseB, ni.y, k), bAt(baseB, ni.z, k), bAt(baseB, ni.w, k));
    acc[0] += aAt(baseA, mi.x, k) * b;
    acc[1] += aAt(baseA, mi.y, k) * b;
    acc[2] += aAt(baseA, mi.z, k) * b;
    acc[3] += aAt(baseA, mi.w, k) * b;
  }
  return acc;
}

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 4u;
  let n0 = gid.x * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let acc = block(gid.z * p.strideA, gid.z * p.strideB, rowsOf(m0), colsOf(n0));
  let baseC = gid.z * p.strideC;
  store(baseC, m0, n0, acc[0]);
  store(baseC, m0 + 1u, n0, acc[1]);
  store(baseC, m0 + 2u, n0, acc[2]);
  store(baseC, m0 + 3u, n0, acc[3]);
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

@compute @workgroup_size(WGX, WGY)
fn main_lowrank(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 4u;
  let n0 = gid.x * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let mi = rowsOf(m0);
  let ni = colsOf(n0);
  let acc = block(0u, 0u, mi, ni);
  // low[i][j] = Σ_r X2[mi[i], r] · op(L)[r, ni[j]].
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
  storeLowRank(m0, n0, acc[0], low0);
  storeLowRank(m0 + 1u, n0, acc[1], low1);
  storeLowRank(m0 + 2u, n0, acc[2], low2);
  storeLowRank(m0 + 3u, n0, acc[3], low3);
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
