// One column of modified Gram–Schmidt on a panel stored by rows (reference: src/linalg/reference-svd.ts
// mgsRef): every later row is made orthogonal to row j,
//   y_i ← y_i − (y_j·y_i / y_j·y_j)·y_j   for j < i < rows   (rows with y_j·y_j = 0 are left alone).
// Row j is read, never written, so the rows i run in parallel. Dot products as in the Jacobi
// kernels: 4 lanes in blocks of 64 elements, blocks added with compensation.
//   Y: (rows, L) row-major; each row is one column of the tall-skinny matrix being factored.
// Dispatch: groups1d(rows − j − 1, WG), one invocation per row i > j.
override WG: u32 = 8u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms

struct Params { rows: u32, L: u32, j: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = p.j + 1u + (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= p.rows) { return; }
  let oj = p.j * p.L;
  let oi = i * p.L;
  var sum = vec2<f32>(0.0);
  var comp = vec2<f32>(0.0);
  for (var e0 = 0u; e0 < p.L; e0 += 64u) {
    let e1 = min(e0 + 64u, p.L);
    var bq = vec4<f32>(0.0);
    var bd = vec4<f32>(0.0);
    var e = e0;
    for (; e + 4u <= e1; e += 4u) {
      let q = vec4<f32>(Y[oj + e], Y[oj + e + 1u], Y[oj + e + 2u], Y[oj + e + 3u]);
      let y = vec4<f32>(Y[oi + e], Y[oi + e + 1u], Y[oi + e + 2u], Y[oi + e + 3u]);
      bq += q * q;
      bd += q * y;
    }
    for (; e < e1; e++) {
      let q = Y[oj + e];
      bq.x += q * q;
      bd.x += q * Y[oi + e];
    }
    let y = vec2<f32>((bq.x + bq.y) + (bq.z + bq.w), (bd.x + bd.y) + (bd.z + bd.w)) - comp;
    let t = sum + y;
    comp = (t - sum) - y;
    sum = t;
  }
  if (!(sum.x > 0.0)) { return; }
  let f = sum.y / sum.x;
  for (var e = 0u; e < p.L; e++) { Y[oi + e] -= f * Y[oj + e]; }
}
