// Causal GQA attention, tiled variant, stage 1 of 3: the scaled scores of a 4×4 (query, key) tile.
//   For batch b, head h (kv head g = h / group), query i (position pos0 + i), key j:
//     scores[z, i, j] = scale · q[b·T + i, h] · k[b·S + j, g],   z = (b − b0)·nHeads + h,  scale = 1/sqrt(hd)
//   written for every tile holding at least one causal pair (j ≤ pos0 + i); entries past the diagonal
//   are written too (stage 2 masks them), tiles wholly past it are skipped.
//   q: (B·T, nHeads·hd); k: (B·S, nKvHeads·hd), both read as vec4 (hd % 4 == 0);
//   scores: (nb·nHeads, Tp, tk) scratch with Tp = ceil(T/4)·4 rows and tk = ceil((pos0 + T)/4)·4 columns.
// Batch rows b0 .. b0 + nb − 1 only (the wrapper chunks the batch to bound the scratch).
// Dispatch: groups1d(nb·nHeads · (Tp/4) · (tk/4), WG); invocation (z·(Tp/4) + it)·(tk/4) + jt owns
//   queries 4it .. 4it+3 and keys 4jt .. 4jt+3, keeps the tile in a mat4x4 and steps hd by 4.
//   No workgroup memory and no barriers: for SwiftShader, where every storage load is a 4-lane gather,
//   each pair of 4×vec4 loads feeds 64 multiply-adds.
// Followed by shaders/attention.fwd.softmax.wgsl and shaders/attention.fwd.pv.wgsl.
// Reference: src/reference/llama-ops.ts attentionRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params {
  T: u32, S: u32, nHeads: u32, nKvHeads: u32, hd: u32, pos0: u32, group: u32, scale: f32,
  b0: u32, nb: u32, tk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> scores: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let nIt = (p.T + 3u) / 4u;
  let nJt = p.tk / 4u;
  let jt = idx % nJt;
  let it = (idx / nJt) % nIt;
  let z = idx / nJt / nIt;
  if (z >= p.nb * p.nHeads) { return; }
  let i0 = it * 4u;
  let iLast = min(i0 + 3u, p.T - 1u);
  let j0 = jt * 4u;
  if (j0 > p.pos0 + iLast) { return; } // past the diagonal for every query of the tile
  let h = z % p.nHeads;
  let b = p.b0 + z / p.nHeads;
  let hd4 = p.hd / 4u;
  let qStride = p.nHeads * hd4;
  let kStride = p.nKvHeads * hd4;
  // Rows past the end repeat the last row; their scores are never used.
  let qBase = b * p.T * qStride + h * hd4;
  let q0 = qBase + i0 * qStride;
  let q1 = qBase + min(i0 + 1u, iLast) * qStride;
  let q2 = qBase + min(i0 + 2u, iLast) * qStride;
  let q3 = qBase + iLast * qStride;
  let kBase = b * p.S * kStride + (h / p.group) * hd4;
  let kLast = p.pos0 + p.T - 1u;
  let k0 = kBase + min(j0, kLast) * kStride;
  let k1 = kBase + min(j0 + 1u, kLast) * kStride;
  let k2 = kBase + min(j0 + 2u, kLast) * kStride;
  let k3 = kBase + min(j0 + 3u, kLast) * kStride;

  // s[a][c] = q_{i0+a} · k_{j0+c}
  var s = mat4x4<f32>();
  for (var d = 0u; d < hd4; d++) {
    let qm = mat4x4<f32>(q[q0 + d], q[q1 + d], q[q2 + d], q[q3 + d]);
    let km = mat4x4<f32>(k[k0 + d], k[k1 + d], k[k2 + d], k[k3 + d]);
    s += transpose(km) * qm;
  }
  let tk4 = p.tk / 4u;
  let o = (z * nIt * 4u + i0) * tk4 + jt;
  scores[o] = s[0] * p.scale;
  scores[o + tk4] = s[1] * p.scale;
  scores[o + 2u * tk4] = s[2] * p.scale;
  scores[o + 3u * tk4] = s[3] * p.scale;
}
