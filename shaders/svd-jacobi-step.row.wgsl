// One parallel step of a one-sided Jacobi (Hestenes) sweep, one invocation per column pair, no
// barriers (SwiftShader variant; GPUs use svd-jacobi-step.wgsl). Reference: src/linalg/reference-svd.ts
// svdRef / rotatePair.
//   Round-robin order over cEven = c rounded up to even: in step s (0 ≤ s < cEven − 1) pair k
//   (k < cEven/2) joins the columns at positions k and cEven − 1 − k, where position 0 holds column
//   0 and position j > 0 holds column (j − 1 + s) mod (cEven − 1) + 1. A column index ≥ c is the
//   dummy of an odd c: that pair rests. Every pair of columns meets once per sweep; the pairs of one
//   step are disjoint, so their rotations run in parallel.
//   For rows a = G[p], b = G[q] (p < q): α = a·a, β = b·b, γ = a·b (vec4 lanes summed in blocks of
//   64 elements, blocks added with compensation). If |γ| > tol·√α·√β: ζ = (β − α)/(2γ),
//   t = sign(ζ)/(|ζ| + √(1 + ζ²)), c = 1/√(1 + t²), s = c·t, τ = s/(1 + c);
//   a ← a − s·(b + τ·a), b ← b + s·(a − τ·b)  (= c·a − s·b, s·a + c·b, written so that tiny
//   rotations, whose c = 1 − t²/2 rounds to 1 in f32, stay orthogonal instead of growing the norms),
//   and the same on rows p, q of Rt when ACCUMULATE.
//   stats[0] = max over pairs of |γ|/(√α·√β) (f32 bits: non-negative floats order like u32),
//   stats[1] += 1 per rotation. A sweep with no rotation means converged.
//   G: (c, Lp4) vec4, Rt: (c, cp4) vec4, stats: (2) u32.
// Dispatch: groups1d(cEven / 2, WG).
override ACCUMULATE: bool = true;
override WG: u32 = 4u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms

struct Params { c: u32, cEven: u32, step: u32, Lp4: u32, cp4: u32, tol: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> G: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Rt: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> stats: array<atomic<u32>>;

fn columnAt(pos: u32) -> u32 {
  if (pos == 0u) { return 0u; }
  return (pos - 1u + p.step) % (p.cEven - 1u) + 1u;
}

fn hsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = (wid.y * nwg.x + wid.x) * WG + lid;
  if (k >= p.cEven / 2u) { return; }
  let i = columnAt(k);
  let j = columnAt(p.cEven - 1u - k);
  if (max(i, j) >= p.c) { return; }
  let op = min(i, j) * p.Lp4;
  let oq = max(i, j) * p.Lp4;

  // Dot products: 16 vec4 per block, block sums added with Kahan compensation.
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
  atomicMax(&stats[0], bitcast<u32>(rel));
  if (!(rel > p.tol)) { return; }
  atomicAdd(&stats[1], 1u);

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
    let rp = min(i, j) * p.cp4;
    let rq = max(i, j) * p.cp4;
    for (var e = 0u; e < p.cp4; e++) {
      let a = Rt[rp + e];
      let b = Rt[rq + e];
      Rt[rp + e] = a - sn * (b + tau * a);
      Rt[rq + e] = b + sn * (a - tau * b);
    }
  }
}
