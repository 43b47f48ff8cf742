// RMSNorm backward (input gradient): one workgroup per row.
//   Forward y[r, j] = w[j]·x[r, j]·s[r],  s[r] = (mean_j x[r, j]² + eps)^(−1/2)  (shaders/rmsnorm.fwd*.wgsl).
//   ∂s/∂x_k = −s³·x_k/D, so with g_j = w_j·dy_j:
//     dx[r, k] += s·w_k·dy[r, k] − x[r, k]·c,   c = s³/D · Σ_j w_j·dy[r, j]·x[r, j]
//   and rstd[r] = s (read by shaders/rmsnorm.bwd.dw.wgsl for dw[j] += Σ_r dy[r, j]·x[r, j]·s[r]).
//   x, dy, dx: (R, D); w: (D); rstd: (R). dx is ADDED TO; it may not alias x or dy.
// Dispatch: one workgroup of WG invocations per row, rows folded into (x, y) with num_workgroups when
//   R > 65535. Each invocation sums (x², w·dy·x) over j ≡ lid (mod WG), then a tree reduction of the
//   pairs in workgroup memory (fixed order: deterministic). Barrier-free variant for CPU adapters
//   (SwiftShader): shaders/rmsnorm.bwd.row.wgsl.
// Reference: src/reference/llama-grads.ts rmsnormBackwardRef (dx).
override WG: u32 = 128u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms

struct Params { R: u32, D: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;

var<workgroup> partial: array<vec2<f32>, WG>; // (Σ x², Σ w·dy·x)

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.R) { return; } // uniform across the workgroup
  let base = row * p.D;
  var acc = vec2<f32>(0.0);
  for (var j = lid; j < p.D; j += WG) {
    let v = x[base + j];
    acc += vec2<f32>(v * v, w[j] * dy[base + j] * v);
  }
  partial[lid] = acc;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
  }
  workgroupBarrier();
  let sums = partial[0];
  let s = 1.0 / sqrt(sums.x / f32(p.D) + p.eps);
  let c = s * s * s * sums.y / f32(p.D);
  for (var j = lid; j < p.D; j += WG) {
    dx[base + j] += s * (w[j] * dy[base + j]) - x[base + j] * c;
  }
  if (lid == 0u) { rstd[row] = s; }
}
