/**
 * A LLaMA model on the GPU: its parameters as tensors and the forward pass recorded as kernels.
 * Weights are in Hugging Face layout (RoPE rotates the halves of each head), whatever file they came from.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { attention } from '../kernels/attention.ts';
import { addInPlace, swiglu } from '../kernels/elementwise.ts';
import { embedding } from '../kernels/embedding.ts';
import { matmul } from '../kernels/matmul.ts';
import { rmsnorm } from '../kernels/rmsnorm.ts';
import { ropeInPlace } from '../kernels/rope.ts';
import { headDim, kvDim, type LlamaConfig } from './config.ts';
import type { LinearAdapter, Saved } from '../adapters/adapter.ts';
import { linearName, moduleName, type LinearModule, type LlamaWeights } from './weights.ts';

/** Keys and values of every layer for positions 0..capacity-1 of one sequence. */
export interface KvCache {
  capacity: number;
  k: Tensor[]; // per layer (capacity, kvDim)
  v: Tensor[]; // per layer (capacity, kvDim)
}

export class LlamaModel {
  /** Adapters by module name ("model.layers.0.self_attn.q_proj"); modules without one use W alone. */
  readonly adapters = new Map<string, LinearAdapter>();

  private constructor(
    readonly gpu: Gpu,
    readonly config: LlamaConfig,
    /** GPU parameters keyed by HF tensor name. */
    readonly params: Map<string, Tensor>,
  ) {}

  /** Copy `weights` to the GPU. */
  static upload(gpu: Gpu, weights: LlamaWeights): LlamaModel {
    const params = new Map<string, Tensor>();
    for (const [name, t] of weights.tensors) params.set(name, gpu.upload(name, t.shape, t.data));
    return new LlamaModel(gpu, weights.config, params);
  }

  /** Number of parameters (tied embeddings counted once). */
  get parameterCount(): number {
    let n = 0;
    for (const t of this.params.values()) n += t.shape.reduce((a, b) => a * b, 1);
    return n;
  }

  param(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`model has no parameter "${name}"`);
    return t;
  }

  /** The output head: lm_head, or the embedding matrix when tied. */
  get head(): Tensor {
    return this.params.get('lm_head.weight') ?? this.param('model.embed_tokens.weight');
  }

  createCache(capacity = this.config.maxSeqLen): KvCache {
    const kv = kvDim(this.config);
    const k: Tensor[] = [], v: Tensor[] = [];
    for (let l = 0; l < this.config.nLayers; l++) {
      k.push(this.gpu.tensor(`cache.k.${l}`, [capacity, kv]));
      v.push(this.gpu.tensor(`cache.v.${l}`, [capacity, kv]));
    }
    return { capacity, k, v };
  }

  releaseCache(cache: KvCache): void {
    this.gpu.release(...cache.k, ...cache.v);
  }

  /**
   * Record y(rows, out) = x(rows, in)·Wᵀ (through the module's adapter, if any) for module `m` of layer
   * `layer`. With `saved` it is a training forward: the adapter keeps what its backward needs there.
   */
  linear(layer: number, m: LinearModule, x: Tensor, rows: number, saved: Saved | null = null): Tensor {
    const W = this.param(linearName(layer, m));
    const adapter = this.adapters.get(moduleName(layer, m));
    if (adapter) return adapter.forward(this.gpu, W, x, rows, saved);
    const [out, inF] = W.shape as [number, number];
    const y = this.gpu.tensor(`L${layer}.${m}`, [rows, out]);
    matmul(this.gpu, x, W, y, rows, out, inF);
    return y;
  }

  /**
   * Record the forward pass of tokens `ids` at positions pos0.. of `cache` (their keys and values
   * are written into it) and return the final normalised hidden states (T, dim). The caller
   * releases the result.
   */
  forwardHidden(idsTensor: Tensor, T: number, pos0: number, cache: KvCache): Tensor {
    const { gpu, config: c } = this;
    if (pos0 + T > cache.capacity) {
      throw new Error(`sequence of ${pos0 + T} tokens exceeds the cache capacity ${cache.capacity}`);
    }
    const D = c.dim, kv = kvDim(c), hd = headDim(c);
    const x = gpu.tensor('x', [T, D]); // residual stream (T, D)
    embedding(gpu, idsTensor, this.param('model.embed_tokens.weight'), x);
    const h = gpu.tensor('h', [T, D]);
    const att = gpu.tensor('att', [T, D]);
    for (let l = 0; l < c.nLayers; l++) {
      // attention block: x += o(attn(rope(q(h)), rope(k(h)), v(h))), h = rmsnorm(x)
      rmsnorm(gpu, x, this.param(`model.layers.${l}.input_layernorm.weight`), h, c.normEps);
      const q = this.linear(l, 'q', h, T); // (T, D)
      const k = this.linear(l, 'k', h, T); // (T, kv)
      const v = this.linear(l, 'v', h, T); // (T, kv)
      const rope = { B: 1, T, headDim: hd, pos0, theta: c.ropeTheta };
      ropeInPlace(gpu, q, { ...rope, nHeads: c.nHeads });
      ropeInPlace(gpu, k, { ...rope, nHeads: c.nKvHeads });
      gpu.copy(k, cache.k[l], T * kv * 4, 0, pos0 * kv * 4);
      gpu.copy(v, cache.v[l], T * kv * 4, 0, pos0 * kv * 4);
      attention(gpu, q, cache.k[l], cache.v[l], att, {
        B: 1, T, S: cache.capacity, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: hd, pos0,
      });
      const o = this.linear(l, 'o', att, T);
      addInPlace(gpu, x, o);
      gpu.release(q, k, v, o);
      // feed-forward block: x += down(silu(gate(h)) · up(h)), h = rmsnorm(x)
      rmsnorm(gpu, x, this.param(`model.layers.${l}.post_attention_layernorm.weight`), h, c.normEps);
      const g = this.linear(l, 'gate', h, T); // (T, H)
      const u = this.linear(l, 'up', h, T); // (T, H)
      const s = gpu.tensor('swiglu', [T, c.hiddenDim]);
      swiglu(gpu, g, u, s);
      const d = this.linear(l, 'down', s, T);
      addInPlace(gpu, x, d);
      gpu.release(g, u, s, d);
    }
    rmsnorm(gpu, x, this.param('model.norm.weight'), h, c.normEps);
    gpu.release(x, att);
    return h;
  }

  /** Record logits (rows, vocab) of hidden states (rows, dim). */
  logitsOf(hidden: Tensor, rows: number): Tensor {
    const logits = this.gpu.tensor('logits', [rows, this.config.vocabSize]);
    matmul(this.gpu, hidden, this.head, logits, rows, this.config.vocabSize, this.config.dim);
    return logits;
  }

  /** Logits (T, vocab) of a whole sequence from position 0, read back. */
  async logits(ids: readonly number[]): Promise<Float32Array> {
    const T = ids.length;
    const cache = this.createCache(Math.max(T, 1));
    const idsT = this.uploadIds(ids);
    const hidden = this.forwardHidden(idsT, T, 0, cache);
    const logits = this.logitsOf(hidden, T);
    try {
      return await this.gpu.read(logits);
    } finally {
      this.gpu.release(idsT, hidden, logits);
      this.releaseCache(cache);
    }
  }

  /** Feed `ids` at positions pos0.. of `cache` and return the logits of the last one (vocab). */
  async step(ids: readonly number[], pos0: number, cache: KvCache): Promise<Float32Array> {
    const { gpu, config: c } = this;
    const T = ids.length;
    const idsT = this.uploadIds(ids);
    const hidden = this.forwardHidden(idsT, T, pos0, cache);
    const last = gpu.tensor('last', [1, c.dim]);
    gpu.copy(hidden, last, c.dim * 4, (T - 1) * c.dim * 4, 0);
    const logits = this.logitsOf(last, 1);
    try {
      return await gpu.read(logits);
    } finally {
      gpu.release(idsT, hidden, last, logits);
    }
  }

  uploadIds(ids: readonly number[]): Tensor {
    const V = this.config.vocabSize;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`token id ${id} is outside the vocabulary (0..${V - 1})`);
    }
    return this.gpu.upload('ids', [ids.length], Uint32Array.from(ids));
  }

  /** Read every parameter back (the base weights; adapters are not folded in). */
  async readWeights(): Promise<LlamaWeights> {
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, t] of this.params) tensors.set(name, { shape: [...t.shape], data: await this.gpu.read(t) });
    return { config: { ...this.config }, tensors };
  }

  dispose(): void {
    for (const a of this.adapters.values()) a.dispose(this.gpu);
    this.adapters.clear();
    for (const t of this.params.values()) this.gpu.release(t);
    this.params.clear();
  }
}
