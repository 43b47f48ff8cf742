/**
 * The whole LLaMA training pass in float64 plain TS: mean cross-entropy of a batch and the gradient
 * of every parameter (full fine-tuning). Ground truth for the GPU training graph.
 */
import { headDim } from '../schema/llama-config.ts';
import { attentionNormName, EMBED_NAME, ffnNormName, FINAL_NORM_NAME, type LinearModule, linearName, type LlamaWeights, LM_HEAD_NAME } from '../schema/tensors.ts';
import { attentionBackwardRef, embeddingBackwardRef, rmsnormBackwardRef, swigluBackwardRef } from './llama-grads.ts';
import { addRef, attentionRef, embeddingRef, rmsnormRef, ropeRef, swigluRef } from './llama-ops.ts';
import { matmulRef } from './ops.ts';
import { crossEntropyRef } from './train-ops.ts';

export interface TrainRefResult {
  loss: number;
  /** Gradient of the mean loss for every tensor of the weights, by name. */
  grads: Map<string, Float64Array>;
}

/** Loss and gradients for inputs / targets (B·T; target −1 = ignored). `backward: false` skips gradients. */
export function llamaTrainRef(
  w: LlamaWeights, inputs: ArrayLike<number>, targets: ArrayLike<number>, B: number, T: number, backward = true,
): TrainRefResult {
  const c = w.config;
  const R = B * T, D = c.dim, hd = headDim(c), V = c.vocabSize;
  const W = (name: string) => {
    const t = w.tensors.get(name);
    if (!t) throw new Error(`llamaTrainRef: missing tensor ${name}`);
    return t;
  };
  const lin = (l: number, m: LinearModule, x: ArrayLike<number>) => {
    const t = W(linearName(l, m));
    return matmulRef(x, t.data, R, t.shape[0]!, t.shape[1]!);
  };
  const rope = (x: Float64Array, nHeads: number, inverse = false) =>
    ropeRef(x, { B, T, nHeads, headDim: hd, pos0: 0, theta: c.ropeTheta, inverse });
  const attOpts = { B, T, S: T, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: hd, pos0: 0 };

  // ---- forward ----
  const E = W(EMBED_NAME);
  let x: Float64Array = embeddingRef(inputs, E.data, V, D);
  const acts: Record<string, Float64Array>[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const xIn = x;
    const h1 = rmsnormRef(xIn, W(attentionNormName(l)).data, R, D, c.normEps);
    const q = rope(lin(l, 'q', h1), c.nHeads), k = rope(lin(l, 'k', h1), c.nKvHeads), v = lin(l, 'v', h1);
    const att = attentionRef(q, k, v, attOpts);
    const xMid = addRef(xIn, lin(l, 'o', att));
    const h2 = rmsnormRef(xMid, W(ffnNormName(l)).data, R, D, c.normEps);
    const g = lin(l, 'gate', h2), u = lin(l, 'up', h2);
    const s = swigluRef(g, u);
    x = addRef(xMid, lin(l, 'down', s));
    acts.push({ xIn, h1, q, k, v, att, xMid, h2, g, u, s });
  }
  const hf = rmsnormRef(x, W(FINAL_NORM_NAME).data, R, D, c.normEps);
  const headName = w.tensors.has(LM_HEAD_NAME) ? LM_HEAD_NAME : EMBED_NAME;
  const logits = matmulRef(hf, W(headName).data, R, V, D);
  const ce = crossEntropyRef(logits, targets, R, V);
  const grads = new Map<string, Float64Array>();
  if (!backward) return { loss: ce.loss, grads };

  // ---- backward ----
  const add = (name: string, g: Float64Array) => {
    const have = grads.get(name);
    if (!have) grads.set(name, g);
    else for (let i = 0; i < g.length; i++) have[i] += g[i];
  };
  // y = x·Wᵀ: dx = dy·W, dW = dyᵀ·x
  const linBack = (l: number, m: LinearModule, x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array => {
    const t = W(linearName(l, m));
    const [out, inF] = t.shape as [number, number];
    add(linearName(l, m), matmulRef(dy, x, out, inF, R, { aKM: true, bKN: true }));
    return matmulRef(dy, t.data, R, inF, out, { bKN: true });
  };
  const dlogits = ce.dlogits;
  add(headName, matmulRef(dlogits, hf, V, D, R, { aKM: true, bKN: true }));
  const dhf = matmulRef(dlogits, W(headName).data, R, D, V, { bKN: true });
  let r = rmsnormBackwardRef(x, W(FINAL_NORM_NAME).data, dhf, R, D, c.normEps);
  add(FINAL_NORM_NAME, r.dw);
  const dx = r.dx;
  for (let l = c.nLayers - 1; l >= 0; l--) {
    const a = acts[l]!;
    const ds = linBack(l, 'down', a.s!, dx);
    const { dgate, dup } = swigluBackwardRef(a.g!, a.u!, ds);
    const dh2 = addRef(linBack(l, 'gate', a.h2!, dgate), linBack(l, 'up', a.h2!, dup));
    r = rmsnormBackwardRef(a.xMid!, W(ffnNormName(l)).data, dh2, R, D, c.normEps);
    add(ffnNormName(l), r.dw);
    for (let i = 0; i < dx.length; i++) dx[i] += r.dx[i];
    const dAtt = linBack(l, 'o', a.att!, dx);
    const g = attentionBackwardRef(a.q!, a.k!, a.v!, dAtt, attOpts);
    const dq = rope(g.dq, c.nHeads, true), dk = rope(g.dk, c.nKvHeads, true);
    const dh1 = addRef(addRef(linBack(l, 'q', a.h1!, dq), linBack(l, 'k', a.h1!, dk)), linBack(l, 'v', a.h1!, g.dv));
    r = rmsnormBackwardRef(a.xIn!, W(attentionNormName(l)).data, dh1, R, D, c.normEps);
    add(attentionNormName(l), r.dw);
    for (let i = 0; i < dx.length; i++) dx[i] += r.dx[i];
  }
  add(EMBED_NAME, embeddingBackwardRef(inputs, dx, V, D));
  return { loss: ce.loss, grads };
}
