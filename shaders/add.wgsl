// In-place elementwise sum  x[i] += y[i].
//   x, y: (N) — any shape, same number of elements. x is bound only as the output (read_write).
// Dispatch: groups1d(N, WG) — one invocation per element; x·y workgroups flattened with num_workgroups.
// Reference: src/reference/llama-ops.ts addRef.
override WG: u32 = 256u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { N: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N) { return; }
  x[i] = x[i] + y[i];
}
