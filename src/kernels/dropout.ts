/** Inverted dropout whose mask is a hash of (seed, index): backward regenerates it. */
import code from '../../shaders/dropout.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation } from '../gpu/kernel.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';

const uniformTypes = { n: 'u32', seed: 'u32', threshold: 'u32', scale: 'f32' } as const;
const geometry = { workgroupSize: 256, dispatch: perInvocation((u: { n: number }) => u.n) };
export const dropoutKernel = defineKernel({ name: 'dropout', code, uniforms: uniformTypes, inputs: ['x'], outputs: ['out'], ...geometry });
export const dropoutBackwardKernel = defineKernel({
  name: 'dropout.backward', code, entryPoint: 'backward', uniforms: uniformTypes, inputs: ['x'], outputs: ['out'], ...geometry,
});

function uniforms(n: number, p: number, seed: number) {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout probability must be in [0, 1), got ${p}`);
  return { n, seed: seed >>> 0, threshold: Math.min(0xffffffff, Math.round(p * 2 ** 32)), scale: 1 / (1 - p) };
}

/** Record out = dropout(x) with probability p and mask seed `seed`. */
export function dropout(gpu: Gpu, x: Tensor, out: Tensor, p: number, seed: number): void {
  const n = numel(x.shape);
  gpu.dispatch(dropoutKernel, { uniforms: uniforms(n, p, seed), bindings: { x, out } });
}

/** Record dx += dropout'(g): the gradient through the same mask (same p and seed as the forward). */
export function dropoutBackwardAdd(gpu: Gpu, g: Tensor, dx: Tensor, p: number, seed: number): void {
  const n = numel(g.shape);
  gpu.dispatch(dropoutBackwardKernel, { uniforms: uniforms(n, p, seed), bindings: { x: g, out: dx } });
}
