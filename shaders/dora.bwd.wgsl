// DoRA backward through the scaling y = (m/n) ⊙ z with n detached (a constant), per output column j:
//   dz[i, j] = dy[i, j] · m[j] / n[j]                       (rows, out)
//   dm[j]   += Σ_i dy[i, j] · z[i, j] / n[j]                (out), accumulated over micro-batches
// dy, z (rows, out); m, n (out). One invocation per column j loops over the rows: a column reduction
// without barriers or atomics (deterministic). Dispatch: groups1d(out, WG).
// Reference: src/reference/dora.ts doraBackwardRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { rows: u32, out: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> z: array<f32>;
@group(0) @binding(3) var<storage, read> m: array<f32>;
@group(0) @binding(4) var<storage, read> n: array<f32>;
@group(0) @binding(5) var<storage, read_write> dz: array<f32>;
@group(0) @binding(6) var<storage, read_write> dm: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (j >= p.out) { return; }
  let inv = 1.0 / n[j];
  let g = m[j] * inv;
  var acc = 0.0;
  for (var i = 0u; i < p.rows; i++) {
    let e = i * p.out + j;
    let d = dy[e];
    dz[e] = d * g;
    acc += d * z[e];
  }
  dm[j] += acc * inv;
}
