// MoRA backward, step 1: the transpose of decompress (tiling),  dz[row, f] = Σ_{j ≡ f (mod W), j < out} dy[row, j].
//   dy (rows, out);  dz (rows, W), W = nU·r̂, read later as (rows·nU, r̂) chunks.
//   Forward y[row, j] = z[row, j mod W], so z_f received dy from j = f, f + W, ... < out;
//   entries f ≥ out (truncated away, only possible in the last chunk) get 0.
// One invocation per element of dz, a short loop; no barriers. Dispatch: (ceil(W / WG), rows) from the uniforms
// (rows is in Params for that only: the shader takes the row from the grid).
// Reference: src/reference/mora.ts moraBackwardRef (dz).
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels/mora.ts) sets it and derives the dispatch from the uniforms
struct Params { width: u32, out: u32, rows: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dz: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.y;
  let f = gid.x;
  if (f >= p.width) { return; }
  var s = 0.0;
  for (var j = f; j < p.out; j += p.width) {
    s += dy[row * p.out + j];
  }
  dz[row * p.width + f] = s;
}
