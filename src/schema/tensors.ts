/**
 * A LLaMA model's weights on the CPU, keyed by Hugging Face tensor names, in Hugging Face layout:
 * matrices are (out, in) row-major and q_proj/k_proj rows are in HF order (RoPE rotates the two
 * halves of each head). llama2.c checkpoints are permuted into this layout when loaded.
 */
import { kvDim, type LlamaConfig } from './llama-config.ts';

export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export interface LlamaWeights {
  config: LlamaConfig;
  /** e.g. "model.layers.0.self_attn.q_proj.weight" → (dim, dim). No "lm_head.weight" when tied. */
  tensors: Map<string, HostTensor>;
  /**
   * Matrices the file stored in 16 bits (their `data` holds the exact f32 values): LlamaModel.upload keeps
   * them 16-bit on the GPU. Absent or empty: everything is uploaded as f32.
   */
  stored16?: Map<string, 'bf16' | 'f16'>;
}

/** The 16-bit type a checkpoint matrix keeps on the GPU ("BF16"/"F16" 2-D tensors), or undefined for f32. */
export function storedHalf(dtype: string, shape: readonly number[]): 'bf16' | 'f16' | undefined {
  if (shape.length !== 2) return undefined;
  return dtype === 'BF16' ? 'bf16' : dtype === 'F16' ? 'f16' : undefined;
}

export const LINEAR_MODULES = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type LinearModule = (typeof LINEAR_MODULES)[number];

/** HF module name of a linear module in layer `i`, e.g. "model.layers.0.self_attn.q_proj". */
export function moduleName(i: number, m: LinearModule): string {
  return m === 'gate' || m === 'up' || m === 'down' ? `model.layers.${i}.mlp.${m}_proj` : `model.layers.${i}.self_attn.${m}_proj`;
}

/** HF tensor name of a linear module's weight in layer `i`. */
export function linearName(i: number, m: LinearModule): string {
  return `${moduleName(i, m)}.weight`;
}

/** The token embedding (vocab, dim). */
export const EMBED_NAME = 'model.embed_tokens.weight';
/** The output head (vocab, dim); absent when the embedding is tied. */
export const LM_HEAD_NAME = 'lm_head.weight';
/** The final RMSNorm gain (dim). */
export const FINAL_NORM_NAME = 'model.norm.weight';
/** RMSNorm gain (dim) before attention in layer `i`. */
export const attentionNormName = (i: number): string => `model.layers.${i}.input_layernorm.weight`;
/** RMSNorm gain (dim) before the FFN in layer `i`. */
export const ffnNormName = (i: number): string => `model.layers.${i}.post_attention_layernorm.weight`;

/** (out, in) of linear module `m`: q, o (D, D); k, v (K, D) with K = kv heads · head size; gate, up (H, D); down (D, H). */
export function moduleShape(c: LlamaConfig, m: LinearModule): [number, number] {
  const kv = kvDim(c);
  switch (m) {
    case 'q': case 'o': return [c.dim, c.dim];
    case 'k': case 'v': return [kv, c.dim];
    case 'gate': case 'up': return [c.hiddenDim, c.dim];
    case 'down': return [c.dim, c.hiddenDim];
  }
}

/** Every tensor a LLaMA model of `c` must have, with its shape. */
export function expectedTensors(c: LlamaConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  m.set(EMBED_NAME, [c.vocabSize, c.dim]);
  for (let i = 0; i < c.nLayers; i++) {
    m.set(attentionNormName(i), [c.dim]);
    m.set(ffnNormName(i), [c.dim]);
    for (const mod of LINEAR_MODULES) m.set(linearName(i, mod), moduleShape(c, mod));
  }
  m.set(FINAL_NORM_NAME, [c.dim]);
  if (!c.tiedEmbeddings) m.set(LM_HEAD_NAME, [c.vocabSize, c.dim]);
  return m;
}
