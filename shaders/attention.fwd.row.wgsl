// Causal grouped-query attention over a KV cache, barrier-free variant: one invocation per (b, t, h)
// walking its keys with an online softmax.
//   For batch b, query t (position pos0 + t), head h with kv head g = h / (nHeads / nKvHeads):
//     z_s = (q[b·T + t, h] · k[b·S + s, g]) · scale,  s = 0 .. pos0 + t,  scale = 1/sqrt(hd)
//     out[b·T + t, h] = Σ_s softmax(z)_s · v[b·S + s, g],   lse[(b·T + t)·nHeads + h] = log Σ_s exp(z_s)
//   q, out: (B·T, nHeads·hd); k, v: (B·S, nKvHeads·hd) with S ≥ pos0 + T; lse: (B·T·nHeads), entry main_lse only.
//   Running max m, sum l and accumulator a (hd ≤ MAXD, private): for each key, if z > m the state is
//   rescaled by exp(m − z) and m = z; then p = exp(z − m), l += p, a += p·v_s. out = a / l.
// Dispatch: groups1d(B·T·nHeads, WG), invocation index (b·T + t)·nHeads + h. For adapters where
//   workgroup barriers are expensive (SwiftShader); shaders/attention.fwd.wgsl is the GPU form.
// Reference: src/reference/llama-ops.ts attentionRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
const MAXD = 256u;

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

// Attend for row w = (b·T + t)·nHeads + h; writes out and returns (max z, Σ exp(z − max)).
fn attend(w: u32) -> vec2<f32> {
  let h = w % p.nHeads;
  let bt = w / p.nHeads;
  let b = bt / p.T;
  let t = bt - b * p.T;
  let n = p.pos0 + t + 1u;                       // keys 0 .. pos0 + t
  let qBase = bt * p.nHeads * p.hd + h * p.hd;
  let kvStride = p.nKvHeads * p.hd;
  let kvBase = b * p.S * kvStride + (h / p.group) * p.hd;

  var acc: array<f32, MAXD>; // zero-initialised
  var m = 0.0;
  var l = 0.0;
  for (var s = 0u; s < n; s++) {
    let row = kvBase + s * kvStride;
    var dot = 0.0;
    for (var d = 0u; d < p.hd; d++) { dot += q[qBase + d] * k[row + d]; }
    let z = dot * p.scale;
    if (s == 0u) {
      m = z;
    } else if (z > m) {
      let corr = exp(m - z);
      l *= corr;
      for (var d = 0u; d < p.hd; d++) { acc[d] *= corr; }
      m = z;
    }
    let pz = exp(z - m);
    l += pz;
    for (var d = 0u; d < p.hd; d++) { acc[d] += pz * v[row + d]; }
  }
  let inv = 1.0 / l;
  for (var d = 0u; d < p.hd; d++) { out[qBase + d] = acc[d] * inv; }
  return vec2<f32>(m, l);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * WG;
  if (w >= p.B * p.T * p.nHeads) { return; }
  _ = attend(w);
}

// Same, also writing the per-row logsumexp for backward.
@compute @workgroup_size(WG)
fn main_lse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * WG;
  if (w >= p.B * p.T * p.nHeads) { return; }
  let ml = attend(w);
  lse[w] = ml.x + log(ml.y);
}
