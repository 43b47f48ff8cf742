// RMSNorm forward  out[r, j] = w[j] · (x[r, j] · inv[r]),  inv[r] = 1 / sqrt(mean_j(x[r, j]²) + eps)
// (the LlamaRMSNorm / llama2.c rmsnorm arithmetic order).
//   x: (R, D), w: (D), out: (R, D). out may not alias x.
// Dispatch: one workgroup of WG invocations per row, rows folded into (x, y) with num_workgroups when
//   R > 65535. Each invocation sums x² over j ≡ lid (mod WG), then a tree reduction in workgroup memory.
//   Barrier-free variant for CPU adapters (SwiftShader): shaders/rmsnorm.fwd.row.wgsl.
// Reference: src/reference/llama-ops.ts rmsnormRef.
override WG: u32 = 128u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms

struct Params { R: u32, D: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.R) { return; } // uniform across the workgroup
  let base = row * p.D;
  var ss = 0.0;
  for (var j = lid; j < p.D; j += WG) {
    let v = x[base + j];
    ss += v * v;
  }
  partial[lid] = ss;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
  }
  workgroupBarrier();
  let inv = 1.0 / sqrt(partial[0] / f32(p.D) + p.eps);
  for (var j = lid; j < p.D; j += WG) {
    out[base + j] = w[j] * (inv * x[base + j]);
  }
}
