// Embedding lookup  out[r, d] = table[ids[r], d]; ids out of range give a zero row (never an out-of-bounds read).
//   ids: (R) u32, table: (V, D), out: (R, D).
// Dispatch: groups1d(R·D, WG) — one invocation per output element; x·y workgroups flattened with num_workgroups.
// Reference: src/reference/llama-ops.ts embeddingRef.
override WG: u32 = 256u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { R: u32, D: u32, V: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.R * p.D) { return; }
  let r = i / p.D;
  let d = i - r * p.D;
  let id = ids[r];
  var v = 0.0;
  if (id < p.V) { v = table[id * p.D + d]; }
  out[i] = v;
}
