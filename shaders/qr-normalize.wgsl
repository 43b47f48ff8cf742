// Scale every row of a panel to unit length (the last stage of a Gram–Schmidt pass; reference:
// src/linalg/reference-svd.ts mgsRef):  y_i ← y_i / ‖y_i‖, rows of norm 0 stay 0. Norms summed as in qr-mgs.wgsl.
//   Y: (rows, L) row-major.
// Dispatch: groups1d(rows, WG), one invocation per row.
override WG: u32 = 8u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms

struct Params { rows: u32, L: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= p.rows) { return; }
  let o = i * p.L;
  var sum = 0.0;
  var comp = 0.0;
  for (var e0 = 0u; e0 < p.L; e0 += 64u) {
    let e1 = min(e0 + 64u, p.L);
    var b = vec4<f32>(0.0);
    var e = e0;
    for (; e + 4u <= e1; e += 4u) {
      let y = vec4<f32>(Y[o + e], Y[o + e + 1u], Y[o + e + 2u], Y[o + e + 3u]);
      b += y * y;
    }
    for (; e < e1; e++) { let y = Y[o + e]; b.x += y * y; }
    let y = ((b.x + b.y) + (b.z + b.w)) - comp;
    let t = sum + y;
    comp = (t - sum) - y;
    sum = t;
  }
  if (!(sum > 0.0)) { return; }
  let inv = 1.0 / sqrt(sum);
  for (var e = 0u; e < p.L; e++) { Y[o + e] *= inv; }
}
