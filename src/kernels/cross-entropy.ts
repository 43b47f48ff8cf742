/** Cross-entropy with an ignore mask, fused with its gradient; the mean is reduced on the GPU. */
import rowsCode from '../../shaders/cross-entropy.wgsl?raw';
import reduceCode from '../../shaders/cross-entropy.reduce.wgsl?raw';
import rowCode from '../../shaders/cross-entropy.row.wgsl?raw';
import reduceRowCode from '../../shaders/cross-entropy.reduce.row.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation, perWorkgroup, type KernelDef } from '../gpu/kernel.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';
import { kernelPlan, type CrossEntropyVariant } from './plan.ts';

const rowUniforms = { R: 'u32', V: 'u32', scale: 'f32' } as const;
const rowBindings = { inputs: ['targets', 'count'], outputs: ['rowLoss', 'logits'] } as const;
const separateBindings = { inputs: ['targets', 'count'], outputs: ['rowLoss', 'logits', 'dlogits'] } as const;
const reduce = { uniforms: { R: 'u32', V: 'u32' }, inputs: ['targets', 'rowLoss'], outputs: ['loss'], dispatch: () => [1] as const } as const;
/** One workgroup per row; WG (a power of two, 32..256) is set per call from V. */
const perRowGroup = { workgroupSize: 256, dispatch: perWorkgroup((u: { R: number }) => u.R) } as const;
/** One invocation per row. */
const perRowInvocation = { workgroupSize: 64, dispatch: perInvocation((u: { R: number }) => u.R) } as const;

/** Per-row loss; with WRITE_GRAD the gradient overwrites the logits (or forward only). */
export const crossEntropyRowsKernel = defineKernel({
  name: 'cross-entropy', code: rowsCode, uniforms: rowUniforms, ...rowBindings, ...perRowGroup,
});

/** Per-row loss and the gradient into its own buffer. */
export const crossEntropyRowsSeparateKernel = defineKernel({
  name: 'cross-entropy.separate', code: rowsCode, entryPoint: 'separate', uniforms: rowUniforms, ...separateBindings, ...perRowGroup,
});

/** Valid-target count (MEAN = false) or mean row loss (MEAN = true) into loss[0]: one workgroup. */
export const crossEntropyReduceKernel = defineKernel({ name: 'cross-entropy.reduce', code: reduceCode, ...reduce, workgroupSize: 256 });

/** Per-row loss (and gradient in place), one invocation per row, no barriers. */
export const crossEntropyRowKernel = defineKernel({
  name: 'cross-entropy.row', code: rowCode, uniforms: rowUniforms, ...rowBindings, ...perRowInvocation,
});

/** The same with the gradient into its own buffer. */
export const crossEntropyRowSeparateKernel = defineKernel({
  name: 'cross-entropy.row.separate', code: rowCode, entryPoint: 'separate', uniforms: rowUniforms, ...separateBindings, ...perRowInvocation,
});

/** Valid-target count or mean row loss, one invocation, no barriers. */
export const crossEntropyReduceRowKernel = defineKernel({ name: 'cross-entropy.reduce.row', code: reduceRowCode, ...reduce });

export type { CrossEntropyVariant } from './plan.ts';

/** Each variant's three kernels: count/mean, per-row loss (gradient in place), per-row loss with a separate gradient. */
const VARIANTS: Record<CrossEntropyVariant, { reduce: KernelDef; rows: KernelDef; separate: KernelDef }> = {
  workgroup: { reduce: crossEntropyReduceKernel, rows: crossEntropyRowsKernel, separate: crossEntropyRowsSeparateKernel },
  row: { reduce: crossEntropyReduceRowKernel, rows: crossEntropyRowKernel, separate: crossEntropyRowSeparateKernel },
};

/** The variant on this Gpu, from its kernel plan. */
export function crossEntropyVariantFor(gpu: Gpu): CrossEntropyVariant {
  return kernelPlan(gpu).crossEntropy;
}

export interface CrossEntropyOptions {
  rows: number;
  vocab: number;
  /** Multiplies dlogits (not the loss), e.g. 1/accumSteps for gradient accumulation. Default 1. */
  scale?: number;
  /** (rows) receives the per-row losses (0 for ignored rows); a pooled scratch buffer otherwise. */
  rowLoss?: Tensor;
  /**
   * Invocations per row: 32, 64, 128 or 256. Default: about V/16 within 32..256, which suits real
   * GPUs; on SwiftShader (barriers are costly) 32 is fastest at every V — roughly 10× over 256 at V ≤ 512.
   */
  workgroupSize?: number;
  /** Default: 'workgroup' when workgroupSize is given, else crossEntropyVariantFor(gpu). */
  variant?: CrossEntropyVariant;
}

/** The default invocations per row for vocabulary V: ~16 logits each, 32..256. */
export function crossEntropyWorkgroupSize(V: number): number {
  let wg = 32;
  while (wg < 256 && wg * 16 < V) wg *= 2;
  return wg;
}

/**
 * Record cross-entropy of logits (R, V) against targets i32 (R) (valid iff 0 ≤ t < V; −1 ignores a row):
 * loss[0] = mean over valid rows of logsumexp(x_r) − x_r[t_r] (0 if none), and, unless dlogits is null,
 * dlogits (R, V) = (softmax(x_r) − onehot(t_r)) · scale / nValid (0 on ignored rows).
 * dlogits may be logits itself: the gradient then overwrites the logits in place (saves R·V floats).
 * Three dispatches: count valid targets → per-row loss and gradient → mean. No readback.
 */
export function crossEntropy(
  gpu: Gpu, logits: Tensor, targets: Tensor, dlogits: Tensor | null, loss: Tensor, opts: CrossEntropyOptions,
): void {
  const { rows: R, vocab: V } = opts;
  const scale = opts.scale ?? 1;
  if (!(Number.isInteger(R) && R >= 1 && Number.isInteger(V) && V >= 1 && R * V <= 0xffffffff)) {
    throw new Error(`crossEntropy: bad shape rows=${R} vocab=${V}`);
  }
  const check = (t: Tensor, n: number, what: string) => {
    if (numel(t.shape) !== n) throw new Error(`crossEntropy: ${what} (${t.label}) has ${numel(t.shape)} elements, expected ${n}`);
  };
  check(logits, R * V, 'logits');
  check(targets, R, 'targets');
  check(loss, 1, 'loss');
  if (dlogits) check(dlogits, R * V, 'dlogits');
  if (opts.rowLoss) check(opts.rowLoss, R, 'rowLoss');
  const distinct = new Set([logits.buffer, targets.buffer, loss.buffer]);
  const extra = [dlogits && dlogits.buffer !== logits.buffer ? dlogits : null, opts.rowLoss].filter((t) => t) as Tensor[];
  extra.forEach((t) => distinct.add(t.buffer));
  if (distinct.size !== 3 + extra.length) {
    throw new Error('crossEntropy: logits, targets, loss, rowLoss and dlogits must be distinct buffers (dlogits may be logits)');
  }

  const WG = opts.workgroupSize ?? crossEntropyWorkgroupSize(V);
  if (![32, 64, 128, 256].includes(WG)) throw new Error(`crossEntropy: workgroupSize ${WG} is not 32, 64, 128 or 256`);

  const variant = opts.variant ?? (opts.workgroupSize !== undefined ? 'workgroup' : crossEntropyVariantFor(gpu));
  const k = VARIANTS[variant];
  const rowLoss = opts.rowLoss ?? gpu.tensor('cross-entropy.rowLoss', [R]);
  const dims = { R, V };
  const size: Record<string, number> | undefined = variant === 'workgroup' ? { WG } : undefined; // workgroup size per V
  // loss[0] ← nValid, read by the row kernel as `count`.
  gpu.dispatch(k.reduce, { uniforms: dims, bindings: { targets, rowLoss, loss }, constants: { MEAN: 0 } });
  if (dlogits && dlogits.buffer !== logits.buffer) {
    gpu.dispatch(k.separate, {
      uniforms: { ...dims, scale }, bindings: { targets, count: loss, rowLoss, logits, dlogits }, constants: size,
    });
  } else {
    gpu.dispatch(k.rows, {
      uniforms: { ...dims, scale }, bindings: { targets, count: loss, rowLoss, logits },
      constants: { ...size, WRITE_GRAD: dlogits ? 1 : 0 },
    });
  }
  gpu.dispatch(k.reduce, { uniforms: dims, bindings: { targets, rowLoss, loss }, constants: { MEAN: 1 } });
  if (!opts.rowLoss) gpu.release(rowLoss); // later work recorded on a reused buffer runs after ours
}
