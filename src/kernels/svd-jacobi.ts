/**
 * One-sided Jacobi (Hestenes) SVD kernels: set-up, one parallel round-robin step (two variants of
 * the same math), column norms and the sorted gather of singular vectors. The algorithm that drives
 * them is src/linalg/svd.ts; the float64 reference is src/linalg/reference-svd.ts svdRef.
 *
 * Working layout (c = min(m, n) vectors of length L = max(m, n)):
 *   G  (c, Lp): the vectors being rotated, zero-padded to Lp = ⌈L/4⌉·4 (vec4 loads).
 *   Rt (c, cp): the accumulated rotations, starting from the identity, cp = ⌈c/4⌉·4.
 */
import initCode from '../../shaders/svd-jacobi-init.wgsl?raw';
import stepRowCode from '../../shaders/svd-jacobi-step.row.wgsl?raw';
import stepBlockCode from '../../shaders/svd-jacobi-step.block.wgsl?raw';
import stepCode from '../../shaders/svd-jacobi-step.wgsl?raw';
import normsCode from '../../shaders/svd-jacobi-norms.wgsl?raw';
import gatherCode from '../../shaders/svd-jacobi-gather.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation, perWorkgroup } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { kernelPlan, type JacobiVariant } from './plan.ts';

export const jacobiInitKernel = defineKernel({
  name: 'svd-jacobi-init', code: initCode,
  uniforms: { n: 'u32', c: 'u32', L: 'u32', Lp: 'u32', cp: 'u32' },
  inputs: ['W'], outputs: ['G', 'Rt'],
  workgroupSize: 64, dispatch: perInvocation((u) => u.c * Math.max(u.Lp, u.cp)),
});

const stepUniforms = { c: 'u32', cEven: 'u32', step: 'u32', Lp4: 'u32', cp4: 'u32', tol: 'f32' } as const;

/** One invocation per pair, no barriers (SwiftShader). */
export const jacobiStepRowKernel = defineKernel({
  name: 'svd-jacobi-step.row', code: stepRowCode, uniforms: stepUniforms, outputs: ['G', 'Rt', 'stats'],
  workgroupSize: 4, dispatch: perInvocation((u) => u.cEven / 2),
});
/** One invocation per pair of column blocks, nb dispatches per sweep (CPU adapters, small and medium c). */
export const jacobiStepBlockKernel = defineKernel({
  name: 'svd-jacobi-step.block', code: stepBlockCode,
  uniforms: { c: 'u32', nb: 'u32', w: 'u32', step: 'u32', Lp4: 'u32', cp4: 'u32', tol: 'f32' },
  outputs: ['G', 'Rt', 'stats'],
  // step 0: one invocation per block; later steps: one per pair of blocks.
  workgroupSize: 4, dispatch: perInvocation((u) => (u.step === 0 ? u.nb : u.nb / 2)),
});
/** One 64-wide workgroup per pair, coalesced loads and a tree reduction (GPUs). */
export const jacobiStepKernel = defineKernel({
  name: 'svd-jacobi-step', code: stepCode, uniforms: stepUniforms, outputs: ['G', 'Rt', 'stats'],
  workgroupSize: 64, dispatch: perWorkgroup((u) => u.cEven / 2),
});

export const jacobiNormsKernel = defineKernel({
  name: 'svd-jacobi-norms', code: normsCode, uniforms: { c: 'u32', Lp4: 'u32' }, inputs: ['G'], outputs: ['norms'],
  workgroupSize: 64, dispatch: perInvocation((u) => u.c),
});

export const jacobiGatherKernel = defineKernel({
  name: 'svd-jacobi-gather', code: gatherCode,
  uniforms: { c: 'u32', L: 'u32', Lp: 'u32', cp: 'u32', keep: 'u32' },
  inputs: ['G', 'Rt', 'norms', 'perm'], outputs: ['longVecs', 'shortVecs'],
  workgroupSize: 64, dispatch: perInvocation((u) => Math.max(u.L, u.c) * u.keep),
});

export type { JacobiVariant } from './plan.ts';

/** Blocks per sweep of the 'block' variant: 8 invocations per step, 16 dispatches per sweep. */
export const JACOBI_BLOCKS = 16;

/** The variant on this Gpu for c = min(m, n) rotated columns, from its kernel plan (plan.ts has the measurements). */
export function jacobiVariantFor(gpu: Gpu, c: number): JacobiVariant {
  const plan = kernelPlan(gpu);
  return c <= plan.jacobiBlockMaxColumns ? 'block' : plan.jacobi;
}

/** Shapes of one Jacobi problem on W (m, n). */
export interface JacobiLayout {
  m: number;
  n: number;
  /** Vectors rotated: min(m, n). */
  c: number;
  /** Their length: max(m, n). */
  L: number;
  Lp: number;
  cp: number;
  /** c rounded up to even (round-robin positions). */
  cEven: number;
  /** true when W's columns are rotated (n ≤ m), false when W's rows are. */
  columns: boolean;
}

export function jacobiLayout(m: number, n: number): JacobiLayout {
  const c = Math.min(m, n), L = Math.max(m, n);
  const up4 = (x: number) => Math.ceil(x / 4) * 4;
  return { m, n, c, L, Lp: up4(L), cp: up4(c), cEven: c + (c % 2), columns: n <= m };
}

/** Record G ← the vectors of W (m, n) to rotate and, when `identity`, Rt ← I (else Rt is untouched). */
export function jacobiInit(gpu: Gpu, W: Tensor, G: Tensor, Rt: Tensor, l: JacobiLayout, identity: boolean): void {
  gpu.dispatch(jacobiInitKernel, {
    uniforms: { n: l.n, c: l.c, L: l.L, Lp: l.Lp, cp: l.cp },
    bindings: { W, G, Rt },
    constants: { TRANSPOSE: l.columns ? 1 : 0, IDENTITY: identity ? 1 : 0 },
  });
}

/** Record one sweep: every pair of the c columns rotated once (when not yet orthogonal to tol). */
export function jacobiSweep(
  gpu: Gpu, G: Tensor, Rt: Tensor, stats: Tensor, l: JacobiLayout, tol: number, variant: JacobiVariant, accumulate: boolean,
): void {
  const constants = { ACCUMULATE: accumulate ? 1 : 0 };
  if (variant === 'block') {
    const { nb, w } = jacobiBlocks(l.c);
    for (let step = 0; step < nb; step++) {
      gpu.dispatch(jacobiStepBlockKernel, {
        uniforms: { c: l.c, nb, w, step, Lp4: l.Lp / 4, cp4: l.cp / 4, tol },
        bindings: { G, Rt, stats },
        constants,
      });
    }
    return;
  }
  for (let step = 0; step < l.cEven - 1; step++) {
    gpu.dispatch(variant === 'row' ? jacobiStepRowKernel : jacobiStepKernel, {
      uniforms: { c: l.c, cEven: l.cEven, step, Lp4: l.Lp / 4, cp4: l.cp / 4, tol },
      bindings: { G, Rt, stats },
      constants,
    });
  }
}

/** Block count (even) and width of the 'block' variant for c columns. */
export function jacobiBlocks(c: number, blocks = JACOBI_BLOCKS): { nb: number; w: number } {
  const w = Math.max(1, Math.ceil(c / blocks));
  const nb = Math.ceil(c / w);
  return { nb: nb + (nb % 2), w };
}

/** Record norms (c) ← the row norms of G. */
export function jacobiNorms(gpu: Gpu, G: Tensor, norms: Tensor, l: JacobiLayout): void {
  gpu.dispatch(jacobiNormsKernel, {
    uniforms: { c: l.c, Lp4: l.Lp / 4 }, bindings: { G, norms },
  });
}

/** Record longVecs (L, keep) and shortVecs (c, keep): the vectors of columns perm[0..keep), normalised / as accumulated. */
export function jacobiGather(
  gpu: Gpu, G: Tensor, Rt: Tensor, norms: Tensor, perm: Tensor, longVecs: Tensor, shortVecs: Tensor, l: JacobiLayout, keep: number,
): void {
  gpu.dispatch(jacobiGatherKernel, {
    uniforms: { c: l.c, L: l.L, Lp: l.Lp, cp: l.cp, keep },
    bindings: { G, Rt, norms, perm, longVecs, shortVecs },
  });
}
