// One parallel step of a one-sided Jacobi (Hestenes) sweep, one 64-wide workgroup per column pair
// (GPU variant; SwiftShader uses svd-jacobi-step.row.wgsl, same math, same stats). Reference:
// src/linalg/reference-svd.ts svdRef / rotatePair.
//   Round-robin order over cEven = c rounded up to even: in step s pair k joins the columns at
//   positions k and cEven − 1 − k; position 0 holds column 0, position j > 0 holds column
//   (j − 1 + s) mod (cEven − 1) + 1; a column index ≥ c (odd c) rests.
//   Invocation lid accumulates α = a·a, β = b·b, γ = a·b over vec4 elements lid, lid + 64, …
//   (coalesced), then a tree reduction in workgroup memory; invocation 0 decides and computes the
//   rotation as the row variant does (s and τ = s/(1 + c)), and every invocation rotates its strided
//   part of G[p], G[q] and, when ACCUMULATE, Rt[p], Rt[q]: a ← a − s·(b + τ·a), b ← b + s·(a − τ·b).
//   stats[0] = max |γ|/(√α·√β) as f32 bits, stats[1] += 1 per rotation.
//   G: (c, Lp4) vec4, Rt: (c, cp4) vec4, stats: (2) u32.
// Dispatch: groups1d(cEven / 2, 1) workgroups (one per pair).
override ACCUMULATE: bool = true;
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms

struct Params { c: u32, cEven: u32, step: u32, Lp4: u32, cp4: u32, tol: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> G: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Rt: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> stats: array<atomic<u32>>;

var<workgroup> red: array<vec4<f32>, WG>;
/** (s, τ, rotate?) decided by invocation 0. */
var<workgroup> rot: vec4<f32>;

fn columnAt(pos: u32) -> u32 {
  if (pos == 0u) { return 0u; }
  return (pos - 1u + p.step) % (p.cEven - 1u) + 1u;
}

fn hsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = wid.y * nwg.x + wid.x;
  if (k >= p.cEven / 2u) { return; }
  let i = columnAt(k);
  let j = columnAt(p.cEven - 1u - k);
  if (max(i, j) >= p.c) { return; }
  let op = min(i, j) * p.Lp4;
  let oq = max(i, j) * p.Lp4;

  var sa = vec4<f32>(0.0);
  var sb = vec4<f32>(0.0);
  var sg = vec4<f32>(0.0);
  for (var e = lid; e < p.Lp4; e += WG) {
    let a = G[op + e];
    let b = G[oq + e];
    sa += a * a;
    sb += b * b;
    sg += a * b;
  }
  red[lid] = vec4<f32>(hsum(sa), hsum(sb), hsum(sg), 0.0);
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) { red[lid] += red[lid + stride]; }
  }
  workgroupBarrier();
  if (lid == 0u) {
    let alpha = red[0].x;
    let beta = red[0].y;
    let gamma = red[0].z;
    var rel = 0.0;
    if (alpha > 0.0 && beta > 0.0) { rel = abs(gamma) / (sqrt(alpha) * sqrt(beta)); }
    atomicMax(&stats[0], bitcast<u32>(rel));
    rot = vec4<f32>(1.0, 0.0, 0.0, 0.0);
    if (rel > p.tol) {
      atomicAdd(&stats[1], 1u);
      let zeta = (beta - alpha) / (2.0 * gamma);
      let az = abs(zeta);
      var t = 0.5 / az;
      if (az < 1e18) { t = 1.0 / (az + sqrt(1.0 + az * az)); }
      if (zeta < 0.0) { t = -t; }
      let cs = 1.0 / sqrt(1.0 + t * t);
      let sn = cs * t;
      rot = vec4<f32>(sn, sn / (1.0 + cs), 1.0, 0.0);
    }
  }
  let r = workgroupUniformLoad(&rot);
  if (r.z == 0.0) { return; }
  let sn = r.x;
  let tau = r.y;
  for (var e = lid; e < p.Lp4; e += WG) {
    let a = G[op + e];
    let b = G[oq + e];
    G[op + e] = a - sn * (b + tau * a);
    G[oq + e] = b + sn * (a - tau * b);
  }
  if (ACCUMULATE) {
    let rp = min(i, j) * p.cp4;
    let rq = max(i, j) * p.cp4;
    for (var e = lid; e < p.cp4; e += WG) {
      let a = Rt[rp + e];
      let b = Rt[rq + e];
      Rt[rp + e] = a - sn * (b + tau * a);
      Rt[rq + e] = b + sn * (a - tau * b);
    }
  }
}
