/** RMSNorm (LlamaRMSNorm). */
import code from '../../shaders/rmsnorm.fwd.wgsl?raw';
import rowCode from '../../shaders/rmsnorm.fwd.row.wgsl?raw';
import bwdCode from '../../shaders/rmsnorm.bwd.wgsl?raw';
import bwdRowCode from '../../shaders/rmsnorm.bwd.row.wgsl?raw';
import bwdDwCode from '../../shaders/rmsnorm.bwd.dw.wgsl?raw';
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

// ---- backward ---------------------------------------------------------------------------------

/** dx += ∂/∂x and rstd[r] = 1/sqrt(mean(x²) + eps): a workgroup reduction per row (GPUs). */
export const rmsnormBackwardKernel = defineKernel({
  name: 'rmsnorm.bwd', code: bwdCode, uniforms: { R: 'u32', D: 'u32', eps: 'f32' }, inputs: ['x', 'w', 'dy'], outputs: ['dx', 'rstd'],
});
/** The same, one invocation per row, no barriers. */
export const rmsnormBackwardRowKernel = defineKernel({
  name: 'rmsnorm.bwd.row', code: bwdRowCode, uniforms: { R: 'u32', D: 'u32', eps: 'f32' }, inputs: ['x', 'w', 'dy'], outputs: ['dx', 'rstd'],
});
/** dw += Σ_rows dy ⊙ x·rstd, one invocation per column (no barriers). */
export const rmsnormBackwardDwKernel = defineKernel({
  name: 'rmsnorm.bwd.dw', code: bwdDwCode, uniforms: { R: 'u32', D: 'u32' }, inputs: ['x', 'dy', 'rstd'], outputs: ['dw'],
});
/** The same, 32 columns × 8 row slices per workgroup (GPUs). */
export const rmsnormBackwardDwWgKernel = defineKernel({
  name: 'rmsnorm.bwd.dw.wg', code: bwdDwCode, entryPoint: 'main_wg', uniforms: { R: 'u32', D: 'u32' }, inputs: ['x', 'dy', 'rstd'], outputs: ['dw'],
});

/**
 * Record the RMSNorm backward for y = w ⊙ x·r, r = (mean(x²) + eps)^(−1/2), per row of x (R, D):
 *   dx (R, D) += r·(w ⊙ dy) − x·r³/D·Σ_j w_j dy_j x_j;   dw (D) += Σ_rows dy ⊙ x·r  (skipped when dw is null: frozen).
 * Both reductions are deterministic (fixed order, no atomics). dx may not alias x or dy.
 * Cost: two passes over x and dy for dx, one more for dw; an (R) scratch buffer for r.
 */
export function rmsnormBackward(
  gpu: Gpu, x: Tensor, w: Tensor, dy: Tensor, dx: Tensor, dw: Tensor | null, eps: number, variant = rmsnormVariantFor(gpu),
): void {
  const D = numel(w.shape);
  const n = numel(x.shape);
  if (D === 0 || n % D !== 0 || numel(dy.shape) !== n || numel(dx.shape) !== n || (dw && numel(dw.shape) !== D)) {
    throw new Error(
      `rmsnormBackward: x ${x.label} (${x.shape}), w ${w.label} (${w.shape}), dy ${dy.label} (${dy.shape}), ` +
        `dx ${dx.label} (${dx.shape})${dw ? `, dw ${dw.label} (${dw.shape})` : ''} do not agree`,
    );
  }
  if (dx.buffer === x.buffer || dx.buffer === dy.buffer) throw new Error(`rmsnormBackward: dx ${dx.label} aliases x or dy`);
  const R = n / D;
  const rstd = gpu.tensor('rmsnorm.bwd.rstd', [R]);
  const bindings = { x, w, dy, dx, rstd };
  if (variant === 'row') {
    gpu.dispatch(rmsnormBackwardRowKernel, { uniforms: { R, D, eps }, bindings, workgroups: groups1d(R, 64) });
  } else {
    gpu.dispatch(rmsnormBackwardKernel, { uniforms: { R, D, eps }, bindings, workgroups: groups1d(R, 1) });
  }
  if (dw) {
    const dwBindings = { x, dy, rstd, dw };
    if (variant === 'row') {
      gpu.dispatch(rmsnormBackwardDwKernel, { uniforms: { R, D }, bindings: dwBindings, workgroups: groups1d(D, 16) });
    } else {
      gpu.dispatch(rmsnormBackwardDwWgKernel, { uniforms: { R, D }, bindings: dwBindings, workgroups: groups1d(D, 32) });
    }
  }
  // Later users of this buffer are recorded (or, for uploads, submitted) after the dispatches above.
  gpu.release(rstd);
}
