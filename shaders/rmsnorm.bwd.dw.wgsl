// RMSNorm backward (weight gradient): a deterministic column reduction over the rows.
//   dw[j] += Σ_r dy[r, j]·x[r, j]·s[r]   (forward y = w ⊙ x·s, so ∂y[r, j]/∂w[j] = x[r, j]·s[r])
//   x, dy: (R, D); rstd: (R) holding s[r] (written by shaders/rmsnorm.bwd*.wgsl); dw: (D), ADDED TO.
//   No float atomics: every column's rows are summed by one invocation (main) or by a fixed tree (main_wg),
//   so the result is the same on every run.
// Dispatch:
//   main    — barrier-free (SwiftShader): groups1d(D, 16), one invocation per column j summing r = 0..R−1
//             in order. Work R·D, parallel over D.
//   main_wg — GPUs: groups1d(D, 32) workgroups of 32 columns × 8 row slices; slice y sums rows r ≡ y
//             (mod 8) for its column, then invocation y = 0 adds the 8 slice sums in order.
// Reference: src/reference/llama-grads.ts rmsnormBackwardRef (dw).
const COLS = 32u;
const SLICES = 8u;

struct Params { R: u32, D: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;

var<workgroup> partial: array<f32, COLS * SLICES>;

@compute @workgroup_size(16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * 16u;
  if (j >= p.D) { return; }
  var acc = 0.0;
  for (var r = 0u; r < p.R; r++) {
    let i = r * p.D + j;
    acc += dy[i] * x[i] * rstd[r];
  }
  dw[j] += acc;
}

@compute @workgroup_size(COLS, SLICES)
fn main_wg(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let j = (wid.x + wid.y * nwg.x) * COLS + lid.x;
  var acc = 0.0;
  if (j < p.D) {
    for (var r = lid.y; r < p.R; r += SLICES) {
      let i = r * p.D + j;
      acc += dy[i] * x[i] * rstd[r];
    }
  }
  partial[lid.y * COLS + lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && j < p.D) {
    var total = 0.0;
    for (var y = 0u; y < SLICES; y++) { total += partial[y * COLS + lid.x]; }
    dw[j] += total;
  }
}
