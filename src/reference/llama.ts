/** The whole LLaMA forward pass in float64 plain TS: the ground truth the GPU model is tested against. */
import { headDim, kvDim } from '../schema/llama-config.ts';
import { attentionNormName, EMBED_NAME, ffnNormName, FINAL_NORM_NAME, type LinearModule, linearName, type LlamaWeights, LM_HEAD_NAME } from '../schema/tensors.ts';
import { addRef, attentionRef, embeddingRef, rmsnormRef, ropeRef, swigluRef } from './llama-ops.ts';
import { matmulRef } from './ops.ts';

/** Logits (T, vocab) of the token sequence `ids` starting at position 0. */
export function llamaLogitsRef(w: LlamaWeights, ids: readonly number[]): Float64Array {
  const c = w.config;
  const T = ids.length, D = c.dim, hd = headDim(c), kv = kvDim(c);
  const get = (name: string) => {
    const t = w.tensors.get(name);
    if (!t) throw new Error(`llamaLogitsRef: missing tensor ${name}`);
    return t.data;
  };
  const linear = (l: number, m: LinearModule, x: ArrayLike<number>) => {
    const W = w.tensors.get(linearName(l, m))!;
    const [out, inF] = W.shape;
    return matmulRef(x, W.data, T, out, inF); // (T, out)
  };
  let x: Float64Array = embeddingRef(ids, get(EMBED_NAME), c.vocabSize, D); // (T, D)
  const rope = { B: 1, T, headDim: hd, pos0: 0, theta: c.ropeTheta };
  for (let l = 0; l < c.nLayers; l++) {
    const h = rmsnormRef(x, get(attentionNormName(l)), T, D, c.normEps);
    const q = ropeRef(linear(l, 'q', h), { ...rope, nHeads: c.nHeads }); // (T, D)
    const k = ropeRef(linear(l, 'k', h), { ...rope, nHeads: c.nKvHeads }); // (T, kv)
    const v = linear(l, 'v', h); // (T, kv)
    if (k.length !== T * kv) throw new Error('llamaLogitsRef: k has the wrong size');
    const att = attentionRef(q, k, v, { B: 1, T, S: T, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: hd, pos0: 0 });
    x = addRef(x, linear(l, 'o', att));
    const h2 = rmsnormRef(x, get(ffnNormName(l)), T, D, c.normEps);
    x = addRef(x, linear(l, 'down', swigluRef(linear(l, 'gate', h2), linear(l, 'up', h2))));
  }
  const hf = rmsnormRef(x, get(FINAL_NORM_NAME), T, D, c.normEps);
  const head = w.tensors.get(LM_HEAD_NAME)?.data ?? get(EMBED_NAME);
  return matmulRef(hf, head, T, c.vocabSize, D);
}
