// MoRA forward, fused apply + decompress:  y (+)= decompress(M · u), without forming ΔW.
//   u (rows·nU, r̂): the compressed input as rows·nU chunks (mora.compress.wgsl); M (r̂, r̂) row-major.
//   z[R, k] = Σ_m M[k, m]·u[R, m]  per chunk, in registers (never stored);
//   chunk R = row·nU + i lands at f = i·r̂ + k of the row's width W = nU·r̂, and y tiles z:
//       y[row, j] (+)= z[row, j mod W]  for j < out,  i.e. j = f, f + W, f + 2W, ... < out.
//   Every y element has exactly one f, so each is written by one invocation: no atomics, no races.
//   With ACCUMULATE the MoRA branch is added to y (the base x·Wᵀ from the matmul), else y is overwritten.
// Each invocation computes a 4×4 block of z (4 chunks × 4 k) looping over m; no workgroup memory.
// Dispatch: (ceil(r̂ / (4·WGX)), ceil(rows·nU / (4·WGY))) from the uniforms; workgroup WGX×WGY (8×8),
//   each invocation a 4×4 block.
// Reference: src/reference/mora.ts moraApplyRef + moraDecompressRef.
override ACCUMULATE: bool = true;
override WGX: u32 = 8u; // workgroup size; the kernel spec (src/kernels/mora.ts) sets it
override WGY: u32 = 8u; //   and derives the dispatch from the uniforms

struct Params { chunks: u32, rHat: u32, nU: u32, out: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read> M: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

/** z[ri[a], ki[b]] for a 4×4 block; `acc` is only indexed by constants, so it stays in registers. */
fn block(ri: vec4<u32>, ki: vec4<u32>) -> array<vec4<f32>, 4> {
  let n = p.rHat;
  var acc: array<vec4<f32>, 4>;
  for (var m = 0u; m < n; m++) {
    let mk = vec4<f32>(M[ki.x * n + m], M[ki.y * n + m], M[ki.z * n + m], M[ki.w * n + m]);
    acc[0] += u[ri.x * n + m] * mk;
    acc[1] += u[ri.y * n + m] * mk;
    acc[2] += u[ri.z * n + m] * mk;
    acc[3] += u[ri.w * n + m] * mk;
  }
  return acc;
}

/** Decompress one chunk's 4 values z[R, k0 .. k0+3] into y (tiled, truncated at out). */
fn storeChunk(R: u32, k0: u32, z: vec4<f32>) {
  if (R >= p.chunks) { return; }
  let n = p.rHat;
  let width = p.nU * n;
  let row = R / p.nU;
  let fBase = (R - row * p.nU) * n;
  for (var b = 0u; b < 4u; b++) {
    let k = k0 + b;
    if (k >= n) { return; }
    for (var j = fBase + k; j < p.out; j += width) {
      let idx = row * p.out + j;
      if (ACCUMULATE) { y[idx] += z[b]; } else { y[idx] = z[b]; }
    }
  }
}

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = p.rHat;
  let r0 = gid.y * 4u; // first chunk
  let k0 = gid.x * 4u; // first output index within the chunk
  if (r0 >= p.chunks || k0 >= n) { return; }
  // Chunks / k past the edge are clamped: computed, never stored.
  let ri = vec4<u32>(r0, min(r0 + 1u, p.chunks - 1u), min(r0 + 2u, p.chunks - 1u), min(r0 + 3u, p.chunks - 1u));
  let ki = vec4<u32>(k0, min(k0 + 1u, n - 1u), min(k0 + 2u, n - 1u), min(k0 + 3u, n - 1u));
  let z = block(ri, ki);
  storeChunk(r0, k0, z[0]);
  storeChunk(r0 + 1u, k0, z[1]);
  storeChunk(r0 + 2u, k0, z[2]);
  storeChunk(r0 + 3u, k0, z[3]);
}
