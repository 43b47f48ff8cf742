// MoRA compression  u = compress(x), the first step of the forward (mora.fwd.wgsl applies M).
//   x (rows, in);  u (rows, W), W = nU·r̂: nU chunks of r̂ per row.
//   Padded input x̃_p = x[p mod in] (wrap-around padding, the official code's cat(x, x[:P])).
//   sharing (type 1, nU = 1), one invocation per (row, m < r̂):
//     u[row, m] = Σ_{t < nB} x̃[t·r̂ + m]                                         (nB = ⌈in/r̂⌉)
//   ROTATION (type 6), one invocation per (row, chunk i < nU, pair l < h), h = r̂/2, c = x̃[i·r̂ :]:
//     u[row, i, l]     = c[l]·cos(iθ_l) − c[l+h]·sin(iθ_l)
//     u[row, i, l + h] = c[l+h]·cos(iθ_l) + c[l]·sin(iθ_l)        θ_l = 10000^(−2l/r̂)
//     rot (nU, r̂) holds cos(iθ_l) for l < h then sin(iθ_l) (float64 on the host); sharing never reads it.
// No barriers, and next to no integer division (slow on SwiftShader): the row comes from the grid,
// the sharing loop steps p mod in by stepMod = r̂ mod in with one conditional subtraction.
// Dispatch: (ceil(r̂ / WG), rows) (sharing) or (ceil(nU·h / WG), rows) (ROTATION), from the uniforms.
//   rows is in Params for that only: the shader takes the row from the grid.
// Reference: src/reference/mora.ts moraCompressRef.
override ROTATION: bool = false;
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels/mora.ts) sets it and derives the dispatch from the uniforms

struct Params { inF: u32, rHat: u32, nU: u32, nB: u32, stepMod: u32, rows: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> rot: array<f32>;
@group(0) @binding(3) var<storage, read_write> u: array<f32>;

/** v mod in for v < 2·in (one conditional subtraction), else the division. */
fn wrap(v: u32) -> u32 {
  if (v < p.inF) { return v; }
  if (v < 2u * p.inF) { return v - p.inF; }
  return v % p.inF;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.y;
  let c = gid.x; // sharing: m < r̂; ROTATION: pair i·h + l < nU·h
  let n = p.rHat;
  let base = row * p.inF;
  if (!ROTATION) {
    if (c >= n) { return; }
    var pos = wrap(c); // (t·r̂ + m) mod in, starting at t = 0
    var s = 0.0;
    for (var t = 0u; t < p.nB; t++) {
      s += x[base + pos];
      pos += p.stepMod;
      if (pos >= p.inF) { pos -= p.inF; }
    }
    u[row * n + c] = s;
    return;
  }
  let h = n / 2u;
  if (c >= p.nU * h) { return; }
  let i = c / h;
  let l = c - i * h;
  let cs = rot[i * n + l];
  let sn = rot[i * n + h + l];
  let f = i * n + l; // padded position of c[l]
  let a = x[base + wrap(f)]; // c[l]
  let b = x[base + wrap(f + h)]; // c[l + h]
  let o = row * p.nU * n + f;
  u[o] = a * cs - b * sn;
  u[o + h] = b * cs + a * sn;
}
