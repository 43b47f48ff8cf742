// One step of a one-sided Jacobi (Hestenes) sweep over column BLOCKS, for CPU adapters where a
// dispatch costs far more than the work of one column pair (SwiftShader variant; same pairs and
// rotations as svd-jacobi-step.row.wgsl, in a different order). Reference: src/linalg/reference-svd.ts
// svdRef with opts.blocks (pair order blockSweepOrder) / rotatePair.
//   The c columns form nb (even) blocks of w consecutive columns (the last may be shorter).
//   Step 0: invocation k < nb rotates every pair inside block k (i < j, row by row).
//   Step s ≥ 1: a round-robin step over blocks: invocation k < nb/2 takes the blocks at positions k
//   and nb − 1 − k (position 0 holds block 0, position j > 0 holds block (j − 1 + s − 1) mod (nb − 1) + 1)
//   and rotates every pair (i in one, j in the other), i outer.
//   So a sweep is nb dispatches and meets every pair of columns once.
//   Each rotation is the row variant's: α = a·a, β = b·b, γ = a·b (vec4 lanes in blocks of 64
//   elements, compensated block sums); if |γ| > tol·√α·√β: ζ = (β − α)/(2γ),
//   t = sign(ζ)/(|ζ| + √(1 + ζ²)), c = 1/√(1 + t²), s = c·t, τ = s/(1 + c);
//   a ← a − s·(b + τ·a), b ← b + s·(a − τ·b), and the same on Rt's rows when ACCUMULATE.
//   stats[0] = max |γ|/(√α·√β) as f32 bits, stats[1] += rotations.
//   G: (c, Lp4) vec4, Rt: (c, cp4) vec4, stats: (2) u32.
// Dispatch: groups1d(step == 0 ? nb : nb / 2, WG).
override ACCUMULATE: bool = true;
override WG: u32 = 4u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms

struct Params { c: u32, nb: u32, w: u32, step: u32, Lp4: u32, cp4: u32, tol: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> G: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Rt: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> stats: array<atomic<u32>>;

fn blockAt(pos: u32) -> u32 {
  if (pos == 0u) { return 0u; }
  return (pos - 1u + p.step - 1u) % (p.nb - 1u) + 1u;
}

fn hsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }

/** Rotate columns ip < iq; returns 1 when it rotated. Updates this invocation's running max. */
fn rotatePair(ip: u32, iq: u32, maxRel: ptr<function, f32>) -> u32 {
  let op = ip * p.Lp4;
  let oq = iq * p.Lp4;
  var sum = vec3<f32>(0.0);
  var comp = vec3<f32>(0.0);
  for (var e0 = 0u; e0 < p.Lp4; e0 += 16u) {
    let e1 = min(e0 + 16u, p.Lp4);
    var ba = vec4<f32>(0.0);
    var bb = vec4<f32>(0.0);
    var bg = vec4<f32>(0.0);
    for (var e = e0; e < e1; e++) {
      let a = G[op + e];
      let b = G[oq + e];
      ba += a * a;
      bb += b * b;
      bg += a * b;
    }
    let y = vec3<f32>(hsum(ba), hsum(bb), hsum(bg)) - comp;
    let t = sum + y;
    comp = (t - sum) - y;
    sum = t;
  }
  let alpha = sum.x;
  let beta = sum.y;
  let gamma = sum.z;
  var rel = 0.0;
  if (alpha > 0.0 && beta > 0.0) { rel = abs(gamma) / (sqrt(alpha) * sqrt(beta)); }
  *maxRel = max(*maxRel, rel);
  if (!(rel > p.tol)) { return 0u; }

  let zeta = (beta - alpha) / (2.0 * gamma);
  let az = abs(zeta);
  var t = 0.5 / az;
  if (az < 1e18) { t = 1.0 / (az + sqrt(1.0 + az * az)); }
  if (zeta < 0.0) { t = -t; }
  let cs = 1.0 / sqrt(1.0 + t * t);
  let sn = cs * t;
  let tau = sn / (1.0 + cs);
  for (var e = 0u; e < p.Lp4; e++) {
    let a = G[op + e];
    let b = G[oq + e];
    G[op + e] = a - sn * (b + tau * a);
    G[oq + e] = b + sn * (a - tau * b);
  }
  if (ACCUMULATE) {
    let rp = ip * p.cp4;
    let rq = iq * p.cp4;
    for (var e = 0u; e < p.cp4; e++) {
      let a = Rt[rp + e];
      let b = Rt[rq + e];
      Rt[rp + e] = a - sn * (b + tau * a);
      Rt[rq + e] = b + sn * (a - tau * b);
    }
  }
  return 1u;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = (wid.y * nwg.x + wid.x) * WG + lid;
  var maxRel = 0.0;
  var rotations = 0u;
  if (p.step == 0u) {
    if (k >= p.nb) { return; }
    let b0 = k * p.w;
    let b1 = min(b0 + p.w, p.c);
    for (var i = b0; i < b1; i++) {
      for (var j = i + 1u; j < b1; j++) { rotations += rotatePair(i, j, &maxRel); }
    }
  } else {
    if (k >= p.nb / 2u) { return; }
    let bp = blockAt(k);
    let bq = blockAt(p.nb - 1u - k);
    let p0 = min(bp, bq) * p.w;
    let q0 = max(bp, bq) * p.w;
    let p1 = min(p0 + p.w, p.c);
    let q1 = min(q0 + p.w, p.c);
    for (var i = p0; i < p1; i++) {
      for (var j = q0; j < q1; j++) { rotations += rotatePair(i, j, &maxRel); }
    }
  }
  atomicMax(&stats[0], bitcast<u32>(maxRel));
  if (rotations > 0u) { atomicAdd(&stats[1], rotations); }
}
