/**
 * The adapter-gradient check the training tests share: a few optimizer steps on one fixed batch (so
 * the adapters are no longer at their start), then one more forward + backward whose gradients stay in
 * the trainer's params, and the float64 reference gradients of the same batch at the merged weights
 * W + ΔW (the adapters are merged for the read and unmerged again).
 */
import { mergeAdapters, unmergeAdapters } from '../../src/adapters/merge.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import type { LlamaModel } from '../../src/model/llama.ts';
import { recordTrainPass } from '../../src/model/llama-train.ts';
import { llamaTrainRef } from '../../src/reference/llama-train.ts';
import type { Trainer } from '../../src/train/trainer.ts';

export async function trainedAdapterGradients(
  gpu: Gpu, model: LlamaModel, trainer: Trainer, inputs: Uint32Array, targets: Int32Array, B: number, T: number,
): Promise<ReturnType<typeof llamaTrainRef>> {
  const batch = { inputs, targets, batchSize: B, seqLen: T, epoch: 0 };
  for (let i = 0; i < 3; i++) trainer.recordStep([batch]);
  await trainer.readMetrics();
  for (const p of trainer.params) gpu.clear(p.grad);
  const ids = gpu.upload('inputs', [B * T], inputs), tg = gpu.upload('targets', [B * T], targets), loss = gpu.tensor('loss', [1]);
  try {
    recordTrainPass(model, new Map(), ids, tg, loss, { B, T, gradScale: 1 });
    const merged = mergeAdapters(model);
    const mergedWeights = await model.readWeights();
    unmergeAdapters(model, merged);
    return llamaTrainRef(mergedWeights, inputs, targets, B, T);
  } finally {
    gpu.release(ids, tg, loss);
  }
}
