// Causal GQA attention backward, tiled variant, stage 2 of 4: P and dS for a 4×4 (query, key) tile.
//   Training case (pos0 = 0, S = T). For batch b, head h (kv head g = h / group), query i, key j ≤ i:
//     P_ij  = exp(scale · q_i·k_j − lse_i)              (the forward's softmax, from its logsumexp)
//     dS_ij = P_ij (dout_i·v_j − D_i)                    (D_i from shaders/attention.bwd.delta.wgsl)
//   and P_ij = dS_ij = 0 for j > i and for padding rows i ≥ T, so later stages read whole tiles.
//   q, dout: (B·T, nHeads·hd); k, v: (B·T, nKvHeads·hd), read as vec4 (hd % 4 == 0);
//   lse, delta: (B·T·nHeads), index (b·T + i)·nHeads + h;
//   P, dS: (nb·nHeads, Tp, Tp) scratch, z = (b − b0)·nHeads + h, Tp = ceil(T/4)·4.
// Batch rows b0 .. b0 + nb − 1 only (the wrapper chunks the batch to bound the scratch).
// Dispatch: groups1d(nb·nHeads · (Tp/4)², WG); invocation (z·(Tp/4) + it)·(Tp/4) + jt owns queries
//   4it .. 4it+3 and keys 4jt .. 4jt+3 (tiles past the diagonal return at once); both dot products
//   step hd by 4 with 4 vec4 loads each of q, k, dout and v feeding 128 multiply-adds. No barriers.
// Reference: src/reference/llama-grads.ts attentionBackwardRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { B: u32, T: u32, nHeads: u32, nKvHeads: u32, hd: u32, group: u32, scale: f32, b0: u32, nb: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> delta: array<f32>;
@group(0) @binding(7) var<storage, read_write> P: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dS: array<vec4<f32>>;

// P and dS of query i (zero when i ≥ T or j > i) for keys j0 .. j0+3 at vec4 index o, from
// srow = q_i·k_j and dprow = dout_i·v_j. (Called with constant rows: a dynamically indexed matrix
// would turn into gathers on SwiftShader.)
fn storeRow(o: u32, b: u32, h: u32, i: u32, j0: u32, srow: vec4<f32>, dprow: vec4<f32>) {
  let w = (b * p.T + min(i, p.T - 1u)) * p.nHeads + h;
  let keep = (vec4<u32>(j0, j0 + 1u, j0 + 2u, j0 + 3u) <= vec4<u32>(i)) & vec4<bool>(i < p.T);
  let pr = select(vec4<f32>(0.0), exp(srow * p.scale - lse[w]), keep);
  P[o] = pr;
  dS[o] = pr * (dprow - delta[w]);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let nt = (p.T + 3u) / 4u;
  let jt = idx % nt;
  let it = (idx / nt) % nt;
  let z = idx / nt / nt;
  if (z >= p.nb * p.nHeads || jt > it) { return; }
  let h = z % p.nHeads;
  let b = p.b0 + z / p.nHeads;
  let i0 = it * 4u;
  let j0 = jt * 4u;
  let last = p.T - 1u;
  let hd4 = p.hd / 4u;
  let qStride = p.nHeads * hd4;
  let kStride = p.nKvHeads * hd4;
  let qBase = b * p.T * qStride + h * hd4;
  let q0 = qBase + i0 * qStride;
  let q1 = qBase + min(i0 + 1u, last) * qStride;
  let q2 = qBase + min(i0 + 2u, last) * qStride;
  let q3 = qBase + min(i0 + 3u, last) * qStride;
  let kBase = b * p.T * kStride + (h / p.group) * hd4;
  let k0 = kBase + j0 * kStride;
  let k1 = kBase + min(j0 + 1u, last) * kStride;
  let k2 = kBase + min(j0 + 2u, last) * kStride;
  let k3 = kBase + min(j0 + 3u, last) * kStride;

  // s[a][c] = q_{i0+a}·k_{j0+c},  dp[a][c] = dout_{i0+a}·v_{j0+c}
  var s = mat4x4<f32>();
  var dp = mat4x4<f32>();
  // Two loops rather than one: with both products live, SwiftShader spills and runs ~1.4× slower.
  for (var d = 0u; d < hd4; d++) {
    let qm = mat4x4<f32>(q[q0 + d], q[q1 + d], q[q2 + d], q[q3 + d]);
    let km = mat4x4<f32>(k[k0 + d], k[k1 + d], k[k2 + d], k[k3 + d]);
    s += transpose(km) * qm;
  }
  for (var d = 0u; d < hd4; d++) {
    let dom = mat4x4<f32>(dout[q0 + d], dout[q1 + d], dout[q2 + d], dout[q3 + d]);
    let vm = mat4x4<f32>(v[k0 + d], v[k1 + d], v[k2 + d], v[k3 + d]);
    dp += transpose(vm) * dom;
  }
  let o = (z * nt * 4u + i0) * nt + jt;
  storeRow(o, b, h, i0, j0, s[0], dp[0]);
  storeRow(o + nt, b, h, i0 + 1u, j0, s[1], dp[1]);
  storeRow(o + 2u * nt, b, h, i0 + 2u, j0, s[2], dp[2]);
  storeRow(o + 3u * nt, b, h, i0 + 3u, j0, s[3], dp[3]);
}
