/**
 * One training pass of a LLaMA model over a batch of B sequences of T tokens: the forward with the
 * activations backward needs, the cross-entropy, and the backward in reverse layer order. Gradients
 * are ADDED to the buffers in `grads` (base parameters being trained, keyed by HF name) and to the
 * adapters' own gradient buffers, so micro-batches accumulate.
 */
import type { Saved } from '../adapters/adapter.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { attention, attentionBackward } from '../kernels/attention.ts';
import { crossEntropy } from '../kernels/cross-entropy.ts';
import { addInPlace, swiglu, swigluBackward } from '../kernels/elementwise.ts';
import { embedding, embeddingBackward } from '../kernels/embedding.ts';
import { matmul } from '../kernels/matmul.ts';
import { rmsnorm, rmsnormBackward } from '../kernels/rmsnorm.ts';
import { ropeInPlace } from '../kernels/rope.ts';
import { headDim, kvDim } from './config.ts';
import type { LlamaModel } from './llama.ts';
import { linearName, moduleName, type LinearModule } from './weights.ts';

/** One linear module's call: its input and what its forward kept. */
interface LinearCall {
  x: Tensor;
  saved: Saved;
}

/** Activations of one layer kept for backward. */
interface LayerActs {
  xIn: Tensor; // (R, D) residual entering the layer
  h1: Tensor; // (R, D) rmsnorm(xIn)
  q: Tensor; // (R, D) after RoPE
  k: Tensor; // (R, kv) after RoPE
  v: Tensor; // (R, kv)
  att: Tensor; // (R, D) attention output
  lse: Tensor; // (R·nHeads)
  xMid: Tensor; // (R, D) xIn + o(att)
  h2: Tensor; // (R, D) rmsnorm(xMid)
  g: Tensor; // (R, H) gate(h2)
  u: Tensor; // (R, H) up(h2)
  s: Tensor; // (R, H) silu(g)·u
  calls: Map<LinearModule, LinearCall>;
}

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
  const { gpu, config: c } = model;
  const { B, T } = o;
  const R = B * T, D = c.dim, H = c.hiddenDim, kv = kvDim(c), hd = headDim(c), V = c.vocabSize;
  const release: Tensor[] = [];
  const keep = <X extends Tensor>(t: X): X => (release.push(t), t);

  const linearForward = (l: number, m: LinearModule, x: Tensor, calls: Map<LinearModule, LinearCall>): Tensor => {
    const saved: Saved = { tensors: [] };
    calls.set(m, { x, saved });
    return model.linear(l, m, x, R, saved);
  };

  // y = x·Wᵀ: dx (=/+=) dy·W; dW += dyᵀ·x when W itself is trained.
  const linearBackward = (l: number, m: LinearModule, acts: LayerActs, dy: Tensor, dx: Tensor, accumulate: boolean) => {
    const W = model.param(linearName(l, m));
    const [out, inF] = W.shape as [number, number];
    const { x, saved } = acts.calls.get(m)!;
    const adapter = model.adapters.get(moduleName(l, m));
    if (adapter) adapter.backward(gpu, W, x, dy, R, saved, dx, accumulate);
    else matmul(gpu, dy, W, dx, R, inF, out, { bKN: true, accumulate });
    const dW = grads.get(linearName(l, m));
    if (dW) matmul(gpu, dy, x, dW, out, inF, R, { aKM: true, bKN: true, accumulate: true });
  };

  // ---- forward ------------------------------------------------------------------------------
  let x = keep(gpu.tensor('x0', [R, D]));
  embedding(gpu, inputs, model.param('model.embed_tokens.weight'), x);
  const layers: LayerActs[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const calls = new Map<LinearModule, LinearCall>();
    const xIn = x;
    const h1 = keep(gpu.tensor(`L${l}.h1`, [R, D]));
    rmsnorm(gpu, xIn, model.param(`model.layers.${l}.input_layernorm.weight`), h1, c.normEps);
    const q = keep(linearForward(l, 'q', h1, calls));
    const k = keep(linearForward(l, 'k', h1, calls));
    const v = keep(linearForward(l, 'v', h1, calls));
    const rope = { B, T, headDim: hd, pos0: 0, theta: c.ropeTheta };
    ropeInPlace(gpu, q, { ...rope, nHeads: c.nHeads });
    ropeInPlace(gpu, k, { ...rope, nHeads: c.nKvHeads });
    const att = keep(gpu.tensor(`L${l}.att`, [R, D]));
    const lse = keep(gpu.tensor(`L${l}.lse`, [R * c.nHeads]));
    attention(gpu, q, k, v, att, { B, T, S: T, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: hd, pos0: 0, lse });
    const o = linearForward(l, 'o', att, calls);
    const xMid = keep(gpu.tensor(`L${l}.xMid`, [R, D]));
    gpu.copy(xIn, xMid);
    addInPlace(gpu, xMid, o);
    gpu.release(o);
    const h2 = keep(gpu.tensor(`L${l}.h2`, [R, D]));
    rmsnorm(gpu, xMid, model.param(`model.layers.${l}.post_attention_layernorm.weight`), h2, c.normEps);
    const g = keep(linearForward(l, 'gate', h2, calls));
    const u = keep(linearForward(l, 'up', h2, calls));
    const s = keep(gpu.tensor(`L${l}.s`, [R, H]));
    swiglu(gpu, g, u, s);
    const d = linearForward(l, 'down', s, calls);
    x = keep(gpu.tensor(`L${l}.xOut`, [R, D]));
    gpu.copy(xMid, x);
    addInPlace(gpu, x, d);
    gpu.release(d);
    layers.push({ xIn, h1, q, k, v, att, lse, xMid, h2, g, u, s, calls });
  }
  const hf = keep(gpu.tensor('hf', [R, D]));
  rmsnorm(gpu, x, model.param('model.norm.weight'), hf, c.normEps);
  const logits = keep(gpu.tensor('logits', [R, V]));
  matmul(gpu, hf, model.head, logits, R, V, D);
  const backward = o.backward ?? true;
  // dlogits overwrite the logits
  crossEntropy(gpu, logits, targets, backward ? logits : null, loss, { rows: R, vocab: V, scale: o.gradScale });
  if (backward) recordBackward();
  // Buffers go back to the pool; work recorded later on reused buffers runs after this pass.
  for (const a of layers) for (const call of a.calls.values()) gpu.release(...call.saved.tensors);
  gpu.release(...release);

  function recordBackward(): void {

    // ---- backward -----------------------------------------------------------------------------
    const dlogits = logits; // (R, V)
    const dhf = keep(gpu.tensor('dhf', [R, D]));
    matmul(gpu, dlogits, model.head, dhf, R, D, V, { bKN: true }); // dhf = dlogits·Head
    const headName = model.params.has('lm_head.weight') ? 'lm_head.weight' : 'model.embed_tokens.weight';
    const dHead = grads.get(headName);
    if (dHead) matmul(gpu, dlogits, hf, dHead, V, D, R, { aKM: true, bKN: true, accumulate: true }); // dHead += dlogitsᵀ·hf
    const dx = keep(gpu.tensor('dx', [R, D])); // gradient of the residual stream, walking back
    gpu.clear(dx);
    rmsnormBackward(gpu, x, model.param('model.norm.weight'), dhf, dx, grads.get('model.norm.weight') ?? null, c.normEps);
    const dH = keep(gpu.tensor('dH', [R, H]));
    const dg = keep(gpu.tensor('dg', [R, H]));
    const du = keep(gpu.tensor('du', [R, H]));
    const dh = keep(gpu.tensor('dh', [R, D]));
    const dq = keep(gpu.tensor('dq', [R, D]));
    const dk = keep(gpu.tensor('dk', [R, kv]));
    const dv = keep(gpu.tensor('dv', [R, kv]));
    for (let l = c.nLayers - 1; l >= 0; l--) {
      const a = layers[l]!;
      // xOut = xMid + down(silu(gate(h2))·up(h2)), h2 = rmsnorm(xMid)
      linearBackward(l, 'down', a, dx, dH, false); // dH = d s
      swigluBackward(gpu, a.g, a.u, dH, dg, du);
      linearBackward(l, 'gate', a, dg, dh, false);
      linearBackward(l, 'up', a, du, dh, true); // dh = d h2
      const ffnNorm = `model.layers.${l}.post_attention_layernorm.weight`;
      rmsnormBackward(gpu, a.xMid, model.param(ffnNorm), dh, dx, grads.get(ffnNorm) ?? null, c.normEps); // dx = d xMid
      // xMid = xIn + o(attn(rope(q(h1)), rope(k(h1)), v(h1))), h1 = rmsnorm(xIn)
      const dAtt = dh; // reuse: (R, D)
      linearBackward(l, 'o', a, dx, dAtt, false);
      attentionBackward(gpu, a.q, a.k, a.v, a.att, a.lse, dAtt, dq, dk, dv, {
        B, T, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: hd,
      });
      const rope = { B, T, headDim: hd, pos0: 0, theta: c.ropeTheta, inverse: true };
      ropeInPlace(gpu, dq, { ...rope, nHeads: c.nHeads }); // RoPE is a rotation: its transpose rotates back
      ropeInPlace(gpu, dk, { ...rope, nHeads: c.nKvHeads });
      const dh1 = dh; // dAtt is consumed: reuse for d h1
      linearBackward(l, 'q', a, dq, dh1, false);
      linearBackward(l, 'k', a, dk, dh1, true);
      linearBackward(l, 'v', a, dv, dh1, true);
      const attNorm = `model.layers.${l}.input_layernorm.weight`;
      rmsnormBackward(gpu, a.xIn, model.param(attNorm), dh1, dx, grads.get(attNorm) ?? null, c.normEps); // dx = d xIn
    }
    const dEmbed = grads.get('model.embed_tokens.weight');
    if (dEmbed) embeddingBackward(gpu, inputs, dx, dEmbed);
  }
}
