/** Folding adapters into the base weights (W' = W + ΔW) and taking them out again. */
import { axpy } from '../kernels/axpy.ts';
import type { LlamaModel } from '../model/llama.ts';
import type { LinearAdapter } from '../model/linear-adapter.ts';

/** Adapters folded into a model's weights, by module name, so they can be unmerged. */
export type MergedAdapters = Map<string, LinearAdapter>;

/** W ← W + ΔW for every adapter; the adapters leave the model and are returned. */
export function mergeAdapters(model: LlamaModel): MergedAdapters {
  const merged: MergedAdapters = new Map(model.adapters);
  for (const [name, adapter] of merged) applyDelta(model, name, adapter, 1);
  model.adapters.clear();
  return merged;
}

/** W ← W − ΔW for adapters returned by mergeAdapters; they are attached to the model again. */
export function unmergeAdapters(model: LlamaModel, merged: MergedAdapters): void {
  for (const [name, adapter] of merged) {
    applyDelta(model, name, adapter, -1);
    model.adapters.set(name, adapter);
  }
}

function applyDelta(model: LlamaModel, name: string, adapter: LinearAdapter, sign: 1 | -1): void {
  const W = model.promoteToF32(`${name}.weight`); // merged in place: f32
  const delta = adapter.deltaWeight(model.gpu, W);
  axpy(model.gpu, delta, W, sign);
  model.gpu.release(delta);
}
