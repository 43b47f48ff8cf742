/**
 * Held-out text of a base model's own distribution, for models without a held-out corpus of their
 * own (the built-in model has one: corpus/demos.ts forgetProbeDemo): documents sampled from the base
 * model itself (temperature 1, no nucleus cut, seeded), one per paragraph. Measured before training,
 * so they are text the base model already "knew".
 */
import type { Tokenizer } from '../io/tokenizer.ts';
import { generate } from '../model/generate.ts';
import type { LlamaModel } from '../model/llama.ts';

export async function sampledBaseText(
  model: LlamaModel, tokenizer: Tokenizer, o: { documents: number; tokens: number; seed: number },
): Promise<string> {
  const docs: string[] = [];
  for (let i = 0; i < o.documents; i++) {
    const r = await generate(model, tokenizer, { maxTokens: o.tokens, temperature: 1, topP: 1, seed: o.seed * 1000 + i });
    const text = r.text.replace(/\n\s*\n/g, '\n').trim();
    if (text) docs.push(text);
  }
  if (docs.length === 0) throw new Error('the base model generated only empty documents: no held-out base text to measure forgetting on');
  return docs.join('\n\n');
}
