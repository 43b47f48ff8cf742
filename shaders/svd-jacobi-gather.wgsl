// Singular vectors of a converged one-sided Jacobi, in descending order of singular value
// (reference: src/linalg/reference-svd.ts svdRef, its `long` and `short`).
//   longVecs (L, keep):  longVecs[r, j]  = G[perm[j], r] / norms[perm[j]]  (0 when that norm is 0)
//   shortVecs (c, keep): shortVecs[r, j] = Rt[perm[j], r]
//   G: (c, Lp), Rt: (c, cp), norms: (c), perm: (≥ keep) u32 column order.
// Dispatch: groups1d(max(L, c) · keep, WG), one invocation per (r, j).
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { c: u32, L: u32, Lp: u32, cp: u32, keep: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> Rt: array<f32>;
@group(0) @binding(3) var<storage, read> norms: array<f32>;
@group(0) @binding(4) var<storage, read> perm: array<u32>;
@group(0) @binding(5) var<storage, read_write> longVecs: array<f32>;
@group(0) @binding(6) var<storage, read_write> shortVecs: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = (wid.y * nwg.x + wid.x) * WG + lid;
  let r = idx / p.keep;
  let j = idx % p.keep;
  if (r >= max(p.L, p.c)) { return; }
  let src = perm[j];
  if (r < p.L) {
    let nrm = norms[src];
    longVecs[idx] = select(0.0, G[src * p.Lp + r] / nrm, nrm > 0.0);
  }
  if (r < p.c) { shortVecs[idx] = Rt[src * p.cp + r]; }
}
