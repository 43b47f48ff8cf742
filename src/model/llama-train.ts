/**
 * One training pass of a LLaMA model over a batch of B sequences of T tokens: the forward with the
 * activations backward needs (LlamaModel.recordForward, 'train'), the cross-entropy, and the backward
 * in reverse layer order. Gradients are ADDED to the buffers in `grads` (base parameters being trained,
 * keyed by HF name) and to the adapters' own gradient buffers, so micro-batches accumulate.
 */
import type { Tensor } from '../gpu/tensor.ts';
import { crossEntropy } from '../kernels/cross-entropy.ts';
import { embeddingBackward } from '../kernels/embedding.ts';
import { matmul } from '../kernels/matmul.ts';
import { rmsnormBackward } from '../kernels/rmsnorm.ts';
import { blockGrads, recordBlockBackward } from './llama-block.ts';
import type { Forward, LlamaModel } from './llama.ts';
import { EMBED_NAME, FINAL_NORM_NAME } from '../schema/tensors.ts';

export interface TrainPassOptions {
  B: number;
  T: number;
  /** Multiplies the gradients (1/accumulation steps); the loss is not scaled. */
  gradScale: number;
  /** false: forward and loss only (evaluation). Default true. */
  backward?: boolean;
}

/**
 * Record forward + loss + backward for inputs (B·T u32) and targets (B·T i32, −1 = ignored).
 * The mean loss over non-ignored targets lands in `loss` (1). Nothing is read back.
 */
export function recordTrainPass(
  model: LlamaModel, grads: ReadonlyMap<string, Tensor>, inputs: Tensor, targets: Tensor, loss: Tensor, o: TrainPassOptions,
): void {
  const { B, T } = o;
  const R = B * T, V = model.config.vocabSize;
  const backward = o.backward ?? true;
  // An evaluation keeps no activations and draws no dropout: its loss is the model's, as in eval mode.
  const f = model.recordForward(inputs, B, T, { kind: backward ? 'train' : 'eval' });
  const logits = model.logitsOf(f.hidden, R); // (R, V)
  // dlogits overwrite the logits
  crossEntropy(model.gpu, logits, targets, backward ? logits : null, loss, { rows: R, vocab: V, scale: o.gradScale });
  if (backward) recordBackward(model, grads, inputs, f, logits, B, T);
  // Buffers go back to the pool; work recorded later on reused buffers runs after this pass.
  model.gpu.release(logits);
  model.releaseForward(f);
}

/** Record the backward of forward `f` from dlogits (B·T, V): the head, the final norm, the blocks in reverse, the embedding. */
function recordBackward(
  model: LlamaModel, grads: ReadonlyMap<string, Tensor>, inputs: Tensor, f: Forward, dlogits: Tensor, B: number, T: number,
): void {
  const { gpu, config: c } = model;
  const R = B * T, D = c.dim, V = c.vocabSize;
  const dhf = gpu.tensor('dhf', [R, D]);
  matmul(gpu, dlogits, model.head, dhf, R, D, V, { bKN: true }); // dhf = dlogits·Head
  const dHead = grads.get(model.headName);
  if (dHead) matmul(gpu, dlogits, f.hidden, dHead, V, D, R, { aKM: true, bKN: true, accumulate: true }); // dHead += dlogitsᵀ·hf
  const dx = gpu.tensor('dx', [R, D]); // gradient of the residual stream, walking back
  gpu.clear(dx);
  rmsnormBackward(gpu, f.x, model.param(FINAL_NORM_NAME), dhf, dx, grads.get(FINAL_NORM_NAME) ?? null, c.normEps);
  const scratch = blockGrads(gpu, c, R);
  for (let l = c.nLayers - 1; l >= 0; l--) recordBlockBackward(model, grads, l, f.layers[l]!, dx, scratch, B, T);
  const dEmbed = grads.get(EMBED_NAME);
  if (dEmbed) embeddingBackward(gpu, inputs, dx, dEmbed);
  gpu.release(dhf, dx, ...Object.values(scratch));
}
