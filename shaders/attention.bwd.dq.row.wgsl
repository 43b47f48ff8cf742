// Causal GQA attention backward, query side (dq and D), barrier-free and register-blocked
// (hd ≤ 64, hd % 4 = 0): one invocation per query row.
//   Training case of shaders/attention.fwd*.wgsl: pos0 = 0, S = T. For batch b, query i, head h with
//   kv head g = h / group, keys j = 0 .. i of batch b, scale = 1/sqrt(hd):
//     P_ij = exp(q_i·k_j·scale − lse_i)            (P recomputed from the forward's logsumexp)
//     D_i  = Σ_d dout_i·out_i                       (= Σ_j P_ij dP_ij, the softmax-Jacobian term)
//     dP_ij = dout_i·v_j,  dS_ij = P_ij (dP_ij − D_i)
//     dq_i = scale · Σ_j dS_ij k_j                  (S_ij = scale·q_i·k_j)
//   q, out, dout, dq: (B·T, nHeads·hd); k, v: (B·T, nKvHeads·hd); lse, delta: (B·T·nHeads), index
//   w = (b·T + i)·nHeads + h. dq is overwritten; delta[w] = D_i is written for the key-side kernel
//   (shaders/attention.bwd.dkv.row*.wgsl), which must run after this one.
// Dispatch: groups1d(B·T·nHeads, WG), invocation w walks keys 0..i. q_i, dout_i and the dq accumulator
//   live in registers as a Row (below), with override NB = ceil(hd / 8) blocks. For adapters where
//   workgroup barriers are expensive (SwiftShader); other head dims there use
//   shaders/attention.bwd.dq.row.wide.wgsl, GPUs use the workgroup form shaders/attention.bwd.dq.wgsl.
// Reference: src/reference/llama-grads.ts attentionBackwardRef (dq).

// One pipeline per NB: creating it costs SwiftShader ~0.05 s (NB = 1) to ~0.5 s (NB = 8), once.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
override NB: u32 = 8u; // 8-column blocks in use, ceil(hd / 8), 1..8

struct Params { B: u32, T: u32, nHeads: u32, nKvHeads: u32, hd: u32, group: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dq: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> delta: array<f32>;

// One head row (hd ≤ 64 values) held in registers: 8 blocks of 8 columns; blocks ≥ NB are unused and
// columns ≥ hd are zero. Only constant indices touch it: SwiftShader keeps those in registers, but a loop
// over d indexes dynamically and becomes per-lane memory gathers (~3–4× slower; see *.row.wide.wgsl).
struct Row { b0: mat2x4<f32>, b1: mat2x4<f32>, b2: mat2x4<f32>, b3: mat2x4<f32>,
             b4: mat2x4<f32>, b5: mat2x4<f32>, b6: mat2x4<f32>, b7: mat2x4<f32> }

const Q = 0u;
const K = 1u;
const V = 2u;
const DOUT = 3u;
const OUT = 4u;

fn at(buf: u32, i: u32) -> vec4<f32> {
  switch (buf) {
    case Q: { return q[i]; }
    case K: { return k[i]; }
    case V: { return v[i]; }
    case DOUT: { return dout[i]; }
    default: { return out[i]; }
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

// dq at vec4 i + c (+ 1) = m, for the columns < hd.
fn storeBlock(i: u32, c: u32, m: mat2x4<f32>) {
  let n = p.hd / 4u;
  if (c < n) { dq[i + c] = m[0]; }
  if (c + 1u < n) { dq[i + c + 1u] = m[1]; }
}

// dq row at vec4 i = a·r.
fn store(i: u32, r: Row, a: f32) {
  storeBlock(i, 0u, a * r.b0);
  if (NB > 1u) { storeBlock(i, 2u, a * r.b1); }
  if (NB > 2u) { storeBlock(i, 4u, a * r.b2); }
  if (NB > 3u) { storeBlock(i, 6u, a * r.b3); }
  if (NB > 4u) { storeBlock(i, 8u, a * r.b4); }
  if (NB > 5u) { storeBlock(i, 10u, a * r.b5); }
  if (NB > 6u) { storeBlock(i, 12u, a * r.b6); }
  if (NB > 7u) { storeBlock(i, 14u, a * r.b7); }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * WG;
  if (w >= p.B * p.T * p.nHeads) { return; }
  let h = w % p.nHeads;
  let bt = w / p.nHeads;
  let b = bt / p.T;
  let i = bt - b * p.T;
  let hd4 = p.hd / 4u;                           // all offsets below in vec4s
  let qBase = w * hd4;
  let kvStride = p.nKvHeads * hd4;
  let kvBase = b * p.T * kvStride + (h / p.group) * hd4;

  let qi = load(Q, qBase);
  let gi = load(DOUT, qBase);
  let Di = dotRow(gi, load(OUT, qBase));
  let L = lse[w];
  var acc: Row; // zero-initialised
  for (var j = 0u; j <= i; j++) {
    let row = kvBase + j * kvStride;
    let kj = load(K, row);
    let ds = exp(dotRow(qi, kj) * p.scale - L) * (dotRow(gi, load(V, row)) - Di);
    axpy(&acc, ds, kj);
  }
  store(qBase, acc, p.scale);
  delta[w] = Di;
}
