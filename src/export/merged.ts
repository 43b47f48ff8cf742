/** The merged model: the base weights with every adapter's ΔW folded in, on the host (the GPU model is left as it is). */
import type { LlamaModel } from '../model/llama.ts';
import type { LlamaWeights } from '../schema/tensors.ts';

/** W' = W + ΔW for every module carrying an adapter; every other tensor as it is on the GPU. */
export async function mergedWeights(model: LlamaModel): Promise<LlamaWeights> {
  const weights = await model.readWeights();
  for (const [name, adapter] of model.adapters) {
    const W = model.param(`${name}.weight`);
    const delta = adapter.deltaWeight(model.gpu, W); // (out, in)
    try {
      const d = await model.gpu.read(delta);
      const w = weights.tensors.get(`${name}.weight`)!.data;
      for (let i = 0; i < w.length; i++) w[i]! += d[i]!;
    } finally {
      model.gpu.release(delta);
    }
  }
  return weights;
}
