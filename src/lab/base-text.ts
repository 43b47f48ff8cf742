/**
 * Held-out text of a base model's own distribution, for models without a held-out corpus of their
 * own (the built-in model has one: corpus/demos.ts forgetProbeDemo): documents sampled from the base
 * model itself (temperature 1, no nucleus cut, seeded), one per paragraph. Measured before training,
 * so they are text the base model already "knew".
 */
import { forgetProbeDemo, newFactsDemo } from '../corpus/demos.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Tokenizer } from '../io/tokenizer.ts';
import { generate } from '../model/generate.ts';
import type { LlamaModel } from '../model/llama.ts';
import { loadModel } from '../model/load-checkpoint.ts';
import type { WeightSource } from '../io/weight-source.ts';
import type { LabTexts } from './run-experiment.ts';

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

/** Held-out documents of the built-in model's corpus (the studio's forget-probe demo), one per paragraph. */
export function builtInBaseText(): string {
  return forgetProbeDemo().jsonl.trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text).join('\n\n');
}

/**
 * The texts a preset trains and measures on, as the CLI and the studio both get them: the new-facts
 * demo, and the built-in model's held-out corpus text — or, for another model, documents sampled from
 * it (2 for a quick version, 24 for a full one, up to 128 tokens each).
 */
export async function labTexts(
  o: { gpu: Gpu; base: WeightSource; tokenizer: Tokenizer; builtIn: boolean; quick: boolean; seed: number },
): Promise<LabTexts> {
  const facts = newFactsDemo().jsonl;
  if (o.builtIn) return { facts, baseText: builtInBaseText() };
  const { model } = await loadModel(o.gpu, o.base);
  try {
    const baseText = await sampledBaseText(model, o.tokenizer, { documents: o.quick ? 2 : 24, tokens: Math.min(128, model.config.maxSeqLen - 1), seed: o.seed });
    return { facts, baseText };
  } finally {
    model.dispose();
  }
}
