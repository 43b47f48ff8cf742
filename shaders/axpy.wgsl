// Scaled accumulate into a slice:  y[yOffset + i] += alpha · x[i]  for i < n.
// Used to sum per-micro-batch losses into the metrics ring without a readback.
// Dispatch: groups1d(n, WG), flattened with num_workgroups. Reference: y += alpha·x.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { n: u32, yOffset: u32, alpha: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (i >= p.n) { return; }
  y[p.yOffset + i] += p.alpha * x[i];
}
