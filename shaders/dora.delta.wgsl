// DoRA dense ΔW for merging and spectra: W' = (m/n) ⊙ (W + s·B·A) row-wise, so
//   ΔW[j, k] = (m[j] / n[j]) · (W[j, k] + s·Σ_r B[j, r]·A[r, k]) − W[j, k],
// W, ΔW (out, in); A (r, in); B (out, r); m, n (out) with n from dora.norm.wgsl.
// One invocation per element, a loop over r; no barriers. Dispatch: groups1d(out·in, WG).
// Reference: src/reference/dora.ts doraDeltaRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { out: u32, inF: u32, R: u32, s: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read> m: array<f32>;
@group(0) @binding(5) var<storage, read> n: array<f32>;
@group(0) @binding(6) var<storage, read_write> dW: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (e >= p.out * p.inF) { return; }
  let j = e / p.inF;
  let k = e % p.inF;
  var ba = 0.0;
  for (var r = 0u; r < p.R; r++) { ba += B[j * p.R + r] * A[r * p.inF + k]; }
  let w = W[e];
  dW[e] = (m[j] / n[j]) * (w + p.s * ba) - w;
}
