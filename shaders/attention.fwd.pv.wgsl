// Causal GQA attention, tiled variant, stage 3 of 3: out = (softmax numerators · v) / l for a tile of
// 4 queries × 4 head dims.
//   For z = (b − b0)·nHeads + h (kv head g = h / group), query i < T, dims d .. d+3:
//     out[b·T + i, h, d..d+3] = rowInv[z·Tp + i] · Σ_{j ≤ pos0+i} e[z, i, j] · v[b·S + j, g, d..d+3]
//   e (zero past each row's diagonal) and rowInv from shaders/attention.fwd.softmax.wgsl.
//   e: (nb·nHeads, Tp, tk); rowInv: (nb·nHeads·Tp); v: (B·S, nKvHeads·hd); out: (B·T, nHeads·hd), as vec4.
// Dispatch: groups1d(nb·nHeads · (Tp/4) · (hd/4), WG); invocation (z·(Tp/4) + it)·(hd/4) + dt owns
//   queries 4it .. 4it+3 and dims 4dt .. 4dt+3 and walks the keys 4 at a time up to the tile's last
//   key: 4 vec4 loads of e and 4 of v feed 64 multiply-adds (mat4x4 product), no barriers.
// Reference: src/reference/llama-ops.ts attentionRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params {
  T: u32, S: u32, nHeads: u32, nKvHeads: u32, hd: u32, pos0: u32, group: u32, scale: f32,
  b0: u32, nb: u32, tk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> e: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> rowInv: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let hd4 = p.hd / 4u;
  let nIt = (p.T + 3u) / 4u;
  let dt = idx % hd4;
  let it = (idx / hd4) % nIt;
  let z = idx / hd4 / nIt;
  if (z >= p.nb * p.nHeads) { return; }
  let h = z % p.nHeads;
  let b = p.b0 + z / p.nHeads;
  let i0 = it * 4u;
  let iLast = min(i0 + 3u, p.T - 1u);
  let nTile = (p.pos0 + iLast) / 4u + 1u;
  let tk4 = p.tk / 4u;
  let r0 = z * nIt * 4u + i0;  // scratch row of query i0 (rows up to i0 + 3 exist: Tp is padded)
  let e0 = r0 * tk4;
  let kvStride = p.nKvHeads * hd4;
  let vBase = b * p.S * kvStride + (h / p.group) * hd4 + dt;
  let kLast = p.pos0 + p.T - 1u;

  // acc[a] = Σ_j e[i0 + a, j] · v[j, dims]
  var acc = mat4x4<f32>();
  for (var c = 0u; c < nTile; c++) {
    let em = mat4x4<f32>(e[e0 + c], e[e0 + tk4 + c], e[e0 + 2u * tk4 + c], e[e0 + 3u * tk4 + c]);
    let j = 4u * c;
    let vm = mat4x4<f32>(
      v[vBase + j * kvStride], v[vBase + min(j + 1u, kLast) * kvStride],
      v[vBase + min(j + 2u, kLast) * kvStride], v[vBase + min(j + 3u, kLast) * kvStride],
    );
    acc += vm * em;
  }
  let qStride = p.nHeads * hd4;
  let o = (b * p.T + i0) * qStride + h * hd4 + dt;
  out[o] = acc[0] * rowInv[r0];
  if (i0 + 1u < p.T) { out[o + qStride] = acc[1] * rowInv[r0 + 1u]; }
  if (i0 + 2u < p.T) { out[o + 2u * qStride] = acc[2] * rowInv[r0 + 2u]; }
  if (i0 + 3u < p.T) { out[o + 3u * qStride] = acc[3] * rowInv[r0 + 3u]; }
}
