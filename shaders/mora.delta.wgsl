// MoRA dense ΔW (out, in), for merging and spectra: the forward map applied to the identity,
//   ΔW[j, q] = ∂y_j/∂x_q.  With W = nU·r̂, f = j mod W, chunk i = f / r̂, k = f mod r̂:
//     y_j = z_f = Σ_m M[k, m]·u_i[m], and u_i depends on padded positions p ≡ q (mod in) (x̃_p = x[p mod in]).
//   sharing (type 1, i = 0, every padded position p < nB·r̂ summed into slot p mod r̂):
//     ΔW[j, q] = Σ_{p = q, q + in, ... < span} M[k, p mod r̂]
//   ROTATION (type 6): only the positions p = i·r̂ + l of chunk i, weighted by (M·R_i)[k, l], h = r̂/2:
//     (M R_i)[k, l]     = M[k, l]·cos(iθ_l) + M[k, l+h]·sin(iθ_l)          (l < h)
//     (M R_i)[k, l + h] = M[k, l+h]·cos(iθ_l) − M[k, l]·sin(iθ_l)
//   Same wrap-around padding, tiling and truncation as the forward (src/reference/mora.ts header).
// One invocation per element of ΔW, a short loop (merges and spectra only: not tuned); no barriers. Dispatch: groups1d(out·in, WG).
// Reference: src/reference/mora.ts moraDeltaRef (the forward of the identity, transposed).
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels/mora.ts) sets it and derives the dispatch from the uniforms
override ROTATION: bool = false;

struct Params { out: u32, inF: u32, rHat: u32, width: u32, span: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> M: array<f32>;
@group(0) @binding(2) var<storage, read> rot: array<f32>;
@group(0) @binding(3) var<storage, read_write> dW: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (e >= p.out * p.inF) { return; }
  let j = e / p.inF;
  let q = e % p.inF;
  let f = j % p.width;
  let k = f % p.rHat;
  let mk = k * p.rHat; // row k of M
  var s = 0.0;
  if (!ROTATION) {
    for (var pos = q; pos < p.span; pos += p.inF) { s += M[mk + pos % p.rHat]; }
    dW[e] = s;
    return;
  }
  let i = f / p.rHat;
  let h = p.rHat / 2u;
  let lo = i * p.rHat; // chunk i covers padded positions [lo, lo + r̂)
  for (var pos = q; pos < lo + p.rHat; pos += p.inF) {
    if (pos < lo) { continue; }
    let l = pos - lo;
    let c = l % h;
    let cs = rot[i * p.rHat + c];
    let sn = rot[i * p.rHat + h + c];
    if (l < h) {
      s += M[mk + l] * cs + M[mk + l + h] * sn;
    } else {
      s += M[mk + l] * cs - M[mk + l - h] * sn;
    }
  }
  dW[e] = s;
}
