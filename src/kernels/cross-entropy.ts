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
  checkShape(R, V);
  const check = (t: Tensor, n: number, what: string) => {
    if (numel(t.shape) !== n) throw new Error(`crossEntropy: ${what} (${t.label}) has ${numel(t.shape)} elements, expected ${n}`);
  };
  check(logits, R * V, 'logits');
  check(targets, R, 'targets');
  check(loss, 1, 'loss');
  if (dlogits) check(dlogits, R * V, 'dlogits');
  if (opts.rowLoss) check(opts.rowLoss, R, 'rowLoss');
  const rowLoss = opts.rowLoss ?? gpu.tensor('cross-entropy.rowLoss', [R]);
  // loss[0] ← nValid, read by the row kernel as `count`.
  crossEntropyCount(gpu, targets, loss, opts);
  crossEntropyRows(gpu, logits, targets, loss, rowLoss, dlogits, opts);
  crossEntropyMean(gpu, targets, rowLoss, loss, opts);
  if (!opts.rowLoss) gpu.release(rowLoss); // later work recorded on a reused buffer runs after ours
}

function checkShape(R: number, V: number): void {
  if (!(Number.isInteger(R) && R >= 1 && Number.isInteger(V) && V >= 1 && R * V <= 0xffffffff)) {
    throw new Error(`crossEntropy: bad shape rows=${R} vocab=${V}`);
  }
}

/** Throw unless `t` holds at least `n` elements (a chunk may use the front of a larger buffer). */
function checkAtLeast(t: Tensor, n: number, what: string): void {
  if (numel(t.shape) < n) throw new Error(`crossEntropy: ${what} (${t.label}) has ${numel(t.shape)} elements, needs ${n}`);
}

/** The variant and its workgroup-size constant for these options. */
function variantOf(gpu: Gpu, opts: CrossEntropyOptions) {
  const WG = opts.workgroupSize ?? crossEntropyWorkgroupSize(opts.vocab);
  if (![32, 64, 128, 256].includes(WG)) throw new Error(`crossEntropy: workgroupSize ${WG} is not 32, 64, 128 or 256`);
  const variant = opts.variant ?? (opts.workgroupSize !== undefined ? 'workgroup' : crossEntropyVariantFor(gpu));
  const size: Record<string, number> | undefined = variant === 'workgroup' ? { WG } : undefined; // workgroup size per V
  return { k: VARIANTS[variant], size };
}

/** count[0] ← the number of valid targets among targets (opts.rows), as an f32: one dispatch. */
export function crossEntropyCount(gpu: Gpu, targets: Tensor, count: Tensor, opts: CrossEntropyOptions): void {
  const { rows: R, vocab: V } = opts;
  checkShape(R, V);
  checkAtLeast(targets, R, 'targets');
  checkAtLeast(count, 1, 'count');
  if (targets.buffer === count.buffer) throw new Error('crossEntropy: targets and count must be distinct buffers');
  // rowLoss is not read when MEAN = 0: targets fills the slot (a second read-only binding of one buffer is valid).
  gpu.dispatch(variantOf(gpu, opts).k.reduce, { uniforms: { R, V }, bindings: { targets, rowLoss: targets, loss: count }, constants: { MEAN: 0 } });
}

/**
 * Per-row losses of the first opts.rows rows of logits (rows, V) into rowLoss, and unless dlogits is
 * null their gradient (softmax − onehot) · scale / count[0] into dlogits (may be logits: in place).
 * count[0] is the valid-target count of the whole batch (crossEntropyCount), so a chunk of rows
 * gets the gradient of the batch's mean. Buffers may be larger than the rows used.
 */
export function crossEntropyRows(
  gpu: Gpu, logits: Tensor, targets: Tensor, count: Tensor, rowLoss: Tensor, dlogits: Tensor | null, opts: CrossEntropyOptions,
): void {
  const { rows: R, vocab: V } = opts;
  checkShape(R, V);
  checkAtLeast(logits, R * V, 'logits');
  checkAtLeast(targets, R, 'targets');
  checkAtLeast(count, 1, 'count');
  checkAtLeast(rowLoss, R, 'rowLoss');
  if (dlogits) checkAtLeast(dlogits, R * V, 'dlogits');
  const distinct = new Set([logits.buffer, targets.buffer, count.buffer, rowLoss.buffer]);
  const separate = dlogits !== null && dlogits.buffer !== logits.buffer;
  if (separate) distinct.add(dlogits.buffer);
  if (distinct.size !== (separate ? 5 : 4)) {
    throw new Error('crossEntropy: logits, targets, loss, rowLoss and dlogits must be distinct buffers (dlogits may be logits)');
  }
  const { k, size } = variantOf(gpu, opts);
  const uniforms = { R, V, scale: opts.scale ?? 1 };
  if (separate) {
    gpu.dispatch(k.separate, { uniforms, bindings: { targets, count, rowLoss, logits, dlogits }, constants: size });
  } else {
    gpu.dispatch(k.rows, { uniforms, bindings: { targets, count, rowLoss, logits }, constants: { ...size, WRITE_GRAD: dlogits ? 1 : 0 } });
  }
}

/** loss[0] ← the mean of rowLoss over the valid targets (opts.rows rows; 0 when none): one dispatch. */
export function crossEntropyMean(gpu: Gpu, targets: Tensor, rowLoss: Tensor, loss: Tensor, opts: CrossEntropyOptions): void {
  const { rows: R, vocab: V } = opts;
  checkShape(R, V);
  checkAtLeast(targets, R, 'targets');
  checkAtLeast(rowLoss, R, 'rowLoss');
  checkAtLeast(loss, 1, 'loss');
  gpu.dispatch(variantOf(gpu, opts).k.reduce, { uniforms: { R, V }, bindings: { targets, rowLoss, loss }, constants: { MEAN: 1 } });
}
