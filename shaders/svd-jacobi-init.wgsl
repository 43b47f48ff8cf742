// One-sided Jacobi set-up (reference: src/linalg/reference-svd.ts svdRef, its G and R).
//   G (c, Lp): row i = the i-th vector to rotate, zero-padded from L to Lp (a multiple of 4).
//     TRANSPOSE (n ≤ m, rotate W's columns): G[i, e] = W[e·n + i]; else (rotate W's rows): G[i, e] = W[i·n + e].
//   Rt (c, cp): the identity, padded to cp columns (only when IDENTITY; singular values alone need no Rt);
//     the step kernels apply every rotation to it.
//   W: (m, n) row-major, c = min(m, n), L = max(m, n).
// Dispatch: groups1d(c · max(Lp, cp), WG), flattened with num_workgroups.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
override TRANSPOSE: bool = false;
override IDENTITY: bool = true;

struct Params { n: u32, c: u32, L: u32, Lp: u32, cp: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> Rt: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = (wid.y * nwg.x + wid.x) * WG + lid;
  if (idx < p.c * p.Lp) {
    let i = idx / p.Lp;
    let e = idx % p.Lp;
    var v = 0.0;
    if (e < p.L) {
      if (TRANSPOSE) { v = W[e * p.n + i]; } else { v = W[i * p.n + e]; }
    }
    G[idx] = v;
  }
  if (IDENTITY && idx < p.c * p.cp) {
    let i = idx / p.cp;
    Rt[idx] = select(0.0, 1.0, idx % p.cp == i);
  }
}
