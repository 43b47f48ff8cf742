// Inverted dropout with a counter-based hash, so backward regenerates the same mask without storing it.
//   keep(i) = hash(seed, i) ≥ p·2³²;  forward  out[i] = x[i] · keep(i) / (1 − p)
//   backward (entry point `backward`):   dx[i] += g[i] · keep(i) / (1 − p)
// Shapes: any length n. Dispatch: groups1d(n, WG), flattened with num_workgroups.
// Reference: src/reference/ops.ts dropoutRef.
override WG: u32 = 256u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { n: u32, seed: u32, threshold: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

/** A 32-bit integer hash (lowbias32 by Chris Wellons), applied to the index mixed with the seed. */
fn hash(i: u32) -> u32 {
  var h = i ^ (p.seed * 0x9e3779b9u);
  h ^= h >> 16u; h *= 0x21f0aaadu;
  h ^= h >> 15u; h *= 0x735a2d97u;
  h ^= h >> 15u;
  return h;
}

fn index(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid.x;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(wid, lid, nwg);
  if (i >= p.n) { return; }
  out[i] = select(0.0, x[i] * p.scale, hash(i) >= p.threshold);
}

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(wid, lid, nwg);
  if (i >= p.n) { return; }
  out[i] += select(0.0, x[i] * p.scale, hash(i) >= p.threshold);
}
