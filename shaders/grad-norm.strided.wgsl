// Partial sums for the global gradient norm, barrier-free variant:
//   partials[outOffset + g] = Σ_{i ≡ g (mod count)} f(x[i]),  g = 0 .. count − 1,
//   f(v) = v² when SQUARE (stage 1, over one gradient tensor), f(v) = v otherwise (stage 2, count = 1:
//   one invocation adding every stage-1 partial in index order, giving Σ over every tensor of Σ g²).
//   x: (n), partials: (≥ outOffset + count).
// Dispatch: groups1d(count, WG); invocation g walks i = g, g + count, ... with four independent
//   accumulators (consecutive invocations read consecutive elements) and writes one partial.
//   No workgroup memory: for adapters where a barrier costs ~0.1 ms per workgroup (SwiftShader);
//   shaders/grad-norm.wgsl is the tree-reduction form for GPUs. Deterministic (fixed order).
// Reference: src/reference/train-ops.ts sumSquaresRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
override SQUARE: bool = true;

struct Params { n: u32, outOffset: u32, count: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

fn f(v: f32) -> f32 {
  if (SQUARE) { return v * v; }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * WG;
  if (g >= p.count) { return; }
  let step = p.count;
  var s = vec4<f32>(0.0);
  var i = g;
  for (; i + 3u * step < p.n; i += 4u * step) {
    s += vec4<f32>(f(x[i]), f(x[i + step]), f(x[i + 2u * step]), f(x[i + 3u * step]));
  }
  for (; i < p.n; i += step) { s.x += f(x[i]); }
  partials[p.outOffset + g] = (s.x + s.y) + (s.z + s.w);
}
