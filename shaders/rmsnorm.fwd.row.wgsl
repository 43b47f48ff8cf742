// RMSNorm forward, barrier-free variant: one invocation per row.
//   out[r, j] = w[j] · (x[r, j] · inv[r]),  inv[r] = 1 / sqrt(mean_j(x[r, j]²) + eps)
//   x: (R, D), w: (D), out: (R, D). out may not alias x.
// Dispatch: groups1d(R, WG); invocation r sums its row serially. For adapters where workgroup barriers
//   are expensive (SwiftShader); shaders/rmsnorm.fwd.wgsl is the workgroup-reduction form for GPUs.
// Reference: src/reference/llama-ops.ts rmsnormRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { R: u32, D: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.R) { return; }
  let base = row * p.D;
  var ss = 0.0;
  for (var j = 0u; j < p.D; j++) {
    let v = x[base + j];
    ss += v * v;
  }
  let inv = 1.0 / sqrt(ss / f32(p.D) + p.eps);
  for (var j = 0u; j < p.D; j++) {
    out[base + j] = w[j] * (inv * x[base + j]);
  }
}
