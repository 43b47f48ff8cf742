// Singular values of a converged one-sided Jacobi: norms[i] = ‖G[i]‖ (reference: src/linalg/reference-svd.ts
// svdRef, its `norms`). Vec4 lanes summed in blocks of 64 elements, blocks added with compensation,
// as in the step kernels.  G: (c, Lp4) vec4, norms: (c).
// Dispatch: groups1d(c, WG), one invocation per row.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { c: u32, Lp4: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> G: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> norms: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= p.c) { return; }
  let o = i * p.Lp4;
  var sum = 0.0;
  var comp = 0.0;
  for (var e0 = 0u; e0 < p.Lp4; e0 += 16u) {
    let e1 = min(e0 + 16u, p.Lp4);
    var b = vec4<f32>(0.0);
    for (var e = e0; e < e1; e++) { let a = G[o + e]; b += a * a; }
    let y = ((b.x + b.y) + (b.z + b.w)) - comp;
    let t = sum + y;
    comp = (t - sum) - y;
    sum = t;
  }
  norms[i] = sqrt(sum);
}
