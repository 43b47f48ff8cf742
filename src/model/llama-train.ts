/**
 * One training pass of a LLaMA model over a batch of B sequences of T tokens: the forward with what
 * backward needs (LlamaModel.recordForward: every activation, 'train', or only each layer's input,
 * 'recompute'), the LM head and cross-entropy in row chunks (lm-head-loss.ts), and the backward in
 * reverse layer order (recomputing each layer first under 'recompute'). Gradients are ADDED to the
 * buffers in `grads` (base parameters being trained, keyed by HF name) and to the adapters' own
 * gradient buffers, so micro-batches accumulate.
 */
import type { Tensor } from '../gpu/tensor.ts';
import { embeddingBackward } from '../kernels/embedding.ts';
import { rmsnormBackward } from '../kernels/rmsnorm.ts';
import { blockGrads, recomputeBlock, recordBlockBackward, releaseLayer } from './llama-block.ts';
import { recordHeadLoss } from './lm-head-loss.ts';
import type { Forward, LlamaModel } from './llama.ts';
import { EMBED_NAME, FINAL_NORM_NAME } from '../schema/tensors.ts';

export interface TrainPassOptions {
  B: number;
  T: number;
  /** Multiplies the gradients (1/accumulation steps); the loss is not scaled. */
  gradScale: number;
  /** false: forward and loss only (evaluation). Default true. */
  backward?: boolean;
  /** Keep only each layer's input and recompute the layer in backward (less memory, one more forward). */
  recompute?: boolean;
  /** Bytes the logits of one row chunk may take (default schema/estimate.ts LOGITS_CHUNK_BYTES). */
  logitsChunkBytes?: number;
}

/**
 * Record forward + loss + backward for inputs (B·T u32) and targets (B·T i32, −1 = ignored).
 * The mean loss over non-ignored targets lands in `loss` (1). Nothing is read back.
 */
export function recordTrainPass(
  model: LlamaModel, grads: ReadonlyMap<string, Tensor>, inputs: Tensor, targets: Tensor, loss: Tensor, o: TrainPassOptions,
): void {
  const { gpu, config: c } = model;
  const { B, T } = o;
  const R = B * T;
  const backward = o.backward ?? true;
  // An evaluation keeps no activations and draws no dropout: its loss is the model's, as in eval mode.
  const f = model.recordForward(inputs, B, T, { kind: !backward ? 'eval' : o.recompute ? 'recompute' : 'train' });
  const dhf = backward ? gpu.tensor('dhf', [R, c.dim]) : null; // (R, D) d hidden
  const head = { rows: R, vocab: c.vocabSize, dim: c.dim, gradScale: o.gradScale, chunkBytes: o.logitsChunkBytes };
  recordHeadLoss(gpu, f.hidden, model.head, targets, loss, dhf, backward ? grads.get(model.headName) ?? null : null, head);
  if (dhf) recordBackward(model, grads, inputs, f, dhf, B, T);
  // Buffers go back to the pool; work recorded later on reused buffers runs after this pass.
  gpu.release(dhf);
  model.releaseForward(f);
}

/**
 * Record the backward of forward `f` from dhf (B·T, D), the gradient of the final hidden states:
 * the final norm, the blocks in reverse (each recomputed from its input first when `f` kept only
 * those; its activations are released right after its backward), the embedding.
 */
function recordBackward(
  model: LlamaModel, grads: ReadonlyMap<string, Tensor>, inputs: Tensor, f: Forward, dhf: Tensor, B: number, T: number,
): void {
  const { gpu, config: c } = model;
  const R = B * T, D = c.dim;
  const dx = gpu.tensor('dx', [R, D]); // gradient of the residual stream, walking back
  gpu.clear(dx);
  rmsnormBackward(gpu, f.x, model.param(FINAL_NORM_NAME), dhf, dx, grads.get(FINAL_NORM_NAME) ?? null, c.normEps);
  const scratch = blockGrads(gpu, c, R);
  const recomputed = f.inputs.splice(0); // taken over: each input is released with its recomputed layer
  for (let l = c.nLayers - 1; l >= 0; l--) {
    if (recomputed.length === 0) {
      recordBlockBackward(model, grads, l, f.layers[l]!, dx, scratch, B, T);
      continue;
    }
    const acts = recomputeBlock(model, l, recomputed[l]!, B, T);
    recordBlockBackward(model, grads, l, acts, dx, scratch, B, T);
    releaseLayer(gpu, acts);
  }
  const dEmbed = grads.get(EMBED_NAME);
  if (dEmbed) embeddingBackward(gpu, inputs, dx, dEmbed);
  gpu.release(dx, ...Object.values(scratch));
}
