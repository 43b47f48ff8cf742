// RMSNorm backward (weight gradient): a deterministic column reduction over the rows.
//   dw[j] += Σ_r dy[r, j]·x[r, j]·s[r]   (forward y = w ⊙ x·s, so ∂y[r, j]/∂w[j] = x[r, j]·s[r])
//   x, dy: (R, D); rstd: (R) holding s[r] (written by shaders/rmsnorm.bwd*.wgsl); dw: (D), ADDED TO.
//   No float atomics: every column's rows are summed by one invocation (main) or by a fixed tree (main_wg),
//   so the result is the same on every run.
// Dispatch (the kernel specs in src/kernels/rmsnorm.ts set the overrides and derive it from the uniforms):
//   main    — barrier-free (SwiftShader): groups1d(D, WG), WG = 16, one invocation per column j summing
//             r = 0..R−1 in order. Work R·D, parallel over D.
//   main_wg — GPUs: groups1d(D, WGX) workgroups of WGX = 32 columns × WGY = 8 row slices; slice y sums
//             rows r ≡ y (mod WGY) for its column, then invocation y = 0 adds the WGY slice sums in order.
// Reference: src/reference/llama-grads.ts rmsnormBackwardRef (dw).
override WG: u32 = 16u; // main's workgroup
override WGX: u32 = 32u; // main_wg's workgroup: columns
override WGY: u32 = 8u; //   × row slices

struct Params { R: u32, D: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;

var<workgroup> partial: array<f32, WGX * WGY>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * WG;
  if (j >= p.D) { return; }
  var acc = 0.0;
  for (var r = 0u; r < p.R; r++) {
    let i = r * p.D + j;
    acc += dy[i] * x[i] * rstd[r];
  }
  dw[j] += acc;
}

@compute @workgroup_size(WGX, WGY)
fn main_wg(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let j = (wid.x + wid.y * nwg.x) * WGX + lid.x;
  var acc = 0.0;
  if (j < p.D) {
    for (var r = lid.y; r < p.R; r += WGY) {
      let i = r * p.D + j;
      acc += dy[i] * x[i] * rstd[r];
    }
  }
  partial[lid.y * WGX + lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && j < p.D) {
    var total = 0.0;
    for (var y = 0u; y < WGY; y++) { total += partial[y * WGX + lid.x]; }
    dw[j] += total;
  }
}
