// Causal grouped-query attention over a KV cache, online softmax (one pass over the keys).
//   For batch b, query t (position pos0 + t), head h with kv head g = h / (nHeads / nKvHeads):
//     z_s = (q[b·T + t, h] · k[b·S + s, g]) · scale,  s = 0 .. pos0 + t,  scale = 1/sqrt(hd)
//     out[b·T + t, h] = Σ_s softmax(z)_s · v[b·S + s, g],   lse[(b·T + t)·nHeads + h] = log Σ_s exp(z_s)
//   q, out: (B·T, nHeads·hd); k, v: (B·S, nKvHeads·hd) with S ≥ pos0 + T; lse: (B·T·nHeads), entry main_lse only.
// Dispatch: one workgroup of WG invocations per (b, t, h) — index (b·T + t)·nHeads + h, folded into (x, y)
//   with num_workgroups past 65535. The keys go in blocks of WG: invocation j scores key s0 + j
//   (q is staged in workgroup memory), every invocation takes the block max from workgroup memory,
//   rescales its running sum and accumulators (flash-attention style), and accumulates
//   Σ_j p_j·v[s0 + j, d] for its own columns d ≡ lid (mod WG) (hd ≤ WG·DPT). Two barriers per block.
//   Barrier-free variant for CPU adapters (SwiftShader): shaders/attention.fwd.row.wgsl.
// Reference: src/reference/llama-ops.ts attentionRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
const DPT = 4u; // output columns per invocation: hd ≤ WG·DPT
const LOWEST = -3.0e38;  // a finite "minus infinity"

struct Params {
  B: u32, T: u32, S: u32, nHeads: u32, nKvHeads: u32, hd: u32, pos0: u32, group: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

var<workgroup> qs: array<f32, WG * DPT>;
var<workgroup> zs: array<f32, WG>;  // scores of the current block
var<workgroup> ps: array<f32, WG>;  // exp(z − running max) of the current block

// Attend for workgroup `w` = (b·T + t)·nHeads + h; writes out and returns (max z, Σ exp(z − max)).
fn attend(w: u32, lid: u32) -> vec2<f32> {
  let h = w % p.nHeads;
  let bt = w / p.nHeads;
  let b = bt / p.T;
  let t = bt - b * p.T;
  let n = p.pos0 + t + 1u;                       // keys 0 .. pos0 + t
  let qBase = bt * p.nHeads * p.hd + h * p.hd;
  let kvStride = p.nKvHeads * p.hd;
  let kvBase = b * p.S * kvStride + (h / p.group) * p.hd;

  for (var d = lid; d < p.hd; d += WG) { qs[d] = q[qBase + d]; }
  workgroupBarrier();

  var m = LOWEST;
  var l = 0.0;
  var acc: array<f32, DPT>; // zero-initialised
  for (var s0 = 0u; s0 < n; s0 += WG) {
    // scores of keys s0 .. s0 + WG − 1 (past the causal edge: LOWEST)
    let s = s0 + lid;
    var z = LOWEST;
    if (s < n) {
      let kRow = kvBase + s * kvStride;
      var dot = 0.0;
      for (var d = 0u; d < p.hd; d++) { dot += qs[d] * k[kRow + d]; }
      z = dot * p.scale;
    }
    zs[lid] = z;
    workgroupBarrier();
    var mNew = m;
    for (var j = 0u; j < WG; j++) { mNew = max(mNew, zs[j]); }
    let corr = select(exp(m - mNew), 0.0, s0 == 0u);
    ps[lid] = select(0.0, exp(z - mNew), s < n);
    workgroupBarrier();
    // the next block's writes to zs / ps come after its first barrier, when every read here is done
    l *= corr;
    for (var c = 0u; c < DPT; c++) { acc[c] *= corr; }
    let count = min(WG, n - s0);
    for (var j = 0u; j < count; j++) {
      let pj = ps[j];
      l += pj;
      let vRow = kvBase + (s0 + j) * kvStride;
      for (var c = 0u; c < DPT; c++) {
        let d = lid + c * WG;
        if (d < p.hd) { acc[c] += pj * v[vRow + d]; }
      }
    }
    m = mNew;
  }
  let inv = 1.0 / l;
  for (var c = 0u; c < DPT; c++) {
    let d = lid + c * WG;
    if (d < p.hd) { out[qBase + d] = acc[c] * inv; }
  }
  return vec2<f32>(m, l);
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= p.B * p.T * p.nHeads) { return; } // uniform across the workgroup
  _ = attend(w, lid);
}

// Same, also writing the per-row logsumexp for backward.
@compute @workgroup_size(WG)
fn main_lse(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= p.B * p.T * p.nHeads) { return; }
  let ml = attend(w, lid);
  if (lid == 0u) { lse[w] = ml.x + log(ml.y); }
}
