// DoRA row norm of the adapted weight, without forming it:
//   n[j] = ‖W[j, :] + s·B[j, :]·A‖₂ = sqrt( Σ_k (W[j, k] + s·Σ_r B[j, r]·A[r, k])² ),  j < out.
// W (out, in), A (r, in), B (out, r), n (out). With B = 0 every term is W[j, k] + 0 = W[j, k] exactly,
// so the magnitude initialised by this kernel equals the norm of a fresh adapter bit for bit (m/n = 1).
// One invocation per row j, a plain loop over in × r: no barriers, no atomics (deterministic).
// Dispatch: groups1d(out, WG). Reference: src/reference/dora.ts doraNormRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { out: u32, inF: u32, R: u32, s: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read_write> n: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (j >= p.out) { return; }
  var acc = 0.0;
  for (var k = 0u; k < p.inF; k++) {
    var ba = 0.0; // (B·A)[j, k]
    for (var r = 0u; r < p.R; r++) { ba += B[j * p.R + r] * A[r * p.inF + k]; }
    let v = W[j * p.inF + k] + p.s * ba;
    acc += v * v;
  }
  n[j] = sqrt(acc);
}
