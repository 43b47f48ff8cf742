// Causal GQA attention backward, tiled variant, stage 3 of 4: dq for 4 queries × 4 head dims.
//   dq[b·T + i, h, d..d+3] = scale · Σ_{j ≤ i} dS[z, i, j] · k[b·T + j, g, d..d+3]
//   (S_ij = scale·q_i·k_j; dS zero past the diagonal, from shaders/attention.bwd.ds.wgsl).
//   dS: (nb·nHeads, Tp, Tp); k: (B·T, nKvHeads·hd); dq: (B·T, nHeads·hd), all as vec4. dq is overwritten.
// Dispatch: groups1d(nb·nHeads · (Tp/4) · (hd/4), WG); invocation (z·(Tp/4) + it)·(hd/4) + dt walks
//   the keys 4 at a time up to the tile's diagonal: 4 vec4 loads of dS and 4 of k per 64 multiply-adds.
// Reference: src/reference/llama-grads.ts attentionBackwardRef (dq).
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { B: u32, T: u32, nHeads: u32, nKvHeads: u32, hd: u32, group: u32, scale: f32, b0: u32, nb: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dS: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dq: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let hd4 = p.hd / 4u;
  let nt = (p.T + 3u) / 4u;
  let dt = idx % hd4;
  let it = (idx / hd4) % nt;
  let z = idx / hd4 / nt;
  if (z >= p.nb * p.nHeads) { return; }
  let h = z % p.nHeads;
  let b = p.b0 + z / p.nHeads;
  let i0 = it * 4u;
  let last = p.T - 1u;
  let s0 = (z * nt * 4u + i0) * nt;
  let kStride = p.nKvHeads * hd4;
  let kBase = b * p.T * kStride + (h / p.group) * hd4 + dt;

  // acc[a] = Σ_j dS[i0 + a, j] · k[j, dims]
  var acc = mat4x4<f32>();
  for (var c = 0u; c <= it; c++) {
    let sm = mat4x4<f32>(dS[s0 + c], dS[s0 + nt + c], dS[s0 + 2u * nt + c], dS[s0 + 3u * nt + c]);
    let j = 4u * c;
    let km = mat4x4<f32>(
      k[kBase + j * kStride], k[kBase + min(j + 1u, last) * kStride],
      k[kBase + min(j + 2u, last) * kStride], k[kBase + min(j + 3u, last) * kStride],
    );
    acc += km * sm;
  }
  let qStride = p.nHeads * hd4;
  let o = (b * p.T + i0) * qStride + h * hd4 + dt;
  dq[o] = acc[0] * p.scale;
  if (i0 + 1u < p.T) { dq[o + qStride] = acc[1] * p.scale; }
  if (i0 + 2u < p.T) { dq[o + 2u * qStride] = acc[2] * p.scale; }
  if (i0 + 3u < p.T) { dq[o + 3u * qStride] = acc[3] * p.scale; }
}
