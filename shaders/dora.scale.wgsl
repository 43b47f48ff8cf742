// DoRA output scaling by the magnitude over the (detached) row norm, per output column j:
//   y[i, j] = (y[i, j] if ACCUMULATE else 0) + (m[j] / n[j]) · z[i, j],   z, y (rows, out); m, n (out).
// Without dropout y = (m/n) ⊙ z with z = x·Wᵀ + s·(x·Aᵀ)·Bᵀ; with dropout the caller has put
// (x − drop(x))·Wᵀ in y and accumulates (src/adapters/dora.ts).
// Elementwise, one invocation per element. Dispatch: groups1d(rows·out, WG).
// Reference: src/reference/dora.ts doraForwardRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
override ACCUMULATE: bool = false;

struct Params { total: u32, out: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> m: array<f32>;
@group(0) @binding(3) var<storage, read> n: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (e >= p.total) { return; }
  let j = e % p.out;
  let v = (m[j] / n[j]) * z[e];
  if (ACCUMULATE) { y[e] += v; } else { y[e] = v; }
}
