/**
 * A base model's weights where they live — a checkpoint's files (read one tensor at a time through
 * their ByteSources) or host memory (LlamaWeights: llama2.c checkpoints, made-up models) — behind one
 * interface. The engine keeps a WeightSource instead of a host copy of the weights: a model is
 * uploaded from it tensor by tensor, and what is needed again later (the base after a lost device,
 * W₀ of a full fine-tune's ΔW = W − W₀) is read from it again.
 */
import { toHalfBits } from '../gpu/half.ts';
import type { LlamaConfig } from '../schema/llama-config.ts';
import type { HostTensor, LlamaWeights } from '../schema/tensors.ts';

/** How the GPU keeps a tensor: f32, or the 16 bits the file stored it in. */
export type StoredAs = 'f32' | 'bf16' | 'f16';

export interface WeightEntry {
  /** HF tensor name, e.g. "model.layers.0.self_attn.q_proj.weight". */
  name: string;
  shape: readonly number[];
  stored: StoredAs;
  /** The 16-bit dtype the file holds it in (also for a 1-D gain the GPU keeps in f32); absent for F32/F64. */
  fileDtype?: 'bf16' | 'f16';
}

/** A tensor as the GPU stores it: f32 values, or 16-bit bit patterns (little-endian bytes). */
export type StoredTensor = { stored: 'f32'; data: Float32Array } | { stored: 'bf16' | 'f16'; bytes: Uint8Array };

export interface WeightSource {
  readonly config: LlamaConfig;
  /** Every tensor of the model in load order (embedding, layers, final norm, head). */
  readonly entries: readonly WeightEntry[];
  /** What the weights are read from, for messages ("model.safetensors", "stories260K.bin"). */
  readonly origin: string;
  /** One tensor decoded to float32 (a fresh array the caller may change). */
  read(name: string): Promise<HostTensor>;
  /**
   * One tensor as the GPU stores it, read into `scratch` when it is given and large enough (the result
   * may then be a view of it, valid only until the next call); f32 data may also be a view of memory the
   * source keeps. Copy it (upload it) before the next call.
   */
  readStored(name: string, scratch?: Uint8Array): Promise<StoredTensor>;
}

/** Bytes of the largest tensor as stored: the one scratch buffer a streamed upload needs. */
export function largestStoredBytes(src: WeightSource): number {
  return src.entries.reduce((m, e) => Math.max(m, e.shape.reduce((a, d) => a * d, 1) * (e.stored === 'f32' ? 4 : 2)), 0);
}

/** True when some tensor stays 16-bit on the GPU. */
export const hasStored16 = (src: WeightSource): boolean => src.entries.some((e) => e.stored !== 'f32');

/** Weights in host memory as a source (matrices listed in `stored16` stay 16-bit on the GPU; their values are exact). */
export function memoryWeights(w: LlamaWeights, origin = 'the weights in memory'): WeightSource {
  const entries: WeightEntry[] = [...w.tensors].map(([name, t]) => {
    const half = w.stored16?.get(name);
    return { name, shape: t.shape, stored: half ?? 'f32', ...(half ? { fileDtype: half } : {}) };
  });
  const get = (name: string): HostTensor => {
    const t = w.tensors.get(name);
    if (!t) throw new Error(`${origin} has no tensor "${name}"`);
    return t;
  };
  return {
    config: w.config,
    entries,
    origin,
    async read(name) {
      const t = get(name);
      return { shape: [...t.shape], data: t.data.slice() };
    },
    async readStored(name) {
      const t = get(name);
      const half = w.stored16?.get(name);
      if (!half) return { stored: 'f32', data: t.data };
      const bits = toHalfBits(t.data, half);
      return { stored: half, bytes: new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength) };
    },
  };
}

/** Every tensor decoded to float32 on the host (for what needs them all at once: an ONNX export of the base). */
export async function readAllWeights(src: WeightSource): Promise<LlamaWeights> {
  const tensors = new Map<string, HostTensor>();
  const stored16 = new Map<string, 'bf16' | 'f16'>();
  for (const e of src.entries) {
    tensors.set(e.name, await src.read(e.name));
    if (e.stored !== 'f32') stored16.set(e.name, e.stored);
  }
  return { config: src.config, tensors, stored16 };
}
