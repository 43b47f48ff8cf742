// Causal GQA attention backward, tiled variant, stage 1 of 4: D_i = dout_i · out_i per (row, head).
//   delta[w] = Σ_d dout[w·hd + d] · out[w·hd + d],  w = (b·T + i)·nHeads + h   (the softmax-Jacobian term)
//   out, dout: (B·T, nHeads·hd) read as vec4 (hd % 4 == 0); delta: (B·T·nHeads).
// Dispatch: groups1d(B·T·nHeads, WG), one invocation per w.
// Reference: src/reference/llama-grads.ts attentionBackwardRef (D).
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { B: u32, T: u32, nHeads: u32, nKvHeads: u32, hd: u32, group: u32, scale: f32, b0: u32, nb: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> out: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> delta: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * WG;
  if (w >= p.B * p.T * p.nHeads) { return; }
  let hd4 = p.hd / 4u;
  let base = w * hd4;
  var s = vec4<f32>(0.0);
  for (var d = 0u; d < hd4; d++) { s += dout[base + d] * out[base + d]; }
  delta[w] = (s.x + s.y) + (s.z + s.w);
}
