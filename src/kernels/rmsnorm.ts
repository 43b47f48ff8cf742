/** RMSNorm (LlamaRMSNorm). */
import code from '../../shaders/rmsnorm.fwd.wgsl?raw';
import rowCode from '../../shaders/rmsnorm.fwd.row.wgsl?raw';
import bwdCode from '../../shaders/rmsnorm.bwd.wgsl?raw';
import bwdRowCode from '../../shaders/rmsnorm.bwd.row.wgsl?raw';
import bwdDwCode from '../../shaders/rmsnorm.bwd.dw.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, groups1d, perInvocation, perWorkgroup, type KernelDef } from '../gpu/kernel.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';
import { kernelPlan, type RmsnormVariant } from './plan.ts';

/** A workgroup reduction per row (GPUs). */
export const rmsnormKernel = defineKernel({
  name: 'rmsnorm.fwd',
  code,
  uniforms: { R: 'u32', D: 'u32', eps: 'f32' },
  inputs: ['x', 'w'],
  outputs: ['out'],
  workgroupSize: 128,
  dispatch: perWorkgroup((u) => u.R),
});

/** Barrier-free variant: one invocation per row. */
export const rmsnormRowKernel = defineKernel({
  name: 'rmsnorm.fwd.row',
  code: rowCode,
  uniforms: { R: 'u32', D: 'u32', eps: 'f32' },
  inputs: ['x', 'w'],
  outputs: ['out'],
  workgroupSize: 64,
  dispatch: perInvocation((u) => u.R),
});

export type { RmsnormVariant } from './plan.ts';

const forward: Record<RmsnormVariant, KernelDef> = { workgroup: rmsnormKernel, row: rmsnormRowKernel };

/** Record out (R, D) = w ⊙ x / sqrt(mean(x²) + eps) per row of x (R, D); w (D). out must not alias x. */
export function rmsnorm(gpu: Gpu, x: Tensor, w: Tensor, out: Tensor, eps: number, variant = kernelPlan(gpu).rmsnorm): void {
  const D = numel(w.shape);
  const n = numel(x.shape);
  if (D === 0 || n % D !== 0 || numel(out.shape) !== n) {
    throw new Error(`rmsnorm: x ${x.label} (${x.shape}), w ${w.label} (${w.shape}), out ${out.label} (${out.shape}) do not agree`);
  }
  gpu.dispatch(forward[variant], { uniforms: { R: n / D, D, eps }, bindings: { x, w, out } });
}

// ---- backward ---------------------------------------------------------------------------------

/** dx += ∂/∂x and rstd[r] = 1/sqrt(mean(x²) + eps): a workgroup reduction per row (GPUs). */
export const rmsnormBackwardKernel = defineKernel({
  name: 'rmsnorm.bwd', code: bwdCode, uniforms: { R: 'u32', D: 'u32', eps: 'f32' }, inputs: ['x', 'w', 'dy'], outputs: ['dx', 'rstd'],
  workgroupSize: 128, dispatch: perWorkgroup((u) => u.R),
});
/** The same, one invocation per row, no barriers. */
export const rmsnormBackwardRowKernel = defineKernel({
  name: 'rmsnorm.bwd.row', code: bwdRowCode, uniforms: { R: 'u32', D: 'u32', eps: 'f32' }, inputs: ['x', 'w', 'dy'], outputs: ['dx', 'rstd'],
  workgroupSize: 64, dispatch: perInvocation((u) => u.R),
});
/** dw += Σ_rows dy ⊙ x·rstd, one invocation per column (no barriers). */
export const rmsnormBackwardDwKernel = defineKernel({
  name: 'rmsnorm.bwd.dw', code: bwdDwCode, uniforms: { R: 'u32', D: 'u32' }, inputs: ['x', 'dy', 'rstd'], outputs: ['dw'],
  workgroupSize: 16, dispatch: perInvocation((u) => u.D),
});
/** The same, WGX columns × WGY row slices per workgroup (GPUs). */
export const rmsnormBackwardDwWgKernel = defineKernel({
  name: 'rmsnorm.bwd.dw.wg', code: bwdDwCode, entryPoint: 'main_wg', uniforms: { R: 'u32', D: 'u32' }, inputs: ['x', 'dy', 'rstd'], outputs: ['dw'],
  workgroupSize: [32, 8], dispatch: (u, [columns]) => groups1d(u.D, columns),
});

const backward: Record<RmsnormVariant, { dx: KernelDef; dw: KernelDef }> = {
  workgroup: { dx: rmsnormBackwardKernel, dw: rmsnormBackwardDwWgKernel },
  row: { dx: rmsnormBackwardRowKernel, dw: rmsnormBackwardDwKernel },
};

/**
 * Record the RMSNorm backward for y = w ⊙ x·r, r = (mean(x²) + eps)^(−1/2), per row of x (R, D):
 *   dx (R, D) += r·(w ⊙ dy) − x·r³/D·Σ_j w_j dy_j x_j;   dw (D) += Σ_rows dy ⊙ x·r  (skipped when dw is null: frozen).
 * Both reductions are deterministic (fixed order, no atomics). dx may not alias x or dy.
 * Cost: two passes over x and dy for dx, one more for dw; an (R) scratch buffer for r.
 */
export function rmsnormBackward(
  gpu: Gpu, x: Tensor, w: Tensor, dy: Tensor, dx: Tensor, dw: Tensor | null, eps: number, variant = kernelPlan(gpu).rmsnorm,
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
  gpu.dispatch(backward[variant].dx, { uniforms: { R, D, eps }, bindings: { x, w, dy, dx, rstd } });
  if (dw) gpu.dispatch(backward[variant].dw, { uniforms: { R, D }, bindings: { x, dy, rstd, dw } });
  // Later users of this buffer are recorded (or, for uploads, submitted) after the dispatches above.
  gpu.release(rstd);
}
