/** RMSNorm (LlamaRMSNorm). */
import code from '../../shaders/rmsnorm.fwd.wgsl?raw';
import rowCode from '../../shaders/rmsnorm.fwd.row.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, groups1d } from '../gpu/kernel.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';

export const rmsnormKernel = defineKernel({
  name: 'rmsnorm.fwd',
  code,
  uniforms: { R: 'u32', D: 'u32', eps: 'f32' },
  inputs: ['x', 'w'],
  outputs: ['out'],
});

/** Barrier-free variant: one invocation per row. */
export const rmsnormRowKernel = defineKernel({
  name: 'rmsnorm.fwd.row',
  code: rowCode,
  uniforms: { R: 'u32', D: 'u32', eps: 'f32' },
  inputs: ['x', 'w'],
  outputs: ['out'],
});

/** 'workgroup': a workgroup reduction per row (GPUs). 'row': one invocation per row, no barriers. */
export type RmsnormVariant = 'workgroup' | 'row';

/** The variant for this adapter: SwiftShader (a CPU) pays ~1 ms per workgroup here for barriers, so it gets 'row'. */
export function rmsnormVariantFor(gpu: Gpu): RmsnormVariant {
  return gpu.adapterInfo.architecture === 'swiftshader' ? 'row' : 'workgroup';
}

/** Record out (R, D) = w ⊙ x / sqrt(mean(x²) + eps) per row of x (R, D); w (D). out must not alias x. */
export function rmsnorm(gpu: Gpu, x: Tensor, w: Tensor, out: Tensor, eps: number, variant = rmsnormVariantFor(gpu)): void {
  const D = numel(w.shape);
  const n = numel(x.shape);
  if (D === 0 || n % D !== 0 || numel(out.shape) !== n) {
    throw new Error(`rmsnorm: x ${x.label} (${x.shape}), w ${w.label} (${w.shape}), out ${out.label} (${out.shape}) do not agree`);
  }
  const R = n / D;
  if (variant === 'row') {
    gpu.dispatch(rmsnormRowKernel, { uniforms: { R, D, eps }, bindings: { x, w, out }, workgroups: groups1d(R, 64) });
  } else {
    gpu.dispatch(rmsnormKernel, { uniforms: { R, D, eps }, bindings: { x, w, out }, workgroups: groups1d(R, 1) });
  }
}
