/** Optimizer kernels: global gradient norm, the clip multiplier, and AdamW — all without readback. */
import adamwCode from '../../shaders/adamw.wgsl?raw';
import clipCode from '../../shaders/clip-scale.wgsl?raw';
import gradNormCode from '../../shaders/grad-norm.wgsl?raw';
import gradNormStridedCode from '../../shaders/grad-norm.strided.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation } from '../gpu/kernel.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';
import { kernelPlan, type SumSquaresVariant } from './plan.ts';

/** AdamW hyperparameters, as torch.optim.AdamW. */
export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count t (torch's state['step'] after incrementing). */
  step: number;
}

/** Stage-1 workgroups per tensor: enough to fill a GPU, few enough for one stage-2 workgroup. */
const MAX_PARTIAL_GROUPS = 256;

const gradNorm = { code: gradNormCode, uniforms: { n: 'u32', outOffset: 'u32' }, inputs: ['x'], outputs: ['partials'], workgroupSize: 256 } as const;
/** partials[outOffset + g] = Σ x² over workgroup g's slice: ~WG elements per workgroup, at most MAX_PARTIAL_GROUPS. */
export const gradNormKernel = defineKernel({
  name: 'grad-norm', ...gradNorm, constants: { SQUARE: 1 },
  dispatch: (u, [wg]) => [Math.min(MAX_PARTIAL_GROUPS, Math.max(1, Math.ceil(u.n / wg)))],
});
/** partials[0] = Σ x over the stage-1 partials, one workgroup. */
export const gradNormTotalKernel = defineKernel({ name: 'grad-norm.total', ...gradNorm, constants: { SQUARE: 0 }, dispatch: () => [1] });

const strided = {
  code: gradNormStridedCode, uniforms: { n: 'u32', outOffset: 'u32', count: 'u32' }, inputs: ['x'], outputs: ['partials'],
  workgroupSize: 64, dispatch: perInvocation((u: { count: number }) => u.count),
} as const;
/** partials[outOffset + g] = Σ x² over i ≡ g (mod count): one invocation per partial, no barriers. */
export const gradNormStridedKernel = defineKernel({ name: 'grad-norm.strided', ...strided, constants: { SQUARE: 1 } });
/** The same with SQUARE = 0 and count = 1: one invocation adding the stage-1 partials in order. */
export const gradNormStridedTotalKernel = defineKernel({ name: 'grad-norm.strided.total', ...strided, constants: { SQUARE: 0 } });

export type { SumSquaresVariant } from './plan.ts';

/** The Σg² variant on this Gpu, from its kernel plan. */
export function sumSquaresVariantFor(gpu: Gpu): SumSquaresVariant {
  return kernelPlan(gpu).sumSquares;
}

export const clipScaleKernel = defineKernel({
  name: 'clip-scale',
  code: clipCode,
  uniforms: { maxNorm: 'f32' },
  inputs: ['sumsq'],
  outputs: ['scale'],
  dispatch: () => [1], // one invocation
});

export const adamwKernel = defineKernel({
  name: 'adamw',
  code: adamwCode,
  uniforms: {
    n: 'u32', beta1: 'f32', beta2: 'f32', oneMinusBeta1: 'f32', oneMinusBeta2: 'f32',
    decay: 'f32', stepSize: 'f32', bc2Sqrt: 'f32', eps: 'f32',
  },
  inputs: ['grad', 'clip'],
  outputs: ['param', 'm', 'v'],
  workgroupSize: 256,
  dispatch: perInvocation((u) => u.n),
});

/** Stage-1 partials per tensor in the strided variant: ~64+ elements per invocation, at most 1024. */
const STRIDED_MAX_PARTIALS = 1024;
const STRIDED_MIN_PER_PARTIAL = 64;

/** Record out[0] = Σ over every tensor of Σ g² (two-stage: partials, then one sum), in this adapter's variant. */
export function sumSquares(gpu: Gpu, grads: readonly Tensor[], out: Tensor): void {
  sumSquaresWith(gpu, grads, out, sumSquaresVariantFor(gpu));
}

/** sumSquares in a given variant (both give the same sum up to f32 rounding order). */
export function sumSquaresWith(gpu: Gpu, grads: readonly Tensor[], out: Tensor, variant: SumSquaresVariant): void {
  if (numel(out.shape) < 1) throw new Error(`sumSquares: out (${out.label}) is empty`);
  for (const x of grads) {
    if (x.buffer === out.buffer) throw new Error(`sumSquares: out (${out.label}) is also a gradient`);
  }
  if (variant === 'strided') {
    sumSquaresStrided(gpu, grads, out);
    return;
  }
  const groups = grads.map((g) => gradNormKernel.groups({ n: numel(g.shape), outOffset: 0 })[0]);
  const total = groups.reduce((a, b) => a + b, 0);
  if (total === 0) {
    gpu.clear(out);
    return;
  }
  const partials = gpu.tensor('grad-norm.partials', [total]);
  let offset = 0;
  grads.forEach((x, i) => {
    gpu.dispatch(gradNormKernel, { uniforms: { n: numel(x.shape), outOffset: offset }, bindings: { x, partials } });
    offset += groups[i]!;
  });
  gpu.dispatch(gradNormTotalKernel, { uniforms: { n: total, outOffset: 0 }, bindings: { x: partials, partials: out } });
  gpu.release(partials); // later work recorded on a reused buffer runs after ours
}

/** The barrier-free Σg²: per tensor, `count` invocations each summing a strided slice; then one invocation. */
function sumSquaresStrided(gpu: Gpu, grads: readonly Tensor[], out: Tensor): void {
  const counts = grads.map((g) => Math.min(STRIDED_MAX_PARTIALS, Math.max(1, Math.ceil(numel(g.shape) / STRIDED_MIN_PER_PARTIAL))));
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) {
    gpu.clear(out);
    return;
  }
  const partials = gpu.tensor('grad-norm.partials', [total]);
  let offset = 0;
  grads.forEach((x, i) => {
    const count = counts[i]!;
    gpu.dispatch(gradNormStridedKernel, { uniforms: { n: numel(x.shape), outOffset: offset, count }, bindings: { x, partials } });
    offset += count;
  });
  gpu.dispatch(gradNormStridedTotalKernel, { uniforms: { n: total, outOffset: 0, count: 1 }, bindings: { x: partials, partials: out } });
  gpu.release(partials); // later work recorded on a reused buffer runs after ours
}

/**
 * Record scale[0] = min(1, maxNorm / (sqrt(sumsq[0]) + 1e-6)) (torch clip_grad_norm_'s multiplier);
 * maxNorm 0, negative or Infinity: scale[0] = 1.
 */
export function clipScale(gpu: Gpu, sumsq: Tensor, scale: Tensor, maxNorm: number): void {
  if (Number.isNaN(maxNorm)) throw new Error('clipScale: maxNorm is NaN');
  const off = !(maxNorm > 0) || maxNorm === Infinity || maxNorm > 3.4e38;
  gpu.dispatch(clipScaleKernel, { uniforms: { maxNorm: off ? 0 : maxNorm }, bindings: { sumsq, scale } });
}

/** Record sumsq[0] = Σ g² over `grads` and scale[0] = its clip multiplier for `maxNorm`. */
export function clipGradNorm(gpu: Gpu, grads: readonly Tensor[], sumsq: Tensor, scale: Tensor, maxNorm: number): void {
  sumSquares(gpu, grads, sumsq);
  clipScale(gpu, sumsq, scale, maxNorm);
}

/**
 * Record one AdamW step in place on p, m, v (torch.optim.AdamW): g ← g·clipScale[0];
 * p ← p·(1 − lr·wd); m, v ← moments; p ← p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps).
 * clipScale null: no clipping. `step` is t, starting at 1. Bias corrections are computed in float64.
 */
export function adamwStep(gpu: Gpu, p: Tensor, g: Tensor, m: Tensor, v: Tensor, clipScale: Tensor | null, opts: AdamWOptions): void {
  const n = numel(p.shape);
  for (const [t, what] of [[g, 'g'], [m, 'm'], [v, 'v']] as const) {
    if (numel(t.shape) !== n) throw new Error(`adamwStep: ${what} (${t.label}) has ${numel(t.shape)} elements, p (${p.label}) ${n}`);
  }
  const bufs = new Set([p.buffer, g.buffer, m.buffer, v.buffer]);
  if (bufs.size !== 4 || (clipScale && bufs.has(clipScale.buffer))) {
    throw new Error(`adamwStep: p, g, m, v and clipScale must be distinct buffers (p = ${p.label})`);
  }
  const { lr, beta1, beta2, eps, weightDecay, step } = opts;
  if (!(Number.isInteger(step) && step >= 1)) throw new Error(`adamwStep: step ${step} must be an integer ≥ 1`);
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new Error(`adamwStep: betas ${beta1}, ${beta2} must be in [0, 1)`);
  if (n === 0) return;
  gpu.dispatch(adamwKernel, {
    uniforms: {
      n,
      beta1,
      beta2,
      oneMinusBeta1: 1 - beta1,
      oneMinusBeta2: 1 - beta2,
      decay: 1 - lr * weightDecay,
      stepSize: lr / (1 - Math.pow(beta1, step)),
      bc2Sqrt: Math.sqrt(1 - Math.pow(beta2, step)),
      eps,
    },
    bindings: { grad: g, clip: clipScale ?? g, param: p, m, v },
    constants: { HAS_CLIP: clipScale ? 1 : 0 },
  });
}
