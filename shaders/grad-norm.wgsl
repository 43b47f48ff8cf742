// Partial sums for the global gradient norm:  partials[outOffset + g] = Σ_{i ∈ slice g} f(x[i]),
//   f(v) = v² when SQUARE (stage 1, over one gradient tensor), f(v) = v otherwise (stage 2, over the
//   stage-1 partials, one workgroup, giving Σ over every tensor of Σ g²).
//   x: (n), partials: (≥ outOffset + G).
// Dispatch (src/kernels/optimizer.ts, from the uniforms): stage 1 G = min(256, ⌈n / WG⌉) workgroups,
//   stage 2 one; invocation lid of group g visits i = g·WG + lid, stepping by G·WG; a tree reduction in
//   workgroup memory per group.
// Reference: src/reference/train-ops.ts sumSquaresRef.
override SQUARE: bool = true;
override WG: u32 = 256u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms

struct Params { n: u32, outOffset: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

var<workgroup> acc: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let step = nwg.x * WG;
  var s = 0.0;
  for (var i = wid.x * WG + lid; i < p.n; i += step) {
    let v = x[i];
    if (SQUARE) { s += v * v; } else { s += v; }
  }
  acc[lid] = s;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) { acc[lid] += acc[lid + stride]; }
  }
  workgroupBarrier();
  if (lid == 0u) { partials[p.outOffset + wid.x] = acc[0]; }
}
