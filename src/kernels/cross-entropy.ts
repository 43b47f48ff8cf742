/** Cross-entropy with an ignore mask, fused with its gradient; the mean is reduced on the GPU. */
import rowsCode from '../../shaders/cross-entropy.wgsl?raw';
import reduceCode from '../../shaders/cross-entropy.reduce.wgsl?raw';
import rowCode from '../../shaders/cross-entropy.row.wgsl?raw';
import reduceRowCode from '../../shaders/cross-entropy.reduce.row.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, groups1d } from '../gpu/kernel.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';

/** Per-row loss; with WRITE_GRAD the gradient overwrites the logits (or forward only). */
export const crossEntropyRowsKernel = defineKernel({
  name: 'cross-entropy',
  code: rowsCode,
  uniforms: { R: 'u32', V: 'u32', scale: 'f32' },
  inputs: ['targets', 'count'],
  outputs: ['rowLoss', 'logits'],
});

/** Per-row loss and the gradient into its own buffer. */
export const crossEntropyRowsSeparateKernel = defineKernel({
  name: 'cross-entropy.separate',
  code: rowsCode,
  entryPoint: 'separate',
  uniforms: { R: 'u32', V: 'u32', scale: 'f32' },
  inputs: ['targets', 'count'],
  outputs: ['rowLoss', 'logits', 'dlogits'],
});

/** Valid-target count (MEAN = false) or mean row loss (MEAN = true) into loss[0]. */
export const crossEntropyReduceKernel = defineKernel({
  name: 'cross-entropy.reduce',
  code: reduceCode,
  uniforms: { R: 'u32', V: 'u32' },
  inputs: ['targets', 'rowLoss'],
  outputs: ['loss'],
});

/** Per-row loss (and gradient in place), one invocation per row, no barriers. */
export const crossEntropyRowKernel = defineKernel({
  name: 'cross-entropy.row',
  code: rowCode,
  uniforms: { R: 'u32', V: 'u32', scale: 'f32' },
  inputs: ['targets', 'count'],
  outputs: ['rowLoss', 'logits'],
});

/** The same with the gradient into its own buffer. */
export const crossEntropyRowSeparateKernel = defineKernel({
  name: 'cross-entropy.row.separate',
  code: rowCode,
  entryPoint: 'separate',
  uniforms: { R: 'u32', V: 'u32', scale: 'f32' },
  inputs: ['targets', 'count'],
  outputs: ['rowLoss', 'logits', 'dlogits'],
});

/** Valid-target count or mean row loss, one invocation, no barriers. */
export const crossEntropyReduceRowKernel = defineKernel({
  name: 'cross-entropy.reduce.row',
  code: reduceRowCode,
  uniforms: { R: 'u32', V: 'u32' },
  inputs: ['targets', 'rowLoss'],
  outputs: ['loss'],
});

/**
 * 'workgroup': a workgroup per row with a tree reduction (GPUs). 'row': one invocation per row and one
 * for the mean, no barriers (SwiftShader, where each barrier costs ~0.1 ms per workgroup).
 */
export type CrossEntropyVariant = 'workgroup' | 'row';

/** The variant for this adapter: 'row' on SwiftShader (a CPU), 'workgroup' elsewhere. */
export function crossEntropyVariantFor(gpu: Gpu): CrossEntropyVariant {
  return gpu.adapterInfo.architecture === 'swiftshader' ? 'row' : 'workgroup';
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
  const rowLoss = opts.rowLoss ?? gpu.tensor('cross-entropy.rowLoss', [R]);
  const dims = { R, V };
  if (variant === 'row') {
    crossEntropyRows(gpu, logits, targets, dlogits, loss, rowLoss, R, V, scale);
    if (!opts.rowLoss) gpu.release(rowLoss); // later work recorded on a reused buffer runs after ours
    return;
  }
  // loss[0] ← nValid, read by the row kernel as `count`.
  gpu.dispatch(crossEntropyReduceKernel, {
    uniforms: dims, bindings: { targets, rowLoss, loss }, workgroups: [1], constants: { MEAN: 0 },
  });
  const workgroups = groups1d(R, 1);
  if (dlogits && dlogits.buffer !== logits.buffer) {
    gpu.dispatch(crossEntropyRowsSeparateKernel, {
      uniforms: { ...dims, scale },
      bindings: { targets, count: loss, rowLoss, logits, dlogits },
      workgroups,
      constants: { WG },
    });
  } else {
    gpu.dispatch(crossEntropyRowsKernel, {
      uniforms: { ...dims, scale },
      bindings: { targets, count: loss, rowLoss, logits },
      workgroups,
      constants: { WG, WRITE_GRAD: dlogits ? 1 : 0 },
    });
  }
  gpu.dispatch(crossEntropyReduceKernel, {
    uniforms: dims, bindings: { targets, rowLoss, loss }, workgroups: [1], constants: { MEAN: 1 },
  });
  if (!opts.rowLoss) gpu.release(rowLoss); // later work recorded on a reused buffer runs after ours
}

/** The barrier-free form of crossEntropy's three dispatches (count → rows → mean). */
function crossEntropyRows(
  gpu: Gpu, logits: Tensor, targets: Tensor, dlogits: Tensor | null, loss: Tensor, rowLoss: Tensor, R: number, V: number, scale: number,
): void {
  const dims = { R, V };
  gpu.dispatch(crossEntropyReduceRowKernel, {
    uniforms: dims, bindings: { targets, rowLoss, loss }, workgroups: [1], constants: { MEAN: 0 },
  });
  const workgroups = groups1d(R, 64);
  if (dlogits && dlogits.buffer !== logits.buffer) {
    gpu.dispatch(crossEntropyRowSeparateKernel, {
      uniforms: { ...dims, scale }, bindings: { targets, count: loss, rowLoss, logits, dlogits }, workgroups,
    });
  } else {
    gpu.dispatch(crossEntropyRowKernel, {
      uniforms: { ...dims, scale }, bindings: { targets, count: loss, rowLoss, logits }, workgroups,
      constants: { WRITE_GRAD: dlogits ? 1 : 0 },
    });
  }
  gpu.dispatch(crossEntropyReduceRowKernel, {
    uniforms: dims, bindings: { targets, rowLoss, loss }, workgroups: [1], constants: { MEAN: 1 },
  });
}
