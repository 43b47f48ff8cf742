// Causal GQA attention backward, key side (dk, dv): one workgroup per (key row, kv head) (GPUs).
//   Training case (pos0 = 0, S = T). For batch b, key j, kv head g, the query heads h = g·group + hh
//   (hh < group) and queries i = j .. T−1 of batch b, with P_ij = exp(q_i·k_j·scale − lse_i),
//   dP_ij = dout_i·v_j, dS_ij = P_ij (dP_ij − D_i) (D_i from shaders/attention.bwd.dq.wgsl):
//     dv_j = Σ_{h, i} P_ij dout_i                 (out_i = Σ_j P_ij v_j)
//     dk_j = scale · Σ_{h, i} dS_ij q_i            (S_ij = scale·q_i·k_j)
//   The sum over the group's query heads is done here in a fixed order: no atomics.
//   q, dout: (B·T, nHeads·hd); k, v, dk, dv: (B·T, nKvHeads·hd); lse, delta: (B·T·nHeads), index
//   (b·T + i)·nHeads + h. dk and dv are overwritten.
// Dispatch: one workgroup of WG invocations per (b·T + j)·nKvHeads + g, folded into (x, y) with
//   num_workgroups past 65535. k_j and v_j are staged in workgroup memory. The n = (T − j)·group
//   (query, head) items e = (i − j)·group + hh go in blocks of WG: invocation lid computes P and dS of
//   item e0 + lid into workgroup memory, then accumulates Σ_e P_e·dout_e and Σ_e dS_e·q_e for its own
//   columns d ≡ lid (mod WG) (hd ≤ WG·DPT). Two barriers per block.
//   Barrier-free variant for CPU adapters (SwiftShader): shaders/attention.bwd.dkv.row.wgsl.
// Reference: src/reference/llama-grads.ts attentionBackwardRef (dk, dv).
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
const DPT = 4u; // output columns per invocation: hd ≤ WG·DPT

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

var<workgroup> ks: array<f32, WG * DPT>;
var<workgroup> vs: array<f32, WG * DPT>;
var<workgroup> ps: array<f32, WG>;   // P of the current block's items
var<workgroup> dss: array<f32, WG>;  // dS of the current block's items

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= p.B * p.T * p.nKvHeads) { return; } // uniform across the workgroup
  let g = w % p.nKvHeads;
  let bj = w / p.nKvHeads;
  let b = bj / p.T;
  let j = bj - b * p.T;
  let kvBase = w * p.hd;
  let n = (p.T - j) * p.group;                   // items (i, hh), i = j .. T−1

  for (var d = lid; d < p.hd; d += WG) {
    ks[d] = k[kvBase + d];
    vs[d] = v[kvBase + d];
  }
  workgroupBarrier();

  var dkAcc: array<f32, DPT>; // zero-initialised
  var dvAcc: array<f32, DPT>;
  for (var e0 = 0u; e0 < n; e0 += WG) {
    let e = e0 + lid;
    var pe = 0.0;
    var dse = 0.0;
    if (e < n) {
      let wi = (b * p.T + j + e / p.group) * p.nHeads + g * p.group + e % p.group;
      let qBase = wi * p.hd;
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < p.hd; d++) {
        s += q[qBase + d] * ks[d];
        dp += dout[qBase + d] * vs[d];
      }
      pe = exp(s * p.scale - lse[wi]);
      dse = pe * (dp - delta[wi]);
    }
    ps[lid] = pe;
    dss[lid] = dse;
    workgroupBarrier();
    let count = min(WG, n - e0);
    for (var ee = 0u; ee < count; ee++) {
      let e1 = e0 + ee;
      let qBase = ((b * p.T + j + e1 / p.group) * p.nHeads + g * p.group + e1 % p.group) * p.hd;
      let pj = ps[ee];
      let dsj = dss[ee];
      for (var c = 0u; c < DPT; c++) {
        let d = lid + c * WG;
        if (d < p.hd) {
          dvAcc[c] += pj * dout[qBase + d];
          dkAcc[c] += dsj * q[qBase + d];
        }
      }
    }
    workgroupBarrier(); // every read of ps / dss is done before the next block overwrites them
  }
  for (var c = 0u; c < DPT; c++) {
    let d = lid + c * WG;
    if (d < p.hd) {
      dk[kvBase + d] = dkAcc[c] * p.scale;
      dv[kvBase + d] = dvAcc[c];
    }
  }
}
