// Gradient clip multiplier (torch.nn.utils.clip_grad_norm_), computed on the GPU so the optimizer
// step needs no readback:  scale[0] = min(1, maxNorm / (sqrt(sumsq[0]) + 1e-6));  maxNorm ≤ 0: 1.
//   sumsq: (1) from grad-norm.wgsl, scale: (1) read by adamw.wgsl.
// Dispatch: (1); one invocation.
// Reference: src/reference/train-ops.ts clipScaleRef.
struct Params { maxNorm: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> sumsq: array<f32>;
@group(0) @binding(2) var<storage, read_write> scale: array<f32>;

@compute @workgroup_size(1)
fn main() {
  if (p.maxNorm <= 0.0) {
    scale[0] = 1.0;
  } else {
    scale[0] = min(1.0, p.maxNorm / (sqrt(sumsq[0]) + 1e-6));
  }
}
