// matmul-vec4.wgsl with B in 16-bit storage: C = alpha · op(A) · op(B) (+ C when ACCUMULATE), B a frozen
//   BF16 or F16 weight packed two elements per u32 (element 2i in the low half), A and C float32;
//   products and sums in f32. B_F16 picks the decoding: unpack2x16float (F16) or a 16-bit shift (BF16,
//   whose bits are the top half of a float32). No shader-f16 feature needed.
// Everything else is matmul-vec4.wgsl's: the same layouts, entry points (tile4x4, tile8x8 and their
//   *_lowrank, *_lowrank4 twins), alignment (K % 4 == 0; N % 4 == 0 when B_KN), tiles and dispatch.
//   Four consecutive 16-bit elements are one vec2<u32>, so B is read as array<vec2<u32>> where the f32
//   shader reads array<vec4<f32>>: bases and strides of B stay in vec4 (four-element) units.
// Reference: src/reference/ops.ts matmulRef, loraMatmulRef, on B decoded to float32.
override A_KM: bool = false;
override B_KN: bool = false;
override L_RN: bool = false;
override ACCUMULATE: bool = false;
override B_F16: bool = false; // B holds F16 (true) or BF16 (false) elements
override WGX: u32 = 8u;
override WGY: u32 = 8u;

struct Params {
  M: u32, N: u32, K: u32,
  strideA: u32, strideB: u32, strideC: u32,
  alpha: f32,
  R: u32, s: f32, // the *_lowrank entry points only (0, 0 otherwise)
  batches: u32, // the grid's z: read by the dispatch, not the shader
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec2<u32>>; // 4 packed 16-bit elements each
@group(0) @binding(3) var<storage, read_write> C: array<f32>; // tile4x4, tile8x8
@group(0) @binding(3) var<storage, read> X2: array<f32>; // *_lowrank
@group(0) @binding(4) var<storage, read> L: array<f32>; // *_lowrank
@group(0) @binding(5) var<storage, read_write> CL: array<f32>; // *_lowrank
@group(0) @binding(3) var<storage, read> X2v: array<vec4<f32>>; // *_lowrank4: X2 as vec4 along R
@group(0) @binding(4) var<storage, read> Lv: array<vec4<f32>>; // *_lowrank4: L stored (N, R), vec4 along R

/** Four 16-bit elements (two per u32, low half first) as float32. */
fn unpack4(v: vec2<u32>) -> vec4<f32> {
  if (B_F16) { return vec4<f32>(unpack2x16float(v.x), unpack2x16float(v.y)); }
  return bitcast<vec4<f32>>(vec4<u32>(v.x << 16u, v.x & 0xffff0000u, v.y << 16u, v.y & 0xffff0000u));
}

/** Am with Am[i] = op(A)[m0 + i, 4 k4 .. 4 k4 + 3]; rows past M repeat a valid row. `base` in vec4s. */
fn aTile(base: u32, m0: u32, k4: u32) -> mat4x4<f32> {
  let M = p.M;
  let K4 = p.K / 4u;
  if (A_KM) {
    let M4 = M / 4u;
    let a = base + 4u * k4 * M4 + min(m0, M - 4u) / 4u;
    return transpose(mat4x4<f32>(A[a], A[a + M4], A[a + 2u * M4], A[a + 3u * M4]));
  }
  let a = base + k4;
  return mat4x4<f32>(
    A[a + min(m0, M - 1u) * K4], A[a + min(m0 + 1u, M - 1u) * K4],
    A[a + min(m0 + 2u, M - 1u) * K4], A[a + min(m0 + 3u, M - 1u) * K4],
  );
}

/** Bk with Bk[kk] = op(B)[4 k4 + kk, n0 .. n0 + 3]; columns past N repeat a valid column. `base` in vec4s. */
fn bTile(base: u32, n0: u32, k4: u32) -> mat4x4<f32> {
  let N = p.N;
  let K4 = p.K / 4u;
  if (B_KN) {
    let N4 = N / 4u;
    let b = base + 4u * k4 * N4 + min(n0, N - 4u) / 4u;
    return mat4x4<f32>(unpack4(B[b]), unpack4(B[b + N4]), unpack4(B[b + 2u * N4]), unpack4(B[b + 3u * N4]));
  }
  let b = base + k4;
  return transpose(mat4x4<f32>(
    unpack4(B[b + min(n0, N - 1u) * K4]), unpack4(B[b + min(n0 + 1u, N - 1u) * K4]),
    unpack4(B[b + min(n0 + 2u, N - 1u) * K4]), unpack4(B[b + min(n0 + 3u, N - 1u) * K4]),
  ));
}

/** C[m0 + i, n0 + j] = alpha · acc[i][j] (+ C), inside (M, N) only. */
fn store(baseC: u32, m0: u32, n0: u32, acc: mat4x4<f32>) {
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= p.M) { return; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n < p.N) {
        let idx = baseC + m * p.N + n;
        var out = p.alpha * acc[i][j];
        if (ACCUMULATE) { out += C[idx]; }
        C[idx] = out;
      }
    }
  }
}

/** The low-rank block low[i][j] = Σ_r X2[m0 + i, r] · op(L)[r, n0 + j], rows and columns clamped into (M, N). */
fn lowRank(m0: u32, n0: u32) -> mat4x4<f32> {
  let R = p.R;
  let mi = vec4<u32>(min(m0, p.M - 1u), min(m0 + 1u, p.M - 1u), min(m0 + 2u, p.M - 1u), min(m0 + 3u, p.M - 1u));
  let ni = vec4<u32>(min(n0, p.N - 1u), min(n0 + 1u, p.N - 1u), min(n0 + 2u, p.N - 1u), min(n0 + 3u, p.N - 1u));
  var low = mat4x4<f32>();
  for (var r = 0u; r < R; r++) {
    var l: vec4<f32>;
    if (L_RN) {
      l = vec4<f32>(L[r * p.N + ni.x], L[r * p.N + ni.y], L[r * p.N + ni.z], L[r * p.N + ni.w]);
    } else {
      l = vec4<f32>(L[ni.x * R + r], L[ni.y * R + r], L[ni.z * R + r], L[ni.w * R + r]);
    }
    low[0] += X2[mi.x * R + r] * l;
    low[1] += X2[mi.y * R + r] * l;
    low[2] += X2[mi.z * R + r] * l;
    low[3] += X2[mi.w * R + r] * l;
  }
  return low;
}

/** CL[m0 + i, n0 + j] = alpha · acc[i][j] + s · lowRank(m0, n0)[i][j] (+ CL), inside (M, N) only. */
fn storeLowRank(m0: u32, n0: u32, acc: mat4x4<f32>) {
  storeWithLow(m0, n0, acc, lowRank(m0, n0));
}

/** X2 rows m0 .. m0+3 at r = 4 r4 .. +3 as a mat4x4 (column i = row m0 + i; rows past M repeat a valid row). */
fn x2Tile(m0: u32, r4: u32) -> mat4x4<f32> {
  let R4 = p.R / 4u;
  let M1 = p.M - 1u;
  return mat4x4<f32>(
    X2v[min(m0, M1) * R4 + r4], X2v[min(m0 + 1u, M1) * R4 + r4],
    X2v[min(m0 + 2u, M1) * R4 + r4], X2v[min(m0 + 3u, M1) * R4 + r4],
  );
}

/** op(L)[4 r4 + kk, n0 .. n0+3] for L stored (N, R) (columns past N repeat a valid column). */
fn lTile(n0: u32, r4: u32) -> mat4x4<f32> {
  let R4 = p.R / 4u;
  let N1 = p.N - 1u;
  return transpose(mat4x4<f32>(
    Lv[min(n0, N1) * R4 + r4], Lv[min(n0 + 1u, N1) * R4 + r4],
    Lv[min(n0 + 2u, N1) * R4 + r4], Lv[min(n0 + 3u, N1) * R4 + r4],
  ));
}

/** CL[m0 + i, n0 + j] = alpha · acc[i][j] + s · low[i][j] (+ CL), inside (M, N) only. */
fn storeWithLow(m0: u32, n0: u32, acc: mat4x4<f32>, low: mat4x4<f32>) {
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= p.M) { return; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n < p.N) {
        let idx = m * p.N + n;
        var out = p.alpha * acc[i][j] + p.s * low[i][j];
        if (ACCUMULATE) { out += CL[idx]; }
        CL[idx] = out;
      }
    }
  }
}

// ---- 4×4 per invocation ----

/** The K loop of a 4×4 block at (m0, n0); bases in vec4s. */
fn block4x4(baseA: u32, baseB: u32, m0: u32, n0: u32) -> mat4x4<f32> {
  var c = mat4x4<f32>();
  for (var k4 = 0u; k4 < p.K / 4u; k4++) {
    c += bTile(baseB, n0, k4) * aTile(baseA, m0, k4);
  }
  return c;
}

@compute @workgroup_size(WGX, WGY)
fn tile4x4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 4u;
  let n0 = gid.x * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  store(gid.z * p.strideC, m0, n0, block4x4(gid.z * (p.strideA / 4u), gid.z * (p.strideB / 4u), m0, n0));
}

@compute @workgroup_size(WGX, WGY)
fn tile4x4_lowrank(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 4u;
  let n0 = gid.x * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  storeLowRank(m0, n0, block4x4(0u, 0u, m0, n0));
}

// ---- 8×8 per invocation ----

/** The K loop of an 8×8 block at (m0, n0) as [c00, c01, c10, c11]: c<i><j> holds rows m0 + 4i .. +3, columns n0 + 4j .. +3. */
fn block8x8(baseA: u32, baseB: u32, m0: u32, n0: u32) -> array<mat4x4<f32>, 4> {
  var c00 = mat4x4<f32>();
  var c01 = mat4x4<f32>();
  var c10 = mat4x4<f32>();
  var c11 = mat4x4<f32>();
  for (var k4 = 0u; k4 < p.K / 4u; k4++) {
    let a0 = aTile(baseA, m0, k4);
    let a1 = aTile(baseA, m0 + 4u, k4);
    let b0 = bTile(baseB, n0, k4);
    let b1 = bTile(baseB, n0 + 4u, k4);
    c00 += b0 * a0;
    c01 += b1 * a0;
    c10 += b0 * a1;
    c11 += b1 * a1;
  }
  return array<mat4x4<f32>, 4>(c00, c01, c10, c11);
}

@compute @workgroup_size(WGX, WGY)
fn tile8x8(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 8u;
  let n0 = gid.x * 8u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let c = block8x8(gid.z * (p.strideA / 4u), gid.z * (p.strideB / 4u), m0, n0);
  let baseC = gid.z * p.strideC;
  store(baseC, m0, n0, c[0]);
  store(baseC, m0, n0 + 4u, c[1]);
  store(baseC, m0 + 4u, n0, c[2]);
  store(baseC, m0 + 4u, n0 + 4u, c[3]);
}

@compute @workgroup_size(WGX, WGY)
fn tile8x8_lowrank(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 8u;
  let n0 = gid.x * 8u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let c = block8x8(0u, 0u, m0, n0);
  storeLowRank(m0, n0, c[0]);
  storeLowRank(m0, n0 + 4u, c[1]);
  storeLowRank(m0 + 4u, n0, c[2]);
  storeLowRank(m0 + 4u, n0 + 4u, c[3]);
}

// ---- low-rank epilogue with vec4 loads (R % 4 == 0, L stored (N, R): the LoRA forward) ----

@compute @workgroup_size(WGX, WGY)
fn tile4x4_lowrank4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 4u;
  let n0 = gid.x * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let c = block4x4(0u, 0u, m0, n0);
  var low = mat4x4<f32>();
  for (var r4 = 0u; r4 < p.R / 4u; r4++) {
    low += lTile(n0, r4) * x2Tile(m0, r4);
  }
  storeWithLow(m0, n0, c, low);
}

@compute @workgroup_size(WGX, WGY)
fn tile8x8_lowrank4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 8u;
  let n0 = gid.x * 8u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let c = block8x8(0u, 0u, m0, n0);
  var l00 = mat4x4<f32>();
  var l01 = mat4x4<f32>();
  var l10 = mat4x4<f32>();
  var l11 = mat4x4<f32>();
  for (var r4 = 0u; r4 < p.R / 4u; r4++) {
    let a0 = x2Tile(m0, r4);
    let a1 = x2Tile(m0 + 4u, r4);
    let b0 = lTile(n0, r4);
    let b1 = lTile(n0 + 4u, r4);
    l00 += b0 * a0;
    l01 += b1 * a0;
    l10 += b0 * a1;
    l11 += b1 * a1;
  }
  storeWithLow(m0, n0, c[0], l00);
  storeWithLow(m0, n0 + 4u, c[1], l01);
  storeWithLow(m0 + 4u, n0, c[2], l10);
  storeWithLow(m0 + 4u, n0 + 4u, c[3], l11);
}
