/** Text generation with a KV cache: prefill the prompt, then one token at a time. */
import type { Tokenizer } from '../io/tokenizer.ts';
import type { LlamaModel } from './llama.ts';
import { Rng, sampleToken } from './sampling.ts';

export interface GenerateOptions {
  /** Text after BOS; empty or absent starts from BOS alone. */
  prompt?: string;
  /** New tokens to generate at most (default 256, as llama2.c's run). */
  maxTokens?: number;
  /** 0 = greedy (default). */
  temperature?: number;
  /** Nucleus sampling mass; 1 disables it (default 0.9, as llama2.c). */
  topP?: number;
  seed?: number;
  /** Checked between tokens; return true to stop. */
  shouldStop?: () => boolean;
}

export interface GenerateResult {
  /** BOS, the prompt's tokens and the generated ones. */
  ids: number[];
  text: string;
}

/**
 * Generate from `model`. Stops after maxTokens, at the end of the context, or when the model
 * emits BOS or EOS (which are not included), like llama2.c's run.
 */
export async function generate(
  model: LlamaModel,
  tokenizer: Tokenizer,
  opts: GenerateOptions = {},
  onToken?: (piece: string, id: number) => void,
): Promise<GenerateResult> {
  const maxTokens = opts.maxTokens ?? 256;
  const temperature = opts.temperature ?? 0;
  const topP = opts.topP ?? 0.9;
  if (!(maxTokens >= 0) || !Number.isInteger(maxTokens)) throw new Error(`maxTokens must be a whole number ≥ 0, got ${maxTokens}`);
  if (!(temperature >= 0)) throw new Error(`temperature must be ≥ 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`topP must be in (0, 1], got ${topP}`);
  const c = model.config;
  const ids = tokenizer.encode(opts.prompt ?? '', { bos: true });
  if (ids.length > c.maxSeqLen) throw new Error(`the prompt is ${ids.length} tokens; the model's context is ${c.maxSeqLen}`);
  const capacity = Math.min(c.maxSeqLen, ids.length + maxTokens);
  const cache = model.createCache(capacity);
  const rng = new Rng(opts.seed ?? Date.now());
  const stops = new Set([tokenizer.bosId, tokenizer.eosId]);
  let textSoFar = tokenizer.decode(ids);
  try {
    let logits = await model.step(ids, 0, cache);
    for (let n = 0; n < maxTokens && !opts.shouldStop?.(); n++) {
      const next = sampleToken(logits, temperature, topP, rng);
      if (stops.has(next)) break;
      ids.push(next);
      if (onToken) {
        const text = tokenizer.decode(ids);
        onToken(text.slice(textSoFar.length), next);
        textSoFar = text;
      }
      if (ids.length >= capacity) break;
      logits = await model.step([next], ids.length - 1, cache);
    }
  } finally {
    model.releaseCache(cache);
  }
  return { ids, text: tokenizer.decode(ids) };
}
