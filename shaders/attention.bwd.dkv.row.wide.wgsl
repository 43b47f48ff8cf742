// Causal GQA attention backward, key side (dk, dv), barrier-free, any head dim
// (≤ 256, private arrays): one invocation per (key row, kv head).
//   Training case (pos0 = 0, S = T). For batch b, key j, kv head g, the query heads h = g·group + hh
//   (hh < group) and queries i = j .. T−1 of batch b, with P_ij = exp(q_i·k_j·scale − lse_i),
//   dP_ij = dout_i·v_j, dS_ij = P_ij (dP_ij − D_i) (D_i from shaders/attention.bwd.dq.row*.wgsl):
//     dv_j = Σ_{h, i} P_ij dout_i                 (out_i = Σ_j P_ij v_j)
//     dk_j = scale · Σ_{h, i} dS_ij q_i            (S_ij = scale·q_i·k_j)
//   The sum over the group's query heads is done here in a fixed order (i outer, h inner): no atomics.
//   q, dout: (B·T, nHeads·hd); k, v, dk, dv: (B·T, nKvHeads·hd); lse, delta: (B·T·nHeads), index
//   (b·T + i)·nHeads + h. dk and dv are overwritten.
// Dispatch: groups1d(B·T·nKvHeads, WG), invocation (b·T + j)·nKvHeads + g, two private hd-accumulators
//   (hd ≤ MAXD). For adapters where workgroup barriers are expensive (SwiftShader), used there only when
//   hd > 64 or hd % 4 ≠ 0: SwiftShader turns dynamically indexed private arrays into per-lane memory
//   gathers, so the register-blocked shaders/attention.bwd.dkv.row.wgsl is ~3–4× faster where it applies.
//   shaders/attention.bwd.dkv.wgsl is the workgroup form for GPUs.
// Reference: src/reference/llama-grads.ts attentionBackwardRef (dk, dv).
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
const MAXD = 256u;

struct Params { B: u32, T: u32, nHeads: u32, nKvHeads: u32, hd: u32, group: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> delta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * WG;
  if (w >= p.B * p.T * p.nKvHeads) { return; }
  let g = w % p.nKvHeads;
  let bj = w / p.nKvHeads;
  let b = bj / p.T;
  let j = bj - b * p.T;
  let kvBase = bj * p.nKvHeads * p.hd + g * p.hd;

  var dkAcc: array<f32, MAXD>; // zero-initialised
  var dvAcc: array<f32, MAXD>;
  for (var i = j; i < p.T; i++) {
    for (var hh = 0u; hh < p.group; hh++) {
      let h = g * p.group + hh;
      let wi = (b * p.T + i) * p.nHeads + h;
      let qBase = wi * p.hd;
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < p.hd; d++) {
        s += q[qBase + d] * k[kvBase + d];
        dp += dout[qBase + d] * v[kvBase + d];
      }
      let pij = exp(s * p.scale - lse[wi]);
      let ds = pij * (dp - delta[wi]);
      for (var d = 0u; d < p.hd; d++) {
        dvAcc[d] += pij * dout[qBase + d];
        dkAcc[d] += ds * q[qBase + d];
      }
    }
  }
  for (var d = 0u; d < p.hd; d++) {
    dk[kvBase + d] = dkAcc[d] * p.scale;
    dv[kvBase + d] = dvAcc[d];
  }
}
