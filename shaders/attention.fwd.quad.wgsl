// Causal grouped-query attention over a KV cache, "quad" variant for small head dims: one invocation
// per 4 consecutive queries of one (b, h), their q rows and accumulators in registers, walking the keys
// once with an online softmax. No workgroup memory, no scratch.
//   For batch b, query t (position pos0 + t), head h with kv head g = h / (nHeads / nKvHeads):
//     z_s = (q[b·T + t, h] · k[b·S + s, g]) · scale,  s = 0 .. pos0 + t,  scale = 1/sqrt(hd)
//     out[b·T + t, h] = Σ_s softmax(z)_s · v[b·S + s, g],   lse[(b·T + t)·nHeads + h] = log Σ_s exp(z_s)
//   q, out: (B·T, nHeads·hd); k, v: (B·S, nKvHeads·hd) with S ≥ pos0 + T, all read as vec4;
//   lse: (B·T·nHeads), entry main_lse only.
//   Per query: running max m, sum l, accumulator a; for each key z > m rescales l and a by exp(m − z).
//   Keys past a query's diagonal (the last ≤ 3 of the walk) are masked to weight 0.
// Dispatch: groups1d(B·nHeads·ceil(T/4), WG); invocation (b·nHeads + h)·ceil(T/4) + it owns queries
//   4it .. 4it+3. Each k and v row loaded (HD4 vec4s each) feeds 4 queries: 4× the reuse of one query
//   per invocation. Rows are structs of vec4s touched only at constant indices (a loop over d would
//   index dynamically, which SwiftShader turns into per-lane gathers).
// Override HD4 = hd / 4 (hd % 4 == 0, hd ≤ 32). For SwiftShader; GPUs use shaders/attention.fwd.wgsl.
// Reference: src/reference/llama-ops.ts attentionRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
override HD4: u32 = 2u; // 1..8
const NEG_MAX = -3.4028234e38;

struct Params {
  B: u32, T: u32, S: u32, nHeads: u32, nKvHeads: u32, hd: u32, pos0: u32, group: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

// One head row (hd ≤ 32) in registers; vec4s ≥ HD4 are unused.
struct Row { c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32>, c4: vec4<f32>, c5: vec4<f32>, c6: vec4<f32>, c7: vec4<f32> }

const Q = 0u;
const K = 1u;
const V = 2u;

fn at(buf: u32, i: u32) -> vec4<f32> {
  switch (buf) {
    case Q: { return q[i]; }
    case K: { return k[i]; }
    default: { return v[i]; }
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

// out at vec4 i = a·r.
fn store(i: u32, r: Row, a: f32) {
  out[i] = a * r.c0;
  if (HD4 > 1u) { out[i + 1u] = a * r.c1; }
  if (HD4 > 2u) { out[i + 2u] = a * r.c2; }
  if (HD4 > 3u) { out[i + 3u] = a * r.c3; }
  if (HD4 > 4u) { out[i + 4u] = a * r.c4; }
  if (HD4 > 5u) { out[i + 5u] = a * r.c5; }
  if (HD4 > 6u) { out[i + 6u] = a * r.c6; }
  if (HD4 > 7u) { out[i + 7u] = a * r.c7; }
}

// Attend for queries 4it .. 4it+3 of z = b·nHeads + h; writes out, returns (m, l) per query.
fn attend(z: u32, it: u32) -> mat2x4<f32> {
  let h = z % p.nHeads;
  let b = z / p.nHeads;
  let i0 = it * 4u;
  let iLast = min(i0 + 3u, p.T - 1u);
  let qStride = p.nHeads * HD4;
  let qBase = b * p.T * qStride + h * HD4;
  let q0 = load(Q, qBase + i0 * qStride);
  let q1 = load(Q, qBase + min(i0 + 1u, iLast) * qStride);
  let q2 = load(Q, qBase + min(i0 + 2u, iLast) * qStride);
  let q3 = load(Q, qBase + iLast * qStride);
  let kvStride = p.nKvHeads * HD4;
  let kvBase = b * p.S * kvStride + (h / p.group) * HD4;
  let lastKey = vec4<u32>(p.pos0 + i0) + vec4<u32>(0u, 1u, 2u, 3u); // per query

  var a0: Row;
  var a1: Row;
  var a2: Row;
  var a3: Row;
  var m = vec4<f32>(NEG_MAX);
  var l = vec4<f32>(0.0);
  for (var s = 0u; s <= p.pos0 + iLast; s++) {
    let row = kvBase + s * kvStride;
    let ks = load(K, row);
    let valid = vec4<u32>(s) <= lastKey;
    let zs = select(vec4<f32>(NEG_MAX), vec4<f32>(dotRow(q0, ks), dotRow(q1, ks), dotRow(q2, ks), dotRow(q3, ks)) * p.scale, valid);
    let mNew = max(m, zs);
    let corr = exp(m - mNew);
    let e = select(vec4<f32>(0.0), exp(zs - mNew), valid);
    l = l * corr + e;
    m = mNew;
    let vs = load(V, row);
    a0 = scaleAdd(a0, corr.x, e.x, vs);
    a1 = scaleAdd(a1, corr.y, e.y, vs);
    a2 = scaleAdd(a2, corr.z, e.z, vs);
    a3 = scaleAdd(a3, corr.w, e.w, vs);
  }
  let o = qBase + i0 * qStride;
  store(o, a0, 1.0 / l.x);
  if (i0 + 1u < p.T) { store(o + qStride, a1, 1.0 / l.y); }
  if (i0 + 2u < p.T) { store(o + 2u * qStride, a2, 1.0 / l.z); }
  if (i0 + 3u < p.T) { store(o + 3u * qStride, a3, 1.0 / l.w); }
  return mat2x4<f32>(m, l);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let nIt = (p.T + 3u) / 4u;
  if (idx >= p.B * p.nHeads * nIt) { return; }
  _ = attend(idx / nIt, idx % nIt);
}

// Same, also writing the per-row logsumexp for backward.
@compute @workgroup_size(WG)
fn main_lse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let nIt = (p.T + 3u) / 4u;
  if (idx >= p.B * p.nHeads * nIt) { return; }
  let z = idx / nIt;
  let i0 = (idx % nIt) * 4u;
  let ml = attend(z, idx % nIt);
  let r = log(ml[1]) + ml[0];
  let w = ((z / p.nHeads) * p.T + i0) * p.nHeads + z % p.nHeads;
  lse[w] = r.x;
  if (i0 + 1u < p.T) { lse[w + p.nHeads] = r.y; }
  if (i0 + 2u < p.T) { lse[w + 2u * p.nHeads] = r.z; }
  if (i0 + 3u < p.T) { lse[w + 3u * p.nHeads] = r.w; }
}
