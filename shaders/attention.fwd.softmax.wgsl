// Causal GQA attention, tiled variant, stage 2 of 3: the softmax numerators of one query row.
//   For row r = z·Tp + i (z = (b − b0)·nHeads + h, query i < T, last key pos0 + i), in place over scores:
//     m = max_{j ≤ pos0+i} scores[r, j],   e_j = exp(scores[r, j] − m) for j ≤ pos0 + i, else 0,
//     l = Σ_j e_j,   rowInv[r] = 1 / l,   lse[(b·T + i)·nHeads + h] = m + log(l)   (entry main_lse)
//   e is written up to the last key column of the row's 4-query tile (stage 3 reads whole tiles), so
//   the columns past the row's own diagonal hold exact zeros.
//   scores: (nb·nHeads, Tp, tk) from shaders/attention.fwd.scores.wgsl, read as vec4;
//   rowInv: (nb·nHeads·Tp); lse: (B·T·nHeads).
// Dispatch: groups1d(nb·nHeads·Tp, WG), one invocation per row (rows i ≥ T return at once).
// Reference: src/reference/llama-ops.ts attentionRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
const NEG_MAX = -3.4028234e38;

struct Params {
  T: u32, S: u32, nHeads: u32, nKvHeads: u32, hd: u32, pos0: u32, group: u32, scale: f32,
  b0: u32, nb: u32, tk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> scores: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> rowInv: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;

// Softmax numerators of row r in place; returns (m, l), or (0, 0) for padding rows.
fn softmaxRow(r: u32) -> vec2<f32> {
  let Tp = (p.T + 3u) / 4u * 4u;
  let i = r % Tp;
  if (i >= p.T) { return vec2<f32>(0.0, 0.0); }
  let last = p.pos0 + i;
  let nValid = last / 4u + 1u;
  let nTile = (p.pos0 + min(i | 3u, p.T - 1u)) / 4u + 1u;
  let base = r * (p.tk / 4u);
  let lane = vec4<u32>(0u, 1u, 2u, 3u);
  var m = NEG_MAX;
  for (var c = 0u; c < nValid; c++) {
    let x = select(vec4<f32>(NEG_MAX), scores[base + c], vec4<u32>(4u * c) + lane <= vec4<u32>(last));
    m = max(m, max(max(x.x, x.y), max(x.z, x.w)));
  }
  var l = 0.0;
  for (var c = 0u; c < nTile; c++) {
    let e = select(vec4<f32>(0.0), exp(scores[base + c] - m), vec4<u32>(4u * c) + lane <= vec4<u32>(last));
    l += (e.x + e.y) + (e.z + e.w);
    scores[base + c] = e;
  }
  rowInv[r] = 1.0 / l;
  return vec2<f32>(m, l);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.nb * p.nHeads * ((p.T + 3u) / 4u * 4u)) { return; }
  _ = softmaxRow(r);
}

@compute @workgroup_size(WG)
fn main_lse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  let Tp = (p.T + 3u) / 4u * 4u;
  if (r >= p.nb * p.nHeads * Tp) { return; }
  let ml = softmaxRow(r);
  let i = r % Tp;
  if (i >= p.T) { return; }
  let z = r / Tp;
  let b = p.b0 + z / p.nHeads;
  lse[(b * p.T + i) * p.nHeads + z % p.nHeads] = ml.x + log(ml.y);
}
