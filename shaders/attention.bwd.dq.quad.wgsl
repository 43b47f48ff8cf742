// Causal GQA attention backward, query side (dq and D), "quad" variant for small head dims: one
// invocation per 4 consecutive queries of one (b, h), their rows and dq accumulators in registers.
//   Training case (pos0 = 0, S = T). For batch b, query i, head h with kv head g = h / group, keys
//   j = 0 .. i of batch b, scale = 1/sqrt(hd):
//     P_ij = exp(q_i·k_j·scale − lse_i),  D_i = dout_i·out_i,  dS_ij = P_ij (dout_i·v_j − D_i)
//     dq_i = scale · Σ_j dS_ij k_j
//   q, out, dout, dq: (B·T, nHeads·hd); k, v: (B·T, nKvHeads·hd), all read as vec4; lse, delta:
//   (B·T·nHeads), index w = (b·T + i)·nHeads + h. dq is overwritten; delta[w] = D_i is written for
//   shaders/attention.bwd.dkv.quad.wgsl, which must run after this one.
// Dispatch: groups1d(B·nHeads·ceil(T/4), WG); invocation (b·nHeads + h)·ceil(T/4) + it owns queries
//   4it .. 4it+3 and walks keys 0 .. 4it+3 (masking each query's keys past its diagonal): each k and v
//   row loaded feeds 4 queries. Rows are structs of vec4s touched only at constant indices.
// Override HD4 = hd / 4 (hd % 4 == 0, hd ≤ 32). For SwiftShader; GPUs use shaders/attention.bwd.dq.wgsl.
// Reference: src/reference/llama-grads.ts attentionBackwardRef (dq).
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
override HD4: u32 = 2u; // 1..8

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

// One head row (hd ≤ 32) in registers; vec4s ≥ HD4 are unused.
struct Row { c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32>, c4: vec4<f32>, c5: vec4<f32>, c6: vec4<f32>, c7: vec4<f32> }

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

fn load(buf: u32, i: u32) -> Row {
  var r: Row;
  r.c0 = at(buf, i);
  if (HD4 > 1u) { r.c1 = at(buf, i + 1u); }
  if (HD4 > 2u) { r.c2 = at(buf, i + 2u); }
  if (HD4 > 3u) { r.c3 = at(buf, i + 3u); }
  if (HD4 > 4u) { r.c4 = at(buf, i + 4u); }
  if (HD4 > 5u) { r.c5 = at(buf, i + 5u); }
  if (HD4 > 6u) { r.c6 = at(buf, i + 6u); }
  if (HD4 > 7u) { r.c7 = at(buf, i + 7u); }
  return r;
}

fn dotRow(a: Row, b: Row) -> f32 {
  var s = a.c0 * b.c0;
  if (HD4 > 1u) { s += a.c1 * b.c1; }
  if (HD4 > 2u) { s += a.c2 * b.c2; }
  if (HD4 > 3u) { s += a.c3 * b.c3; }
  if (HD4 > 4u) { s += a.c4 * b.c4; }
  if (HD4 > 5u) { s += a.c5 * b.c5; }
  if (HD4 > 6u) { s += a.c6 * b.c6; }
  if (HD4 > 7u) { s += a.c7 * b.c7; }
  return (s.x + s.y) + (s.z + s.w);
}

// c·y + a·x
fn scaleAdd(y: Row, c: f32, a: f32, x: Row) -> Row {
  var r: Row;
  r.c0 = c * y.c0 + a * x.c0;
  if (HD4 > 1u) { r.c1 = c * y.c1 + a * x.c1; }
  if (HD4 > 2u) { r.c2 = c * y.c2 + a * x.c2; }
  if (HD4 > 3u) { r.c3 = c * y.c3 + a * x.c3; }
  if (HD4 > 4u) { r.c4 = c * y.c4 + a * x.c4; }
  if (HD4 > 5u) { r.c5 = c * y.c5 + a * x.c5; }
  if (HD4 > 6u) { r.c6 = c * y.c6 + a * x.c6; }
  if (HD4 > 7u) { r.c7 = c * y.c7 + a * x.c7; }
  return r;
}

// y + a·x
fn axpy(y: Row, a: f32, x: Row) -> Row {
  var r: Row;
  r.c0 = y.c0 + a * x.c0;
  if (HD4 > 1u) { r.c1 = y.c1 + a * x.c1; }
  if (HD4 > 2u) { r.c2 = y.c2 + a * x.c2; }
  if (HD4 > 3u) { r.c3 = y.c3 + a * x.c3; }
  if (HD4 > 4u) { r.c4 = y.c4 + a * x.c4; }
  if (HD4 > 5u) { r.c5 = y.c5 + a * x.c5; }
  if (HD4 > 6u) { r.c6 = y.c6 + a * x.c6; }
  if (HD4 > 7u) { r.c7 = y.c7 + a * x.c7; }
  return r;
}

// dq at vec4 i = a·r.
fn store(i: u32, r: Row, a: f32) {
  dq[i] = a * r.c0;
  if (HD4 > 1u) { dq[i + 1u] = a * r.c1; }
  if (HD4 > 2u) { dq[i + 2u] = a * r.c2; }
  if (HD4 > 3u) { dq[i + 3u] = a * r.c3; }
  if (HD4 > 4u) { dq[i + 4u] = a * r.c4; }
  if (HD4 > 5u) { dq[i + 5u] = a * r.c5; }
  if (HD4 > 6u) { dq[i + 6u] = a * r.c6; }
  if (HD4 > 7u) { dq[i + 7u] = a * r.c7; }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let nIt = (p.T + 3u) / 4u;
  if (idx >= p.B * p.nHeads * nIt) { return; }
  let z = idx / nIt;
  let h = z % p.nHeads;
  let b = z / p.nHeads;
  let i0 = (idx % nIt) * 4u;
  let iLast = min(i0 + 3u, p.T - 1u);
  let qStride = p.nHeads * HD4;
  let r0 = (b * p.T + i0) * qStride + h * HD4;  // row i0 + a at r0 + a·qStride (a ≤ iLast − i0)
  let r1 = r0 + min(1u, iLast - i0) * qStride;
  let r2 = r0 + min(2u, iLast - i0) * qStride;
  let r3 = r0 + (iLast - i0) * qStride;
  let q0 = load(Q, r0);
  let q1 = load(Q, r1);
  let q2 = load(Q, r2);
  let q3 = load(Q, r3);
  let g0 = load(DOUT, r0);
  let g1 = load(DOUT, r1);
  let g2 = load(DOUT, r2);
  let g3 = load(DOUT, r3);
  let D = vec4<f32>(dotRow(g0, load(OUT, r0)), dotRow(g1, load(OUT, r1)), dotRow(g2, load(OUT, r2)), dotRow(g3, load(OUT, r3)));
  let w0 = (b * p.T + i0) * p.nHeads + h;
  let wl = (b * p.T + iLast) * p.nHeads + h;
  let L = vec4<f32>(lse[w0], lse[min(w0 + p.nHeads, wl)], lse[min(w0 + 2u * p.nHeads, wl)], lse[wl]);
  let lastKey = vec4<u32>(i0) + vec4<u32>(0u, 1u, 2u, 3u);
  let kvStride = p.nKvHeads * HD4;
  let kvBase = b * p.T * kvStride + (h / p.group) * HD4;

  var a0: Row;
  var a1: Row;
  var a2: Row;
  var a3: Row;
  for (var j = 0u; j <= iLast; j++) {
    let row = kvBase + j * kvStride;
    let kj = load(K, row);
    let vj = load(V, row);
    let s = vec4<f32>(dotRow(q0, kj), dotRow(q1, kj), dotRow(q2, kj), dotRow(q3, kj));
    let dp = vec4<f32>(dotRow(g0, vj), dotRow(g1, vj), dotRow(g2, vj), dotRow(g3, vj));
    let P = select(vec4<f32>(0.0), exp(s * p.scale - L), vec4<u32>(j) <= lastKey);
    let ds = P * (dp - D);
    a0 = axpy(a0, ds.x, kj);
    a1 = axpy(a1, ds.y, kj);
    a2 = axpy(a2, ds.z, kj);
    a3 = axpy(a3, ds.w, kj);
  }
  store(r0, a0, p.scale);
  delta[w0] = D.x;
  if (i0 + 1u < p.T) { store(r1, a1, p.scale); delta[w0 + p.nHeads] = D.y; }
  if (i0 + 2u < p.T) { store(r2, a2, p.scale); delta[w0 + 2u * p.nHeads] = D.z; }
  if (i0 + 3u < p.T) { store(r3, a3, p.scale); delta[w0 + 3u * p.nHeads] = D.w; }
}
