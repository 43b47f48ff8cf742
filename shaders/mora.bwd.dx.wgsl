// MoRA backward, step 3: the input gradient,  dx (+)= compressᵀ(du), added onto the base dy·W.
//   du (rows, W), W = nU·r̂ (mora.bwd.grads.wgsl). The gradient w.r.t. the chunked padded input is
//     dc = du (sharing), or per chunk dc_i = R_iᵀ du_i (ROTATION: rotation by −iθ), h = r̂/2, l < h:
//       dc[i, l]     = du[i, l]·cos(iθ_l) + du[i, l+h]·sin(iθ_l)
//       dc[i, l + h] = du[i, l+h]·cos(iθ_l) − du[i, l]·sin(iθ_l)
//   and padded position p fed input channel p mod in (x̃_p = x[p mod in]), so
//     dx[row, q] (+)= Σ_{p = q, q + in, ... < span} dc[row, p mod W]
//   span = nB·r̂ for sharing (every padded position was summed into one chunk; p mod W = p mod r̂),
//   nU·r̂ for ROTATION (only chunks that reach the output). rot as in mora.compress.wgsl.
// One invocation per element of dx: a gather, deterministic. The loop steps (i, k) = (p / r̂, p mod r̂)
// by (inDiv, inMod) = (in / r̂, in mod r̂) without dividing. Dispatch: (ceil(in / WG), rows) from the uniforms (rows
// is in Params for that only: the shader takes the row from the grid).
// Reference: src/reference/mora.ts moraBackwardRef (dx).
override ROTATION: bool = false;
override ACCUMULATE: bool = true;
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels/mora.ts) sets it and derives the dispatch from the uniforms

struct Params { inF: u32, rHat: u32, width: u32, span: u32, inDiv: u32, inMod: u32, rows: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> du: array<f32>;
@group(0) @binding(2) var<storage, read> rot: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.y;
  let q = gid.x;
  if (q >= p.inF) { return; }
  let e = row * p.inF + q;
  let n = p.rHat;
  let h = n / 2u;
  let g0 = row * p.width;
  var i = q / n; // chunk of padded position pos
  var k = q - i * n; // pos mod r̂
  var s = 0.0;
  for (var pos = q; pos < p.span; pos += p.inF) {
    if (!ROTATION) {
      s += du[g0 + k];
    } else {
      let g = g0 + i * n + k; // du[row, i, k]
      if (k < h) {
        s += du[g] * rot[i * n + k] + du[g + h] * rot[i * n + h + k];
      } else {
        s += du[g] * rot[i * n + k - h] - du[g - h] * rot[i * n + k];
      }
    }
    k += p.inMod;
    i += p.inDiv;
    if (k >= n) { k -= n; i += 1u; }
  }
  if (ACCUMULATE) { dx[e] += s; } else { dx[e] = s; }
}
