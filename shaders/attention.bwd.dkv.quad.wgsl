// Causal GQA attention backward, key side (dk, dv), "quad" variant for small head dims: one invocation
// per 4 consecutive keys of one (b, kv head), their k, v rows and dk, dv accumulators in registers.
//   Training case (pos0 = 0, S = T). For batch b, key j, kv head g, the query heads h = g·group + hh
//   and queries i = j .. T−1 of batch b, with P_ij = exp(q_i·k_j·scale − lse_i),
//   dS_ij = P_ij (dout_i·v_j − D_i) (D_i from shaders/attention.bwd.dq.quad.wgsl):
//     dv_j = Σ_{h, i} P_ij dout_i,   dk_j = scale · Σ_{h, i} dS_ij q_i
//   summed in a fixed order (head outer, queries inner): deterministic, no atomics.
//   q, dout: (B·T, nHeads·hd); k, v, dk, dv: (B·T, nKvHeads·hd), all read as vec4; lse, delta:
//   (B·T·nHeads), index (b·T + i)·nHeads + h. dk and dv are overwritten.
// Dispatch: groups1d(B·nKvHeads·ceil(T/4), WG); invocation (b·nKvHeads + g)·ceil(T/4) + jt owns keys
//   4jt .. 4jt+3 and walks queries 4jt .. T−1 (masking queries before each key): each q and dout row
//   loaded feeds 4 keys. Rows are structs of vec4s touched only at constant indices.
// Override HD4 = hd / 4 (hd % 4 == 0, hd ≤ 32). For SwiftShader; GPUs use shaders/attention.bwd.dkv.wgsl.
// Reference: src/reference/llama-grads.ts attentionBackwardRef (dk, dv).
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
override HD4: u32 = 2u; // 1..8

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

// One head row (hd ≤ 32) in registers; vec4s ≥ HD4 are unused.
struct Row { c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32>, c4: vec4<f32>, c5: vec4<f32>, c6: vec4<f32>, c7: vec4<f32> }

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

// dk at vec4 i = a·r.
fn storeDk(i: u32, r: Row, a: f32) {
  dk[i] = a * r.c0;
  if (HD4 > 1u) { dk[i + 1u] = a * r.c1; }
  if (HD4 > 2u) { dk[i + 2u] = a * r.c2; }
  if (HD4 > 3u) { dk[i + 3u] = a * r.c3; }
  if (HD4 > 4u) { dk[i + 4u] = a * r.c4; }
  if (HD4 > 5u) { dk[i + 5u] = a * r.c5; }
  if (HD4 > 6u) { dk[i + 6u] = a * r.c6; }
  if (HD4 > 7u) { dk[i + 7u] = a * r.c7; }
}

// dv at vec4 i = a·r.
fn storeDv(i: u32, r: Row, a: f32) {
  dv[i] = a * r.c0;
  if (HD4 > 1u) { dv[i + 1u] = a * r.c1; }
  if (HD4 > 2u) { dv[i + 2u] = a * r.c2; }
  if (HD4 > 3u) { dv[i + 3u] = a * r.c3; }
  if (HD4 > 4u) { dv[i + 4u] = a * r.c4; }
  if (HD4 > 5u) { dv[i + 5u] = a * r.c5; }
  if (HD4 > 6u) { dv[i + 6u] = a * r.c6; }
  if (HD4 > 7u) { dv[i + 7u] = a * r.c7; }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let nJt = (p.T + 3u) / 4u;
  if (idx >= p.B * p.nKvHeads * nJt) { return; }
  let zk = idx / nJt;
  let g = zk % p.nKvHeads;
  let b = zk / p.nKvHeads;
  let j0 = (idx % nJt) * 4u;
  let jLast = min(j0 + 3u, p.T - 1u);
  let kvStride = p.nKvHeads * HD4;
  let r0 = (b * p.T + j0) * kvStride + g * HD4;  // key row j0 + c at r0 + c·kvStride (c ≤ jLast − j0)
  let r1 = r0 + min(1u, jLast - j0) * kvStride;
  let r2 = r0 + min(2u, jLast - j0) * kvStride;
  let r3 = r0 + (jLast - j0) * kvStride;
  let k0 = load(K, r0);
  let k1 = load(K, r1);
  let k2 = load(K, r2);
  let k3 = load(K, r3);
  let v0 = load(V, r0);
  let v1 = load(V, r1);
  let v2 = load(V, r2);
  let v3 = load(V, r3);
  let firstQuery = vec4<u32>(j0) + vec4<u32>(0u, 1u, 2u, 3u);  // key j0 + c sees queries ≥ j0 + c
  let qStride = p.nHeads * HD4;

  var dk0: Row;
  var dk1: Row;
  var dk2: Row;
  var dk3: Row;
  var dv0: Row;
  var dv1: Row;
  var dv2: Row;
  var dv3: Row;
  for (var hh = 0u; hh < p.group; hh++) {
    let h = g * p.group + hh;
    for (var i = j0; i < p.T; i++) {
      let w = (b * p.T + i) * p.nHeads + h;
      let qi = load(Q, w * HD4);
      let gi = load(DOUT, w * HD4);
      let s = vec4<f32>(dotRow(qi, k0), dotRow(qi, k1), dotRow(qi, k2), dotRow(qi, k3));
      let dp = vec4<f32>(dotRow(gi, v0), dotRow(gi, v1), dotRow(gi, v2), dotRow(gi, v3));
      let P = select(vec4<f32>(0.0), exp(s * p.scale - lse[w]), vec4<u32>(i) >= firstQuery);
      let ds = P * (dp - delta[w]);
      dv0 = axpy(dv0, P.x, gi);
      dv1 = axpy(dv1, P.y, gi);
      dv2 = axpy(dv2, P.z, gi);
      dv3 = axpy(dv3, P.w, gi);
      dk0 = axpy(dk0, ds.x, qi);
      dk1 = axpy(dk1, ds.y, qi);
      dk2 = axpy(dk2, ds.z, qi);
      dk3 = axpy(dk3, ds.w, qi);
    }
  }
  storeDk(r0, dk0, p.scale);
  storeDv(r0, dv0, 1.0);
  if (j0 + 1u < p.T) { storeDk(r1, dk1, p.scale); storeDv(r1, dv1, 1.0); }
  if (j0 + 2u < p.T) { storeDk(r2, dk2, p.scale); storeDv(r2, dv2, 1.0); }
  if (j0 + 3u < p.T) { storeDk(r3, dk3, p.scale); storeDv(r3, dv3, 1.0); }
}
