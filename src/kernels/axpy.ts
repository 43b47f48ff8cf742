/** y[yOffset ..] += alpha·x: accumulation into a slice of a larger buffer. */
import code from '../../shaders/axpy.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation } from '../gpu/kernel.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';

export const axpyKernel = defineKernel({
  name: 'axpy',
  code,
  uniforms: { n: 'u32', yOffset: 'u32', alpha: 'f32' },
  inputs: ['x'],
  outputs: ['y'],
  workgroupSize: 64,
  dispatch: perInvocation((u) => u.n),
});

/** Record y[yOffset + i] += alpha·x[i] for every element of x. */
export function axpy(gpu: Gpu, x: Tensor, y: Tensor, alpha = 1, yOffset = 0): void {
  const n = numel(x.shape);
  if (yOffset + n > numel(y.shape)) throw new Error(`axpy: ${x.label} (${n}) at offset ${yOffset} overflows ${y.label}`);
  gpu.dispatch(axpyKernel, { uniforms: { n, yOffset, alpha }, bindings: { x, y } });
}
