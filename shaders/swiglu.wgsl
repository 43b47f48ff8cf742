// SwiGLU gate  out[i] = silu(gate[i]) · up[i],  silu(g) = g / (1 + exp(−g)) = g · sigmoid(g).
//   gate, up, out: (N) — any shape, same number of elements.
//   Stable for large |g|: exp is only taken of −|g| (never overflows), sigmoid(g) = 1/(1+e) for g ≥ 0
//   and e/(1+e) for g < 0 with e = exp(−|g|).
// Dispatch: groups1d(N, WG) — one invocation per element; x·y workgroups flattened with num_workgroups.
// Reference: src/reference/llama-ops.ts swigluRef.
override WG: u32 = 256u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { N: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N) { return; }
  let g = gate[i];
  let e = exp(-abs(g));
  let sig = select(e, 1.0, g >= 0.0) / (1.0 + e);
  out[i] = g * sig * up[i];
}
