/**
 * The LM head and the cross-entropy together, in row chunks, so the logits never exist for the whole
 * batch: for each chunk of rows, logits_c = hidden_c·Headᵀ, its loss and (in place) its gradient, then
 * dHidden_c = dlogits_c·Head and dHead += dlogits_cᵀ·hidden_c. The chunk's logits take at most
 * `chunkBytes` (64 MiB by default) whatever B·T·V is. When every row fits one chunk this is the plain
 * path: one logits buffer for the batch.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { crossEntropy, crossEntropyCount, crossEntropyMean, crossEntropyRows } from '../kernels/cross-entropy.ts';
import { matmul } from '../kernels/matmul.ts';
import { logitsChunkRows } from '../schema/estimate.ts';

export interface HeadLossOptions {
  rows: number;
  vocab: number;
  dim: number;
  /** Multiplies the gradients (1/accumulation steps); the loss is not scaled. */
  gradScale: number;
  /** Bytes one chunk's logits may take (default schema/estimate.ts LOGITS_CHUNK_BYTES). */
  chunkBytes?: number;
}

/**
 * Record loss[0] = mean cross-entropy of hidden (R, D)·head (V, D)ᵀ against targets i32 (R) (−1 ignored).
 * With `dHidden` (R, D) the gradient of the hidden states is written there, and with `dHead` (V, D)
 * the head's is added to it (both scaled by gradScale); with neither, forward only. Nothing is read back.
 */
export function recordHeadLoss(
  gpu: Gpu, hidden: Tensor, head: Tensor, targets: Tensor, loss: Tensor, dHidden: Tensor | null, dHead: Tensor | null, o: HeadLossOptions,
): void {
  const { rows: R, vocab: V, dim: D } = o;
  const backward = dHidden !== null || dHead !== null;
  const Rc = logitsChunkRows(R, V, o.chunkBytes);
  const ce = { vocab: V, scale: o.gradScale };
  if (Rc === R) {
    const logits = gpu.tensor('logits', [R, V]);
    matmul(gpu, hidden, head, logits, R, V, D);
    crossEntropy(gpu, logits, targets, backward ? logits : null, loss, { ...ce, rows: R }); // dlogits overwrite the logits
    if (dHidden) matmul(gpu, logits, head, dHidden, R, D, V, { bKN: true }); // dHidden = dlogits·Head
    if (dHead) matmul(gpu, logits, hidden, dHead, V, D, R, { aKM: true, bKN: true, accumulate: true }); // dHead += dlogitsᵀ·hidden
    gpu.release(logits);
    return;
  }
  // Chunk buffers hold Rc rows; the last chunk uses the front of them.
  const hc = gpu.tensor('head-loss.hidden', [Rc, D]); // (Rc, D)
  const tc = gpu.tensor('head-loss.targets', [Rc]); // (Rc) i32
  const lc = gpu.tensor('head-loss.logits', [Rc, V]); // (Rc, V), then dlogits
  const rc = gpu.tensor('head-loss.rowLoss', [Rc]); // (Rc)
  const dhc = dHidden ? gpu.tensor('head-loss.dhidden', [Rc, D]) : null; // (Rc, D)
  const rowLoss = gpu.tensor('head-loss.rowLossAll', [R]); // (R)
  crossEntropyCount(gpu, targets, loss, { ...ce, rows: R }); // loss[0] ← the batch's valid count, every chunk's divisor
  for (let r0 = 0; r0 < R; r0 += Rc) {
    const n = Math.min(Rc, R - r0);
    gpu.copy(hidden, hc, n * D * 4, r0 * D * 4);
    gpu.copy(targets, tc, n * 4, r0 * 4);
    matmul(gpu, hc, head, lc, n, V, D);
    crossEntropyRows(gpu, lc, tc, loss, rc, backward ? lc : null, { ...ce, rows: n });
    gpu.copy(rc, rowLoss, n * 4, 0, r0 * 4);
    if (dhc) {
      matmul(gpu, lc, head, dhc, n, D, V, { bKN: true });
      gpu.copy(dhc, dHidden!, n * D * 4, 0, r0 * D * 4);
    }
    if (dHead) matmul(gpu, lc, hc, dHead, V, D, n, { aKM: true, bKN: true, accumulate: true });
  }
  crossEntropyMean(gpu, targets, rowLoss, loss, { ...ce, rows: R });
  gpu.release(hc, tc, lc, rc, dhc, rowLoss);
}
