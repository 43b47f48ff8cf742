// One AdamW step (torch.optim.AdamW single-tensor order), elementwise and in place on p, m, v:
//   g = grad[i] · clip[0]                     (clip = 1 when HAS_CLIP is false)
//   m = β1·m + (1−β1)·g;   v = β2·v + (1−β2)·g²
//   p = p·decay − stepSize · m / (sqrt(v) / bc2Sqrt + eps)
// with, precomputed in float64 by the wrapper: decay = 1 − lr·wd, stepSize = lr / (1 − β1^t),
// bc2Sqrt = sqrt(1 − β2^t), oneMinusBeta1/2 = 1 − β1/2.
//   p, grad, m, v: (n); clip: (1) from clip-scale.wgsl (bound to grad when HAS_CLIP is false).
// Dispatch: groups1d(n, WG); one invocation per element, (x, y) flattened with num_workgroups.
// Reference: src/reference/train-ops.ts adamwStepRef.
override WG: u32 = 256u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
override HAS_CLIP: bool = true;

struct Params {
  n: u32,
  beta1: f32, beta2: f32, oneMinusBeta1: f32, oneMinusBeta2: f32,
  decay: f32, stepSize: f32, bc2Sqrt: f32, eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> clip: array<f32>;
@group(0) @binding(3) var<storage, read_write> param: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  var g = grad[i];
  if (HAS_CLIP) { g *= clip[0]; }
  let mi = p.beta1 * m[i] + p.oneMinusBeta1 * g;
  let vi = p.beta2 * v[i] + p.oneMinusBeta2 * (g * g);
  m[i] = mi;
  v[i] = vi;
  param[i] = param[i] * p.decay - p.stepSize * (mi / (sqrt(vi) / p.bc2Sqrt + p.eps));
}
