// RMSNorm backward (input gradient), barrier-free variant: one invocation per row.
//   Forward y[r, j] = w[j]·x[r, j]·s[r],  s[r] = (mean_j x[r, j]² + eps)^(−1/2)  (shaders/rmsnorm.fwd*.wgsl).
//   ∂s/∂x_k = −s³·x_k/D, so with g_j = w_j·dy_j:
//     dx[r, k] += s·w_k·dy[r, k] − x[r, k]·c,   c = s³/D · Σ_j w_j·dy[r, j]·x[r, j]
//   and rstd[r] = s (read by shaders/rmsnorm.bwd.dw.wgsl for dw[j] += Σ_r dy[r, j]·x[r, j]·s[r]).
//   x, dy, dx: (R, D); w: (D); rstd: (R). dx is ADDED TO; it may not alias x or dy.
// Dispatch: groups1d(R, WG); invocation r walks its row twice (sums, then dx). For adapters where
//   workgroup barriers are expensive (SwiftShader); shaders/rmsnorm.bwd.wgsl is the workgroup form.
// Reference: src/reference/llama-grads.ts rmsnormBackwardRef (dx).
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { R: u32, D: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.R) { return; }
  let base = row * p.D;
  var ss = 0.0;
  var dot = 0.0;
  for (var j = 0u; j < p.D; j++) {
    let v = x[base + j];
    ss += v * v;
    dot += w[j] * dy[base + j] * v;
  }
  let s = 1.0 / sqrt(ss / f32(p.D) + p.eps);
  let c = s * s * s * dot / f32(p.D);
  for (var j = 0u; j < p.D; j++) {
    dx[base + j] += s * (w[j] * dy[base + j]) - x[base + j] * c;
  }
  rstd[row] = s;
}
