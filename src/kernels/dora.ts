/**
 * DoRA kernels: the detached row norm n = ‖W + s·B·A‖ (per output row, never forming W + s·B·A),
 * the output scaling by m/n, its backward (dz and dm in one column pass) and the dense ΔW.
 * The low-rank products themselves are the fused LoRA matmul (lora-matmul.ts); see
 * src/adapters/dora.ts for how they compose. All kernels are barrier- and atomic-free.
 * Formulas: each shader's header; reference: src/reference/dora.ts.
 */
import bwdCode from '../../shaders/dora.bwd.wgsl?raw';
import deltaCode from '../../shaders/dora.delta.wgsl?raw';
import normCode from '../../shaders/dora.norm.wgsl?raw';
import scaleCode from '../../shaders/dora.scale.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';

export const doraNormKernel = defineKernel({
  name: 'dora.norm', code: normCode, uniforms: { out: 'u32', inF: 'u32', R: 'u32', s: 'f32' }, inputs: ['W', 'A', 'B'], outputs: ['n'],
  workgroupSize: 64, dispatch: perInvocation((u) => u.out),
});
export const doraScaleKernel = defineKernel({
  name: 'dora.scale', code: scaleCode, uniforms: { total: 'u32', out: 'u32' }, inputs: ['z', 'm', 'n'], outputs: ['y'],
  workgroupSize: 64, dispatch: perInvocation((u) => u.total),
});
export const doraBackwardKernel = defineKernel({
  name: 'dora.bwd', code: bwdCode, uniforms: { rows: 'u32', out: 'u32' }, inputs: ['dy', 'z', 'm', 'n'], outputs: ['dz', 'dm'],
  workgroupSize: 64, dispatch: perInvocation((u) => u.out),
});
export const doraDeltaKernel = defineKernel({
  name: 'dora.delta', code: deltaCode,
  uniforms: { out: 'u32', inF: 'u32', R: 'u32', s: 'f32' }, inputs: ['W', 'A', 'B', 'm', 'n'], outputs: ['dW'],
  workgroupSize: 64, dispatch: perInvocation((u) => u.out * u.inF),
});

/** Record n (out) = ‖W + s·B·A‖ per row; W (out, in), A (r, in), B (out, r). */
export function doraNorm(gpu: Gpu, W: Tensor, A: Tensor, B: Tensor, s: number, n: Tensor): void {
  const [out, inF] = W.shape as [number, number];
  gpu.dispatch(doraNormKernel, {
    uniforms: { out, inF, R: A.shape[0]!, s }, bindings: { W, A, B, n },
  });
}

/** Record y (rows, out) = (m/n) ⊙ z per column, or y += that with `accumulate`. */
export function doraScale(gpu: Gpu, z: Tensor, m: Tensor, n: Tensor, y: Tensor, rows: number, accumulate = false): void {
  const out = m.shape[0]!;
  gpu.dispatch(doraScaleKernel, {
    uniforms: { total: rows * out, out }, bindings: { z, m, n, y },
    constants: { ACCUMULATE: accumulate ? 1 : 0 },
  });
}

/** Record dz (rows, out) = dy ⊙ (m/n) and dm (out) += Σ_rows dy ⊙ z / n (n detached). */
export function doraBackward(gpu: Gpu, dy: Tensor, z: Tensor, m: Tensor, n: Tensor, dz: Tensor, dm: Tensor, rows: number): void {
  const out = m.shape[0]!;
  gpu.dispatch(doraBackwardKernel, {
    uniforms: { rows, out }, bindings: { dy, z, m, n, dz, dm },
  });
}

/** Record ΔW (out, in) = (m/n) ⊙ (W + s·B·A) − W, n from doraNorm. */
export function doraDelta(gpu: Gpu, W: Tensor, A: Tensor, B: Tensor, m: Tensor, n: Tensor, s: number, dW: Tensor): void {
  const [out, inF] = W.shape as [number, number];
  gpu.dispatch(doraDeltaKernel, {
    uniforms: { out, inF, R: A.shape[0]!, s }, bindings: { W, A, B, m, n, dW },
  });
}
