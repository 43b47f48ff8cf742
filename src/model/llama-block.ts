/**
 * One LLaMA block on the GPU, recorded by the same code for inference and for training (as llm.c has
 * one forward for both), with its backward right under it:
 *   xMid = xIn + o(attn(rope(q(h1)), rope(k(h1)), v(h1))),  h1 = rmsnorm(xIn)
 *   xOut = xMid + down(silu(gate(h2)) · up(h2)),            h2 = rmsnorm(xMid)
 * The linear modules go through LlamaModel.linear (adapters fused there).
 */
import type { Saved } from './linear-adapter.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { attention, attentionBackward } from '../kernels/attention.ts';
import { addInPlace, swiglu, swigluBackward } from '../kernels/elementwise.ts';
import { matmul } from '../kernels/matmul.ts';
import { rmsnorm, rmsnormBackward } from '../kernels/rmsnorm.ts';
import { ropeInPlace } from '../kernels/rope.ts';
import { headDim, kvDim, type LlamaConfig } from '../schema/llama-config.ts';
import type { LlamaModel } from './llama.ts';
import { attentionNormName, ffnNormName, LINEAR_MODULES, type LinearModule, linearName, moduleName } from '../schema/tensors.ts';

/** Keys and values of every layer for positions 0..capacity-1 of one sequence. */
export interface KvCache {
  capacity: number;
  k: Tensor[]; // per layer (capacity, kvDim)
  v: Tensor[]; // per layer (capacity, kvDim)
}

/**
 * How a forward runs. 'cached' (inference, one sequence, B = 1): keys and values are written into
 * `cache` at positions pos0.., attention reads the cache, the residual is updated in place and nothing
 * is kept. 'train' (positions 0..T−1 of each of B sequences): attention reads the batch's own keys and
 * values, and every activation, with each adapter's Saved (dropout on), is kept for backward.
 * 'recompute': a training forward (dropout drawn) that keeps only each layer's input; backward
 * recomputes the layer from it (recomputeBlock). 'eval': the batch's own keys and values like 'train',
 * but nothing is kept and no dropout is drawn (a loss only).
 */
export type ForwardMode =
  | { kind: 'cached'; cache: KvCache; pos0: number } | { kind: 'train' } | { kind: 'recompute' } | { kind: 'eval' };

/** What a 'recompute' forward keeps of one layer: its input and where its adapters' dropout draws stood. */
export interface LayerInput {
  xIn: Tensor; // (R, D) residual entering the layer
  dropoutCalls: Map<string, number>; // adapter module name → its dropoutCalls before the layer ran
}

/**
 * Activations of one layer kept for backward (R = B·T rows). The linear modules' inputs that are
 * cheap to recompute are not kept: backward recomputes h1 = rmsnorm(xIn), h2 = rmsnorm(xMid) and
 * s = silu(g)·u (bit for bit: the same kernels on the same inputs).
 */
export interface LayerActs {
  xIn: Tensor; // (R, D) residual entering the layer
  q: Tensor; // (R, D) after RoPE
  k: Tensor; // (R, kv) after RoPE
  v: Tensor; // (R, kv)
  att: Tensor; // (R, D) attention output, o's input
  lse: Tensor; // (R·nHeads)
  xMid: Tensor; // (R, D) xIn + o(att)
  g: Tensor; // (R, H) gate(h2)
  u: Tensor; // (R, H) up(h2)
  /** What each linear module's forward kept for its backward (adapters' dropout masks, x·Aᵀ, ...). */
  saved: Map<LinearModule, Saved>;
}


/**
 * Record block `l` on the residual xIn (B·T, D) and return the residual leaving it: xIn itself,
 * updated in place, for 'cached' and 'eval'; a new tensor for 'recompute' (xIn is kept) and for
 * 'train', which also returns the layer's activations.
 */
export function recordBlock(
  model: LlamaModel, l: number, xIn: Tensor, B: number, T: number, mode: ForwardMode,
): { x: Tensor; acts: LayerActs | null } {
  const { gpu, config: c } = model;
  const R = B * T, D = c.dim, hd = headDim(c);
  const train = mode.kind === 'train'; // every activation kept
  const dropout = train || mode.kind === 'recompute'; // a training forward: adapters draw dropout into a Saved
  const keepInput = dropout; // xIn outlives the layer
  if (mode.kind === 'cached' && B !== 1) throw new Error(`a KV-cached forward runs one sequence, got B = ${B}`);
  const pos0 = mode.kind === 'cached' ? mode.pos0 : 0;
  const calls = new Map<LinearModule, Saved>();
  const linear = (m: LinearModule, x: Tensor): Tensor => {
    if (!dropout) return model.linear(l, m, x, R);
    const saved: Saved = { tensors: [] };
    calls.set(m, saved);
    return model.linear(l, m, x, R, saved);
  };

  // ---- attention: xMid = xIn + o(attn(rope(q(h1)), rope(k(h1)), v(h1))) ---------------------------
  const h1 = gpu.tensor(`L${l}.h1`, [R, D]);
  rmsnorm(gpu, xIn, model.param(attentionNormName(l)), h1, c.normEps);
  const q = linear('q', h1); // (R, D)
  const k = linear('k', h1); // (R, kv)
  const v = linear('v', h1); // (R, kv)
  gpu.release(h1); // work recorded later on a reused buffer runs after this
  const rope = { B, T, headDim: hd, pos0, theta: c.ropeTheta };
  ropeInPlace(gpu, q, { ...rope, nHeads: c.nHeads });
  ropeInPlace(gpu, k, { ...rope, nHeads: c.nKvHeads });
  const keys = mode.kind === 'cached' ? cacheKeys(gpu, c, l, k, v, T, mode) : { k, v, S: T };
  const att = gpu.tensor(`L${l}.att`, [R, D]);
  const lse = train ? gpu.tensor(`L${l}.lse`, [R * c.nHeads]) : undefined;
  attention(gpu, q, keys.k, keys.v, att, { B, T, S: keys.S, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: hd, pos0, lse });
  const xMid = residual(gpu, xIn, linear('o', att), keepInput, `L${l}.xMid`);

  // ---- feed-forward: xOut = xMid + down(silu(gate(h2)) · up(h2)) ---------------------------------
  const h2 = gpu.tensor(`L${l}.h2`, [R, D]);
  rmsnorm(gpu, xMid, model.param(ffnNormName(l)), h2, c.normEps);
  const g = linear('gate', h2); // (R, H)
  const u = linear('up', h2); // (R, H)
  gpu.release(h2);
  const s = gpu.tensor(`L${l}.s`, [R, c.hiddenDim]);
  swiglu(gpu, g, u, s);
  const xOut = residual(gpu, xMid, linear('down', s), train, `L${l}.xOut`);
  gpu.release(s);

  if (train) return { x: xOut, acts: { xIn, q, k, v, att, lse: lse!, xMid, g, u, saved: calls } };
  for (const saved of calls.values()) gpu.release(...saved.tensors);
  gpu.release(q, k, v, att, g, u);
  return { x: xOut, acts: null };
}

/** Where the dropout draws of layer l's adapters stand now (module name → dropoutCalls). */
export function layerDropoutCalls(model: LlamaModel, l: number): Map<string, number> {
  const calls = new Map<string, number>();
  for (const m of LINEAR_MODULES) {
    const adapter = model.adapters.get(moduleName(l, m));
    if (adapter) calls.set(moduleName(l, m), adapter.dropoutCalls);
  }
  return calls;
}

/**
 * Record block `l` again from what a 'recompute' forward kept, as a 'train' forward: the adapters
 * redraw the dropout masks of that forward (their counters rewound, then put back), so the
 * activations are the ones the forward computed. Returns them; their xIn is `input.xIn`.
 */
export function recomputeBlock(model: LlamaModel, l: number, input: LayerInput, B: number, T: number): LayerActs {
  const now = layerDropoutCalls(model, l);
  for (const [name, calls] of input.dropoutCalls) model.adapters.get(name)!.dropoutCalls = calls;
  const { x, acts } = recordBlock(model, l, input.xIn, B, T, { kind: 'train' });
  for (const [name, calls] of now) model.adapters.get(name)!.dropoutCalls = calls;
  model.gpu.release(x); // the layer's output is the next layer's kept input
  return acts!;
}

/** Write k, v (T, kv) into layer l's cache at pos0 and return the cache as attention's keys. */
function cacheKeys(
  gpu: Gpu, c: LlamaConfig, l: number, k: Tensor, v: Tensor, T: number, mode: { cache: KvCache; pos0: number },
): { k: Tensor; v: Tensor; S: number } {
  const { cache, pos0 } = mode;
  const kv = kvDim(c);
  gpu.copy(k, cache.k[l]!, T * kv * 4, 0, pos0 * kv * 4);
  gpu.copy(v, cache.v[l]!, T * kv * 4, 0, pos0 * kv * 4);
  return { k: cache.k[l]!, v: cache.v[l]!, S: cache.capacity };
}

/** x + y, consuming y: a new tensor when x is kept for backward, else x updated in place. */
function residual(gpu: Gpu, x: Tensor, y: Tensor, keep: boolean, label: string): Tensor {
  const out = keep ? gpu.tensor(label, x.shape) : x;
  if (keep) gpu.copy(x, out);
  addInPlace(gpu, out, y);
  gpu.release(y);
  return out;
}

/** Return a layer's kept activations and its adapters' saved tensors to the pool. */
export function releaseLayer(gpu: Gpu, a: LayerActs): void {
  for (const saved of a.saved.values()) gpu.release(...saved.tensors);
  gpu.release(a.xIn, a.q, a.k, a.v, a.att, a.lse, a.xMid, a.g, a.u);
}

// ---- backward ---------------------------------------------------------------------------------

/** Gradient scratch every layer's backward reuses, allocated once per pass. */
export interface BlockGrads {
  dH: Tensor; // (R, H) d s
  dg: Tensor; // (R, H) s recomputed, then d g
  du: Tensor; // (R, H)
  xn: Tensor; // (R, D) h2 recomputed, then h1
  dh: Tensor; // (R, D) d h2, then d att, then d h1
  dq: Tensor; // (R, D)
  dk: Tensor; // (R, kv)
  dv: Tensor; // (R, kv)
}

/** Allocate the backward scratch for R rows; the caller releases it. */
export function blockGrads(gpu: Gpu, c: LlamaConfig, R: number): BlockGrads {
  const D = c.dim, H = c.hiddenDim, kv = kvDim(c);
  return {
    dH: gpu.tensor('dH', [R, H]), dg: gpu.tensor('dg', [R, H]), du: gpu.tensor('du', [R, H]), xn: gpu.tensor('xn', [R, D]),
    dh: gpu.tensor('dh', [R, D]),
    dq: gpu.tensor('dq', [R, D]), dk: gpu.tensor('dk', [R, kv]), dv: gpu.tensor('dv', [R, kv]),
  };
}

/**
 * Record the backward of block `l` ('train' forward) from its activations `a`: dx (R, D) holds d xOut
 * on entry and d xIn on return. Trained base weights add their gradient into `grads` (by HF name),
 * adapters into their own buffers.
 */
export function recordBlockBackward(
  model: LlamaModel, grads: ReadonlyMap<string, Tensor>, l: number, a: LayerActs, dx: Tensor, d: BlockGrads, B: number, T: number,
): void {
  const { gpu, config: c } = model;
  const R = B * T, hd = headDim(c);
  const back = (m: LinearModule, x: Tensor, dy: Tensor, dIn: Tensor, accumulate: boolean) =>
    linearBackward(model, grads, l, m, a.saved.get(m)!, x, dy, dIn, R, accumulate);
  // xOut = xMid + down(silu(gate(h2))·up(h2)), h2 = rmsnorm(xMid)
  const s = d.dg; // s = silu(g)·u again, down's input, until dg is written
  swiglu(gpu, a.g, a.u, s);
  back('down', s, dx, d.dH, false); // dH = d s
  swigluBackward(gpu, a.g, a.u, d.dH, d.dg, d.du);
  const h2 = d.xn;
  rmsnorm(gpu, a.xMid, model.param(ffnNormName(l)), h2, c.normEps);
  back('gate', h2, d.dg, d.dh, false);
  back('up', h2, d.du, d.dh, true); // dh = d h2
  rmsnormBackward(gpu, a.xMid, model.param(ffnNormName(l)), d.dh, dx, grads.get(ffnNormName(l)) ?? null, c.normEps); // dx = d xMid
  // xMid = xIn + o(attn(rope(q(h1)), rope(k(h1)), v(h1))), h1 = rmsnorm(xIn)
  const dAtt = d.dh; // reuse: (R, D)
  back('o', a.att, dx, dAtt, false);
  attentionBackward(gpu, a.q, a.k, a.v, a.att, a.lse, dAtt, d.dq, d.dk, d.dv, {
    B, T, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: hd,
  });
  const rope = { B, T, headDim: hd, pos0: 0, theta: c.ropeTheta, inverse: true };
  ropeInPlace(gpu, d.dq, { ...rope, nHeads: c.nHeads }); // RoPE is a rotation: its transpose rotates back
  ropeInPlace(gpu, d.dk, { ...rope, nHeads: c.nKvHeads });
  const dh1 = d.dh; // dAtt is consumed: reuse for d h1
  const h1 = d.xn; // h2 is consumed
  rmsnorm(gpu, a.xIn, model.param(attentionNormName(l)), h1, c.normEps);
  back('q', h1, d.dq, dh1, false);
  back('k', h1, d.dk, dh1, true);
  back('v', h1, d.dv, dh1, true);
  rmsnormBackward(gpu, a.xIn, model.param(attentionNormName(l)), dh1, dx, grads.get(attentionNormName(l)) ?? null, c.normEps); // dx = d xIn
}

/** y = x·Wᵀ: dx (=, or += with `accumulate`) dy·W; dW += dyᵀ·x when W itself is trained. `saved`: what its forward kept. */
function linearBackward(
  model: LlamaModel, grads: ReadonlyMap<string, Tensor>, l: number, m: LinearModule, saved: Saved,
  x: Tensor, dy: Tensor, dx: Tensor, R: number, accumulate: boolean,
): void {
  const { gpu } = model;
  const W = model.param(linearName(l, m));
  const [out, inF] = W.shape as [number, number];
  const adapter = model.adapters.get(moduleName(l, m));
  if (adapter) adapter.backward(gpu, W, x, dy, R, saved, dx, accumulate);
  else matmul(gpu, dy, W, dx, R, inF, out, { bKN: true, accumulate });
  const dW = grads.get(linearName(l, m));
  if (dW) matmul(gpu, dy, x, dW, out, inF, R, { aKM: true, bKN: true, accumulate: true });
}
