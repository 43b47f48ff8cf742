// Causal GQA attention backward, query side (dq and D): one workgroup per query row (GPUs).
//   Training case of shaders/attention.fwd*.wgsl: pos0 = 0, S = T. For batch b, query i, head h with
//   kv head g = h / group, keys j = 0 .. i of batch b, scale = 1/sqrt(hd):
//     P_ij = exp(q_i·k_j·scale − lse_i)            (P recomputed from the forward's logsumexp)
//     D_i  = Σ_d dout_i·out_i                       (= Σ_j P_ij dP_ij, the softmax-Jacobian term)
//     dP_ij = dout_i·v_j,  dS_ij = P_ij (dP_ij − D_i)
//     dq_i = scale · Σ_j dS_ij k_j                  (S_ij = scale·q_i·k_j)
//   q, out, dout, dq: (B·T, nHeads·hd); k, v: (B·T, nKvHeads·hd); lse, delta: (B·T·nHeads), index
//   w = (b·T + i)·nHeads + h. dq is overwritten; delta[w] = D_i is written for the key-side kernel
//   (shaders/attention.bwd.dkv.wgsl), which must run after this one.
// Dispatch: one workgroup of WG invocations per w, folded into (x, y) with num_workgroups past 65535.
//   q_i and dout_i are staged in workgroup memory; every invocation forms D_i from them in the same order.
//   Keys go in blocks of WG: invocation lid computes dS for key j0 + lid into workgroup memory, then
//   accumulates Σ_j dS_j·k_j for its own columns d ≡ lid (mod WG) (hd ≤ WG·DPT). Two barriers per block.
//   Barrier-free variant for CPU adapters (SwiftShader): shaders/attention.bwd.dq.row.wgsl.
// Reference: src/reference/llama-grads.ts attentionBackwardRef (dq).
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
const DPT = 4u; // output columns per invocation: hd ≤ WG·DPT

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

var<workgroup> qs: array<f32, WG * DPT>;
var<workgroup> dos: array<f32, WG * DPT>;
var<workgroup> dss: array<f32, WG>; // dS of the current key block

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= p.B * p.T * p.nHeads) { return; } // uniform across the workgroup
  let h = w % p.nHeads;
  let bt = w / p.nHeads;
  let b = bt / p.T;
  let i = bt - b * p.T;
  let n = i + 1u;                                // keys 0 .. i
  let qBase = w * p.hd;
  let kvStride = p.nKvHeads * p.hd;
  let kvBase = b * p.T * kvStride + (h / p.group) * p.hd;

  for (var d = lid; d < p.hd; d += WG) {
    qs[d] = q[qBase + d];
    dos[d] = dout[qBase + d];
  }
  workgroupBarrier();
  var Di = 0.0;
  for (var d = 0u; d < p.hd; d++) { Di += dos[d] * out[qBase + d]; }
  let L = lse[w];

  var acc: array<f32, DPT>; // zero-initialised
  for (var j0 = 0u; j0 < n; j0 += WG) {
    let j = j0 + lid;
    var ds = 0.0;
    if (j < n) {
      let row = kvBase + j * kvStride;
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < p.hd; d++) {
        s += qs[d] * k[row + d];
        dp += dos[d] * v[row + d];
      }
      ds = exp(s * p.scale - L) * (dp - Di);
    }
    dss[lid] = ds;
    workgroupBarrier();
    let count = min(WG, n - j0);
    for (var jj = 0u; jj < count; jj++) {
      let dsj = dss[jj];
      let row = kvBase + (j0 + jj) * kvStride;
      for (var c = 0u; c < DPT; c++) {
        let d = lid + c * WG;
        if (d < p.hd) { acc[c] += dsj * k[row + d]; }
      }
    }
    workgroupBarrier(); // every read of dss is done before the next block overwrites it
  }
  for (var c = 0u; c < DPT; c++) {
    let d = lid + c * WG;
    if (d < p.hd) { dq[qBase + d] = acc[c] * p.scale; }
  }
  if (lid == 0u) { delta[w] = Di; }
}
