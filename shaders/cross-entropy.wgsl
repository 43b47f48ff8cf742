// Cross-entropy per row with an ignore mask, fused with its gradient (as llm.c's fused classifier).
//   Row r, target t = targets[r]; the row is valid iff 0 ≤ t < V (−1, −100, anything else: ignored).
//     m = max_j x[r, j],  s = Σ_j exp(x[r, j] − m)
//     rowLoss[r]    = (m − x[r, t]) + log(s)                                  0 when ignored
//     dlogits[r, j] = (exp(x[r, j] − m) / s − [j = t]) · scale / nValid        0 when ignored
//   nValid = count[0], an f32 written beforehand by cross-entropy.reduce.wgsl (MEAN = false).
//   logits x: (R, V), targets: i32 (R), count: (1), rowLoss: (R), dlogits: (R, V).
// Every exponent is ≤ 0, so any finite logits are safe (tested to |x| = 1e4).
// Entry points (same bindings; each uses only what it needs):
//   main      WRITE_GRAD = false: rowLoss only, logits untouched.
//             WRITE_GRAD = true:  dlogits overwrites logits in place — why logits is read_write.
//   separate  dlogits into its own buffer (binding 5).
// Dispatch: one workgroup of WG invocations per row (WG a power of two, 32..256, picked by the
//   wrapper from V), rows folded into (x, y) with num_workgroups.
//   Each invocation keeps an online (max, Σ exp) pair over j ≡ lid (mod WG); a tree reduction in
//   workgroup memory merges the pairs; then each invocation writes its own j's gradient. Every
//   invocation reads x[r, t] before the first barrier, so the in-place writes cannot clobber it.
// Reference: src/reference/train-ops.ts crossEntropyRef.
override WRITE_GRAD: bool = false;
override WG: u32 = 256u; // a power of two: the workgroup size, set per call from V by src/kernels/cross-entropy.ts
const NEG_MAX = -3.4028234e38;

struct Params { R: u32, V: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read> count: array<f32>;
@group(0) @binding(3) var<storage, read_write> rowLoss: array<f32>;
@group(0) @binding(4) var<storage, read_write> logits: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

var<workgroup> wmax: array<f32, WG>;
var<workgroup> wsum: array<f32, WG>;

/** (m, s) of the row starting at `base`, merged over the workgroup; every invocation gets it. */
fn rowMaxSum(base: u32, lid: u32) -> vec2<f32> {
  var m = NEG_MAX;
  var s = 0.0;
  for (var j = lid; j < p.V; j += WG) {
    let x = logits[base + j];
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s += exp(x - m);
    }
  }
  wmax[lid] = m;
  wsum[lid] = s;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) {
      let m2 = wmax[lid + stride];
      let mm = max(m, m2);
      s = s * exp(m - mm) + wsum[lid + stride] * exp(m2 - mm);
      m = mm;
      wmax[lid] = m;
      wsum[lid] = s;
    }
  }
  workgroupBarrier();
  return vec2<f32>(wmax[0], wsum[0]);
}

/** The target of `row`, or −1 when the row is ignored. */
fn rowTarget(row: u32) -> i32 {
  let t = targets[row];
  if (t < 0 || u32(t) >= p.V) { return -1; }
  return t;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.R) { return; } // uniform across the workgroup
  let base = row * p.V;
  let t = rowTarget(row);
  if (t < 0) {
    if (lid == 0u) { rowLoss[row] = 0.0; }
    if (WRITE_GRAD) {
      for (var j = lid; j < p.V; j += WG) { logits[base + j] = 0.0; }
    }
    return;
  }
  let xt = logits[base + u32(t)];
  let ms = rowMaxSum(base, lid);
  if (lid == 0u) { rowLoss[row] = (ms.x - xt) + log(ms.y); }
  if (WRITE_GRAD) {
    let coef = p.scale / count[0];
    let pcoef = coef / ms.y;
    for (var j = lid; j < p.V; j += WG) {
      let g = exp(logits[base + j] - ms.x) * pcoef;
      logits[base + j] = select(g, g - coef, j == u32(t));
    }
  }
}

@compute @workgroup_size(WG)
fn separate(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.R) { return; } // uniform across the workgroup
  let base = row * p.V;
  let t = rowTarget(row);
  if (t < 0) {
    if (lid == 0u) { rowLoss[row] = 0.0; }
    for (var j = lid; j < p.V; j += WG) { dlogits[base + j] = 0.0; }
    return;
  }
  let xt = logits[base + u32(t)];
  let ms = rowMaxSum(base, lid);
  if (lid == 0u) { rowLoss[row] = (ms.x - xt) + log(ms.y); }
  let coef = p.scale / count[0];
  let pcoef = coef / ms.y;
  for (var j = lid; j < p.V; j += WG) {
    let g = exp(logits[base + j] - ms.x) * pcoef;
    dlogits[base + j] = select(g, g - coef, j == u32(t));
  }
}
