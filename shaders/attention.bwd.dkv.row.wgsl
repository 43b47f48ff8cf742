// Causal GQA attention backward, key side (dk, dv), barrier-free and register-blocked
// (hd ≤ 64, hd % 4 = 0): one invocation per (key row, kv head).
//   Training case (pos0 = 0, S = T). For batch b, key j, kv head g, the query heads h = g·group + hh
//   (hh < group) and queries i = j .. T−1 of batch b, with P_ij = exp(q_i·k_j·scale − lse_i),
//   dP_ij = dout_i·v_j, dS_ij = P_ij (dP_ij − D_i) (D_i from shaders/attention.bwd.dq.row*.wgsl):
//     dv_j = Σ_{h, i} P_ij dout_i                 (out_i = Σ_j P_ij v_j)
//     dk_j = scale · Σ_{h, i} dS_ij q_i            (S_ij = scale·q_i·k_j)
//   The sum over the group's query heads is done here in a fixed order (i outer, h inner): no atomics.
//   q, dout: (B·T, nHeads·hd); k, v, dk, dv: (B·T, nKvHeads·hd); lse, delta: (B·T·nHeads), index
//   (b·T + i)·nHeads + h. dk and dv are overwritten.
// Dispatch: groups1d(B·T·nKvHeads, WG), invocation (b·T + j)·nKvHeads + g. k_j, v_j and the two
//   accumulators live in registers as Rows (below), with override NB = ceil(hd / 8) blocks. For adapters
//   where workgroup barriers are expensive (SwiftShader); other head dims there use
//   shaders/attention.bwd.dkv.row.wide.wgsl, GPUs use the workgroup form shaders/attention.bwd.dkv.wgsl.
// Reference: src/reference/llama-grads.ts attentionBackwardRef (dk, dv).

// One pipeline per NB: creating it costs SwiftShader ~0.05 s (NB = 1) to ~0.5 s (NB = 8), once.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
override NB: u32 = 8u; // 8-column blocks in use, ceil(hd / 8), 1..8

struct Params { B: u32, T: u32, nHeads: u32, nKvHeads: u32, hd: u32, group: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> delta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dv: array<vec4<f32>>;

// One head row (hd ≤ 64 values) held in registers: 8 blocks of 8 columns; blocks ≥ NB are unused and
// columns ≥ hd are zero. Only constant indices touch it: SwiftShader keeps those in registers, but a loop
// over d indexes dynamically and becomes per-lane memory gathers (~3–4× slower; see *.row.wide.wgsl).
struct Row { b0: mat2x4<f32>, b1: mat2x4<f32>, b2: mat2x4<f32>, b3: mat2x4<f32>,
             b4: mat2x4<f32>, b5: mat2x4<f32>, b6: mat2x4<f32>, b7: mat2x4<f32> }

const Q = 0u;
const K = 1u;
const V = 2u;
const DOUT = 3u;

fn at(buf: u32, i: u32) -> vec4<f32> {
  switch (buf) {
    case Q: { return q[i]; }
    case K: { return k[i]; }
    case V: { return v[i]; }
    default: { return dout[i]; }
  }
}

// Columns 4c .. 4c + 7 of the row at vec4 i of `buf`, zero from column hd on.
fn block(buf: u32, i: u32, c: u32) -> mat2x4<f32> {
  let n = p.hd / 4u;
  return mat2x4<f32>(select(vec4<f32>(0.0), at(buf, i + c), c < n), select(vec4<f32>(0.0), at(buf, i + c + 1u), c + 1u < n));
}

fn load(buf: u32, i: u32) -> Row {
  var r: Row;
  r.b0 = block(buf, i, 0u);
  if (NB > 1u) { r.b1 = block(buf, i, 2u); }
  if (NB > 2u) { r.b2 = block(buf, i, 4u); }
  if (NB > 3u) { r.b3 = block(buf, i, 6u); }
  if (NB > 4u) { r.b4 = block(buf, i, 8u); }
  if (NB > 5u) { r.b5 = block(buf, i, 10u); }
  if (NB > 6u) { r.b6 = block(buf, i, 12u); }
  if (NB > 7u) { r.b7 = block(buf, i, 14u); }
  return r;
}

fn dot8(a: mat2x4<f32>, b: mat2x4<f32>) -> f32 { return dot(a[0], b[0]) + dot(a[1], b[1]); }

fn dotRow(a: Row, b: Row) -> f32 {
  var s = dot8(a.b0, b.b0);
  if (NB > 1u) { s += dot8(a.b1, b.b1); }
  if (NB > 2u) { s += dot8(a.b2, b.b2); }
  if (NB > 3u) { s += dot8(a.b3, b.b3); }
  if (NB > 4u) { s += dot8(a.b4, b.b4); }
  if (NB > 5u) { s += dot8(a.b5, b.b5); }
  if (NB > 6u) { s += dot8(a.b6, b.b6); }
  if (NB > 7u) { s += dot8(a.b7, b.b7); }
  return s;
}

// y += a·x
fn axpy(y: ptr<function, Row>, a: f32, x: Row) {
  (*y).b0 += a * x.b0;
  if (NB > 1u) { (*y).b1 += a * x.b1; }
  if (NB > 2u) { (*y).b2 += a * x.b2; }
  if (NB > 3u) { (*y).b3 += a * x.b3; }
  if (NB > 4u) { (*y).b4 += a * x.b4; }
  if (NB > 5u) { (*y).b5 += a * x.b5; }
  if (NB > 6u) { (*y).b6 += a * x.b6; }
  if (NB > 7u) { (*y).b7 += a * x.b7; }
}

// dk (toDk) or dv at vec4 i + c (+ 1) = m, for the columns < hd.
fn storeBlock(toDk: bool, i: u32, c: u32, m: mat2x4<f32>) {
  let n = p.hd / 4u;
  if (toDk) {
    if (c < n) { dk[i + c] = m[0]; }
    if (c + 1u < n) { dk[i + c + 1u] = m[1]; }
  } else {
    if (c < n) { dv[i + c] = m[0]; }
    if (c + 1u < n) { dv[i + c + 1u] = m[1]; }
  }
}

// dk (toDk) or dv row at vec4 i = a·r.
fn store(toDk: bool, i: u32, r: Row, a: f32) {
  storeBlock(toDk, i, 0u, a * r.b0);
  if (NB > 1u) { storeBlock(toDk, i, 2u, a * r.b1); }
  if (NB > 2u) { storeBlock(toDk, i, 4u, a * r.b2); }
  if (NB > 3u) { storeBlock(toDk, i, 6u, a * r.b3); }
  if (NB > 4u) { storeBlock(toDk, i, 8u, a * r.b4); }
  if (NB > 5u) { storeBlock(toDk, i, 10u, a * r.b5); }
  if (NB > 6u) { storeBlock(toDk, i, 12u, a * r.b6); }
  if (NB > 7u) { storeBlock(toDk, i, 14u, a * r.b7); }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * WG;
  if (w >= p.B * p.T * p.nKvHeads) { return; }
  let g = w % p.nKvHeads;
  let bj = w / p.nKvHeads;
  let b = bj / p.T;
  let j = bj - b * p.T;
  let hd4 = p.hd / 4u;                           // all offsets below in vec4s
  let kvBase = w * hd4;

  let kj = load(K, kvBase);
  let vj = load(V, kvBase);
  var dkAcc: Row; // zero-initialised
  var dvAcc: Row;
  for (var i = j; i < p.T; i++) {
    for (var hh = 0u; hh < p.group; hh++) {
      let wi = (b * p.T + i) * p.nHeads + g * p.group + hh;
      let qi = load(Q, wi * hd4);
      let gi = load(DOUT, wi * hd4);
      let pij = exp(dotRow(qi, kj) * p.scale - lse[wi]);
      axpy(&dvAcc, pij, gi);
      axpy(&dkAcc, pij * (dotRow(gi, vj) - delta[wi]), qi);
    }
  }
  store(true, kvBase, dkAcc, p.scale);
  store(false, kvBase, dvAcc, 1.0);
}
