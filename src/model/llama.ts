/**
 * A LLaMA model on the GPU: its parameters as tensors and the forward pass recorded as kernels.
 * Weights are in Hugging Face layout (RoPE rotates the halves of each head), whatever file they came from.
 */
import type { Gpu } from '../gpu/gpu.ts';
import { toHalfBits } from '../gpu/half.ts';
import { isPacked16, type Tensor } from '../gpu/tensor.ts';
import { toF32 } from '../kernels/cast.ts';
import { embedding } from '../kernels/embedding.ts';
import { matmul } from '../kernels/matmul.ts';
import { rmsnorm } from '../kernels/rmsnorm.ts';
import type { WeightSource } from '../io/weight-source.ts';
import { kvDim, type LlamaConfig } from '../schema/llama-config.ts';
import type { LinearAdapter, Saved } from './linear-adapter.ts';
import {
  layerDropoutCalls, recordBlock, releaseLayer, type ForwardMode, type KvCache, type LayerActs, type LayerInput,
} from './llama-block.ts';
import { EMBED_NAME, FINAL_NORM_NAME, type LinearModule, linearName, type LlamaWeights, LM_HEAD_NAME, moduleName } from '../schema/tensors.ts';

/** A recorded forward of B·T tokens. */
export interface Forward {
  x: Tensor; // (B·T, D) residual leaving the last block (the final norm's input)
  hidden: Tensor; // (B·T, D) rmsnorm(x)
  layers: LayerActs[]; // per layer, for backward ('train' only)
  inputs: LayerInput[]; // per layer, its input, for backward to recompute it from ('recompute' only)
}

export class LlamaModel {
  /** Adapters by module name ("model.layers.0.self_attn.q_proj"); modules without one use W alone. */
  readonly adapters = new Map<string, LinearAdapter>();

  private constructor(
    readonly gpu: Gpu,
    readonly config: LlamaConfig,
    /** GPU parameters keyed by HF tensor name. */
    readonly params: Map<string, Tensor>,
    /**
     * The parameters the file stored in 16 bits (kept when one is promoted to f32 for training or
     * merging, and for 1-D gains the GPU keeps in f32): merged exports write them in that dtype again
     * unless asked for f32. Default: the parameters that are 16-bit on the GPU.
     */
    readonly fileDtypes: ReadonlyMap<string, 'bf16' | 'f16'> = new Map(
      [...params].flatMap(([name, t]) => (isPacked16(t) ? [[name, t.dtype as 'bf16' | 'f16'] as const] : [])),
    ),
  ) {}

  /** Copy `weights` to the GPU: the matrices a file stored in 16 bits (weights.stored16) stay 16-bit, the rest f32. */
  static upload(gpu: Gpu, weights: LlamaWeights): LlamaModel {
    const params = new Map<string, Tensor>();
    for (const [name, t] of weights.tensors) {
      const half = weights.stored16?.get(name);
      // Exact: the values came from these 16 bits.
      params.set(name, half ? gpu.uploadBytes(name, t.shape, half, bytesOf(toHalfBits(t.data, half))) : gpu.upload(name, t.shape, t.data));
    }
    return new LlamaModel(gpu, weights.config, params);
  }

  /** A model over parameters already on the GPU (streamed loading, load-checkpoint.ts); 16-bit matrices stay 16-bit. */
  static fromParams(gpu: Gpu, config: LlamaConfig, params: Map<string, Tensor>, fileDtypes?: ReadonlyMap<string, 'bf16' | 'f16'>): LlamaModel {
    return new LlamaModel(gpu, config, params, fileDtypes);
  }

  /**
   * Make parameter `name` f32 if it is stored in 16 bits (a weight about to be trained or rewritten:
   * full fine-tuning, merging, PiSSA's residual): decoded exactly into a new f32 tensor that replaces it.
   */
  promoteToF32(name: string): Tensor {
    const t = this.param(name);
    if (!isPacked16(t)) return t;
    const f32 = toF32(this.gpu, t, name);
    this.params.set(name, f32);
    this.gpu.release(t);
    return f32;
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

  /** HF name of the output head: lm_head, or the embedding matrix when tied. */
  get headName(): string {
    return this.params.has(LM_HEAD_NAME) ? LM_HEAD_NAME : EMBED_NAME;
  }

  /** The output head (vocab, dim). */
  get head(): Tensor {
    return this.param(this.headName);
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
   * Record the forward of tokens `ids` (B·T u32) as `mode` says (./llama-block.ts): the embedding, every
   * block, the final RMSNorm. The caller releases what it returns (releaseForward).
   */
  recordForward(ids: Tensor, B: number, T: number, mode: ForwardMode): Forward {
    const { gpu, config: c } = this;
    let x = gpu.tensor('x0', [B * T, c.dim]); // residual stream (B·T, D)
    embedding(gpu, ids, this.param(EMBED_NAME), x);
    const layers: LayerActs[] = [];
    const inputs: LayerInput[] = [];
    for (let l = 0; l < c.nLayers; l++) {
      if (mode.kind === 'recompute') inputs.push({ xIn: x, dropoutCalls: layerDropoutCalls(this, l) });
      const block = recordBlock(this, l, x, B, T, mode);
      if (block.acts) layers.push(block.acts);
      x = block.x;
    }
    const hidden = gpu.tensor('hidden', [B * T, c.dim]);
    rmsnorm(gpu, x, this.param(FINAL_NORM_NAME), hidden, c.normEps);
    return { x, hidden, layers, inputs };
  }

  /** Return a forward's tensors to the pool; work recorded later on them runs after it. */
  releaseForward(f: Forward): void {
    for (const a of f.layers) releaseLayer(this.gpu, a);
    this.gpu.release(f.x, f.hidden, ...f.inputs.map((i) => i.xIn));
  }

  /**
   * Record the forward pass of tokens `ids` at positions pos0.. of `cache` (their keys and values
   * are written into it) and return the final normalised hidden states (T, dim). The caller
   * releases the result.
   */
  forwardHidden(idsTensor: Tensor, T: number, pos0: number, cache: KvCache): Tensor {
    if (pos0 + T > cache.capacity) {
      throw new Error(`sequence of ${pos0 + T} tokens exceeds the cache capacity ${cache.capacity}`);
    }
    const f = this.recordForward(idsTensor, 1, T, { kind: 'cached', cache, pos0 });
    this.gpu.release(f.x);
    return f.hidden;
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

  /**
   * The parameters as a WeightSource read from the GPU, each tensor as f32 when asked for (the trained
   * weights of a full fine-tune, compared module by module with the base they came from).
   */
  weightSource(origin = 'the model on the GPU'): WeightSource {
    const entries = [...this.params].map(([name, t]) => ({ name, shape: [...t.shape], stored: 'f32' as const }));
    const read = async (name: string) => ({ shape: [...this.param(name).shape], data: await this.gpu.read(this.param(name)) });
    return { config: this.config, entries, origin, read, readStored: async (name) => ({ stored: 'f32', data: (await read(name)).data }) };
  }

  dispose(): void {
    for (const a of this.adapters.values()) a.dispose(this.gpu);
    this.adapters.clear();
    for (const t of this.params.values()) this.gpu.release(t);
    this.params.clear();
  }
}

const bytesOf = (a: Uint16Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
