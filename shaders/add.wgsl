// In-place elementwise sum  x[i] += y[i].
//   x, y: (N) — any shape, same number of elements. x is bound only as the output (read_write).
// Dispatch: groups1d(N, 256) — one invocation per element; x·y workgroups flattened with num_workgroups.
// Reference: src/reference/llama-ops.ts addRef.
struct Params { N: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.N) { return; }
  x[i] = x[i] + y[i];
}
