// Cross-entropy per row with an ignore mask, fused with its gradient — barrier-free variant: one
// invocation per row.
//   Row r, target t = targets[r]; the row is valid iff 0 ≤ t < V (−1, −100, anything else: ignored).
//     m = max_j x[r, j],  s = Σ_j exp(x[r, j] − m)
//     rowLoss[r]    = (m − x[r, t]) + log(s)                                  0 when ignored
//     dlogits[r, j] = (exp(x[r, j] − m) / s − [j = t]) · scale / nValid        0 when ignored
//   nValid = count[0], an f32 written beforehand by cross-entropy.reduce*.wgsl (MEAN = false).
//   logits x: (R, V), targets: i32 (R), count: (1), rowLoss: (R), dlogits: (R, V).
// Every exponent is ≤ 0, so any finite logits are safe.
// Entry points (same bindings as cross-entropy.wgsl; each uses only what it needs):
//   main      WRITE_GRAD = false: rowLoss only, logits untouched.
//             WRITE_GRAD = true:  dlogits overwrites logits in place (x[r, t] is read first).
//   separate  dlogits into its own buffer (binding 5).
// Dispatch: groups1d(R, WG), invocation r owns row r and walks it three times (max, Σ exp, gradient),
//   four columns per step. No workgroup memory: for adapters where barriers are expensive
//   (SwiftShader); shaders/cross-entropy.wgsl is the workgroup-per-row form for GPUs.
// Reference: src/reference/train-ops.ts crossEntropyRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
override WRITE_GRAD: bool = false;
const NEG_MAX = -3.4028234e38;

struct Params { R: u32, V: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read> count: array<f32>;
@group(0) @binding(3) var<storage, read_write> rowLoss: array<f32>;
@group(0) @binding(4) var<storage, read_write> logits: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

/** (m, s) of the row starting at `base`. */
fn rowMaxSum(base: u32) -> vec2<f32> {
  let V = p.V;
  var m4 = vec4<f32>(NEG_MAX);
  var j = 0u;
  for (; j + 3u < V; j += 4u) {
    m4 = max(m4, vec4<f32>(logits[base + j], logits[base + j + 1u], logits[base + j + 2u], logits[base + j + 3u]));
  }
  for (; j < V; j++) { m4.x = max(m4.x, logits[base + j]); }
  let m = max(max(m4.x, m4.y), max(m4.z, m4.w));
  var s4 = vec4<f32>(0.0);
  j = 0u;
  for (; j + 3u < V; j += 4u) {
    let x = vec4<f32>(logits[base + j], logits[base + j + 1u], logits[base + j + 2u], logits[base + j + 3u]);
    s4 += exp(x - m);
  }
  for (; j < V; j++) { s4.x += exp(logits[base + j] - m); }
  return vec2<f32>(m, (s4.x + s4.y) + (s4.z + s4.w));
}

/** The target of `row`, or −1 when the row is ignored. */
fn rowTarget(row: u32) -> i32 {
  let t = targets[row];
  if (t < 0 || u32(t) >= p.V) { return -1; }
  return t;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.R) { return; }
  let base = row * p.V;
  let t = rowTarget(row);
  if (t < 0) {
    rowLoss[row] = 0.0;
    if (WRITE_GRAD) {
      for (var j = 0u; j < p.V; j++) { logits[base + j] = 0.0; }
    }
    return;
  }
  let xt = logits[base + u32(t)];
  let ms = rowMaxSum(base);
  rowLoss[row] = (ms.x - xt) + log(ms.y);
  if (WRITE_GRAD) {
    let coef = p.scale / count[0];
    let pcoef = coef / ms.y;
    for (var j = 0u; j < p.V; j++) {
      let g = exp(logits[base + j] - ms.x) * pcoef;
      logits[base + j] = select(g, g - coef, j == u32(t));
    }
  }
}

@compute @workgroup_size(WG)
fn separate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.R) { return; }
  let base = row * p.V;
  let t = rowTarget(row);
  if (t < 0) {
    rowLoss[row] = 0.0;
    for (var j = 0u; j < p.V; j++) { dlogits[base + j] = 0.0; }
    return;
  }
  let xt = logits[base + u32(t)];
  let ms = rowMaxSum(base);
  rowLoss[row] = (ms.x - xt) + log(ms.y);
  let coef = p.scale / count[0];
  let pcoef = coef / ms.y;
  for (var j = 0u; j < p.V; j++) {
    let g = exp(logits[base + j] - ms.x) * pcoef;
    dlogits[base + j] = select(g, g - coef, j == u32(t));
  }
}
