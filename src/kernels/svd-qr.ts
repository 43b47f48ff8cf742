/**
 * Modified Gram–Schmidt kernels for tall-skinny panels stored by rows (each row is one column of the
 * matrix being factored): one dispatch per column projects it out of every later row, one more
 * normalises all rows. Driven by src/linalg/qr.ts; reference src/linalg/reference-svd.ts mgsRef.
 */
import mgsCode from '../../shaders/qr-mgs.wgsl?raw';
import normalizeCode from '../../shaders/qr-normalize.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';

export const mgsProjectKernel = defineKernel({
  name: 'qr-mgs', code: mgsCode, uniforms: { rows: 'u32', L: 'u32', j: 'u32' }, outputs: ['Y'],
  workgroupSize: 8, dispatch: perInvocation((u) => u.rows - u.j - 1),
});
export const mgsNormalizeKernel = defineKernel({
  name: 'qr-normalize', code: normalizeCode, uniforms: { rows: 'u32', L: 'u32' }, outputs: ['Y'],
  workgroupSize: 8, dispatch: perInvocation((u) => u.rows),
});

/** Record rows j+1.. of Y (rows, L) ← themselves minus their component along row j. */
export function mgsProject(gpu: Gpu, Y: Tensor, rows: number, L: number, j: number): void {
  if (j + 1 >= rows) return;
  gpu.dispatch(mgsProjectKernel, { uniforms: { rows, L, j }, bindings: { Y } });
}

/** Record every row of Y (rows, L) ← itself / its norm (zero rows stay zero). */
export function mgsNormalize(gpu: Gpu, Y: Tensor, rows: number, L: number): void {
  gpu.dispatch(mgsNormalizeKernel, { uniforms: { rows, L }, bindings: { Y } });
}
