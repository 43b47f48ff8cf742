// Rotary position embedding, Hugging Face rotate-half layout, in place.
//   For row (b, t) at position pos = pos0 + t, head h, pair i < H = hd/2, with angle a = pos·θ_i:
//     (x_i, x_{i+H}) ← (x_i·cos a − x_{i+H}·sin a,  x_{i+H}·cos a + x_i·sin a)
//   and with sgn = −1 (inverse, used by backward) the rotation by −a.
//   x: (B·T, nHeads·hd), rotated in place (bound only as the output).
//   cs: (P, H, 2) interleaved (cos a, sin a) for positions 0..P−1, P ≥ pos0 + T, built on the CPU in the
//     llama2.c arithmetic: θ_i = 1 / powf(theta, f32(2i)/f32(hd)), a = f32(pos)·θ_i in f32, then
//     cos/sin of that f32 angle rounded to f32 (see src/kernels/rope.ts ropeTable). Keeping the big
//     angles (up to ~pos) off the GPU's sin/cos avoids their weak range reduction.
// Dispatch: groups1d(B·T·nHeads·H, WG) — one invocation per rotated pair.
// Reference: src/reference/llama-ops.ts ropeRef (angles: 'f32').
override WG: u32 = 256u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { rows: u32, T: u32, nHeads: u32, half: u32, pos0: u32, sgn: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> cs: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = gid.x + gid.y * nwg.x * WG;
  let pairsPerRow = p.nHeads * p.half;
  if (n >= p.rows * pairsPerRow) { return; }
  let row = n / pairsPerRow;
  let rem = n - row * pairsPerRow;
  let h = rem / p.half;
  let i = rem - h * p.half;
  let pos = p.pos0 + row % p.T;
  let c = cs[pos * p.half + i];
  let s = p.sgn * c.y;
  let j0 = row * pairsPerRow * 2u + h * p.half * 2u + i;
  let j1 = j0 + p.half;
  let x0 = x[j0];
  let x1 = x[j1];
  x[j0] = x0 * c.x - x1 * s;
  x[j1] = x1 * c.x + x0 * s;
}
