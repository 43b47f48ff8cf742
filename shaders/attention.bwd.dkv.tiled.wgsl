// Causal GQA attention backward, tiled variant, stage 4 of 4: dk and dv for 4 keys × 4 head dims.
//   For batch b, kv head g, key j, dims d..d+3, summed over the group's heads h = g·group + hh and
//   queries i ≥ j (z = (b − b0)·nHeads + h):
//     dv[b·T + j, g, d..] = Σ_{hh, i} P[z, i, j] · dout[b·T + i, h, d..]
//     dk[b·T + j, g, d..] = scale · Σ_{hh, i} dS[z, i, j] · q[b·T + i, h, d..]
//   P, dS (zero past the diagonal and on padding rows) from shaders/attention.bwd.ds.wgsl; each sum runs
//   in a fixed order (head outer, queries inner): deterministic, no atomics.
//   P, dS: (nb·nHeads, Tp, Tp); q, dout: (B·T, nHeads·hd); dk, dv: (B·T, nKvHeads·hd), all as vec4.
//   dk and dv are overwritten.
// Dispatch: groups1d(nb·nKvHeads · (Tp/4) · (hd/4), WG); invocation ((b − b0)·nKvHeads + g)·(Tp/4)·(hd/4)
//   + jt·(hd/4) + dt walks the queries 4 at a time from the key tile's diagonal, twice: 4 vec4 loads of
//   P and 4 of dout feed 64 multiply-adds for dv, then the same with dS and q for dk. No barriers.
// Reference: src/reference/llama-grads.ts attentionBackwardRef (dk, dv).
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { B: u32, T: u32, nHeads: u32, nKvHeads: u32, hd: u32, group: u32, scale: f32, b0: u32, nb: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> P: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dS: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> dv: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let hd4 = p.hd / 4u;
  let nt = (p.T + 3u) / 4u;
  let dt = idx % hd4;
  let jt = (idx / hd4) % nt;
  let zk = idx / hd4 / nt;
  if (zk >= p.nb * p.nKvHeads) { return; }
  let g = zk % p.nKvHeads;
  let bb = zk / p.nKvHeads;  // batch row within the chunk
  let b = p.b0 + bb;
  let last = p.T - 1u;
  let qStride = p.nHeads * hd4;

  // dvAcc[c] = Σ P[i, j0 + c] · dout[i, dims],  dkAcc[c] = Σ dS[i, j0 + c] · q[i, dims]
  var dvAcc = mat4x4<f32>();
  var dkAcc = mat4x4<f32>();
  // dv, then dk: two loops rather than one (with both products live SwiftShader spills, ~1.3× slower).
  for (var hh = 0u; hh < p.group; hh++) {
    let h = g * p.group + hh;
    let z = bb * p.nHeads + h;
    let qBase = b * p.T * qStride + h * hd4 + dt;
    for (var it = jt; it < nt; it++) {
      let i0 = it * 4u;
      let s0 = (z * nt * 4u + i0) * nt + jt;
      let pm = mat4x4<f32>(P[s0], P[s0 + nt], P[s0 + 2u * nt], P[s0 + 3u * nt]);
      let r0 = qBase + i0 * qStride;
      let r1 = qBase + min(i0 + 1u, last) * qStride;
      let r2 = qBase + min(i0 + 2u, last) * qStride;
      let r3 = qBase + min(i0 + 3u, last) * qStride;
      let dom = mat4x4<f32>(dout[r0], dout[r1], dout[r2], dout[r3]);
      dvAcc += dom * transpose(pm);
    }
  }
  for (var hh = 0u; hh < p.group; hh++) {
    let h = g * p.group + hh;
    let z = bb * p.nHeads + h;
    let qBase = b * p.T * qStride + h * hd4 + dt;
    for (var it = jt; it < nt; it++) {
      let i0 = it * 4u;
      let s0 = (z * nt * 4u + i0) * nt + jt;
      let sm = mat4x4<f32>(dS[s0], dS[s0 + nt], dS[s0 + 2u * nt], dS[s0 + 3u * nt]);
      let r0 = qBase + i0 * qStride;
      let r1 = qBase + min(i0 + 1u, last) * qStride;
      let r2 = qBase + min(i0 + 2u, last) * qStride;
      let r3 = qBase + min(i0 + 3u, last) * qStride;
      let qm = mat4x4<f32>(q[r0], q[r1], q[r2], q[r3]);
      dkAcc += qm * transpose(sm);
    }
  }
  let kStride = p.nKvHeads * hd4;
  let j0 = jt * 4u;
  let o = (b * p.T + j0) * kStride + g * hd4 + dt;
  dk[o] = dkAcc[0] * p.scale;
  dv[o] = dvAcc[0];
  if (j0 + 1u < p.T) { dk[o + kStride] = dkAcc[1] * p.scale; dv[o + kStride] = dvAcc[1]; }
  if (j0 + 2u < p.T) { dk[o + 2u * kStride] = dkAcc[2] * p.scale; dv[o + 2u * kStride] = dvAcc[2]; }
  if (j0 + 3u < p.T) { dk[o + 3u * kStride] = dkAcc[3] * p.scale; dv[o + 3u * kStride] = dvAcc[3]; }
}
