// Causal GQA attention backward, query side (dq and D), barrier-free, any head dim
// (≤ 256, private arrays): one invocation per query row.
//   Training case of shaders/attention.fwd*.wgsl: pos0 = 0, S = T. For batch b, query i, head h with
//   kv head g = h / group, keys j = 0 .. i of batch b, scale = 1/sqrt(hd):
//     P_ij = exp(q_i·k_j·scale − lse_i)            (P recomputed from the forward's logsumexp)
//     D_i  = Σ_d dout_i·out_i                       (= Σ_j P_ij dP_ij, the softmax-Jacobian term)
//     dP_ij = dout_i·v_j,  dS_ij = P_ij (dP_ij − D_i)
//     dq_i = scale · Σ_j dS_ij k_j                  (S_ij = scale·q_i·k_j)
//   q, out, dout, dq: (B·T, nHeads·hd); k, v: (B·T, nKvHeads·hd); lse, delta: (B·T·nHeads), index
//   w = (b·T + i)·nHeads + h. dq is overwritten; delta[w] = D_i is written for the key-side kernel
//   (shaders/attention.bwd.dkv.row*.wgsl), which must run after this one.
// Dispatch: groups1d(B·T·nHeads, WG), invocation w walks keys 0..i with a private hd-accumulator
//   (hd ≤ MAXD). For adapters where workgroup barriers are expensive (SwiftShader), used there only when
//   hd > 64 or hd % 4 ≠ 0: SwiftShader turns dynamically indexed private arrays into per-lane memory
//   gathers, so the register-blocked shaders/attention.bwd.dq.row.wgsl is ~3–4× faster where it applies.
//   shaders/attention.bwd.dq.wgsl is the workgroup form for GPUs.
// Reference: src/reference/llama-grads.ts attentionBackwardRef (dq).
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
const MAXD = 256u;

struct Params { B: u32, T: u32, nHeads: u32, nKvHeads: u32, hd: u32, group: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> out: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> dout: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(8) var<storage, read_write> delta: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * WG;
  if (w >= p.B * p.T * p.nHeads) { return; }
  let h = w % p.nHeads;
  let bt = w / p.nHeads;
  let b = bt / p.T;
  let i = bt - b * p.T;
  let qBase = bt * p.nHeads * p.hd + h * p.hd;
  let kvStride = p.nKvHeads * p.hd;
  let kvBase = b * p.T * kvStride + (h / p.group) * p.hd;

  var Di = 0.0;
  for (var d = 0u; d < p.hd; d++) { Di += dout[qBase + d] * out[qBase + d]; }
  let L = lse[w];
  var acc: array<f32, MAXD>; // zero-initialised
  for (var j = 0u; j <= i; j++) {
    let row = kvBase + j * kvStride;
    var s = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < p.hd; d++) {
      s += q[qBase + d] * k[row + d];
      dp += dout[qBase + d] * v[row + d];
    }
    let pij = exp(s * p.scale - L);
    let ds = pij * (dp - Di);
    for (var d = 0u; d < p.hd; d++) { acc[d] += ds * k[row + d]; }
  }
  for (var d = 0u; d < p.hd; d++) { dq[qBase + d] = acc[d] * p.scale; }
  delta[w] = Di;
}
