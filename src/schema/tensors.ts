/**
 * A LLaMA model's weights on the CPU, keyed by Hugging Face tensor names, in Hugging Face layout:
 * matrices are (out, in) row-major and q_proj/k_proj rows are in HF order (RoPE rotates the two
 * halves of each head). llama2.c checkpoints are permuted into this layout when loaded.
 */
import type { LlamaConfig } from './llama-config.ts';

export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export interface LlamaWeights {
  config: LlamaConfig;
  /** e.g. "model.layers.0.self_attn.q_proj.weight" → (dim, dim). No "lm_head.weight" when tied. */
  tensors: Map<string, HostTensor>;
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

/** Every tensor a LLaMA model of `c` must have, with its shape. */
export function expectedTensors(c: LlamaConfig): Map<string, number[]> {
  const hd = c.dim / c.nHeads;
  const kv = hd * c.nKvHeads;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [c.vocabSize, c.dim]);
  for (let i = 0; i < c.nLayers; i++) {
    m.set(`model.layers.${i}.input_layernorm.weight`, [c.dim]);
    m.set(`model.layers.${i}.post_attention_layernorm.weight`, [c.dim]);
    m.set(linearName(i, 'q'), [c.dim, c.dim]);
    m.set(linearName(i, 'k'), [kv, c.dim]);
    m.set(linearName(i, 'v'), [kv, c.dim]);
    m.set(linearName(i, 'o'), [c.dim, c.dim]);
    m.set(linearName(i, 'gate'), [c.hiddenDim, c.dim]);
    m.set(linearName(i, 'up'), [c.hiddenDim, c.dim]);
    m.set(linearName(i, 'down'), [c.dim, c.hiddenDim]);
  }
  m.set('model.norm.weight', [c.dim]);
  if (!c.tiedEmbeddings) m.set('lm_head.weight', [c.vocabSize, c.dim]);
  return m;
}
