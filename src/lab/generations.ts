/**
 * The MoRA memory task's metrics from greedy generations: for each pair, the model is prompted with
 * the key and generates greedily; the generated value is the text after the prompt with its one
 * leading space removed, cut to the expected value's length. Exact match: every character right.
 * Character accuracy: the share of the value's positions whose character is right (a missing
 * character is wrong), averaged over all characters of all pairs.
 */
import type { Tokenizer } from '../io/tokenizer.ts';
import { generate } from '../model/generate.ts';
import type { LlamaModel } from '../model/llama.ts';
import type { Generation } from './types.ts';
import { uuidPrompt, type KeyValuePair } from './uuid-task.ts';

/** Tokens generated beyond the value's own token count (room for a different tokenisation). */
const EXTRA_TOKENS = 4;

/** The value part of a generation: after the prompt, one leading space dropped, cut to `length` characters. */
export function generatedValue(fullText: string, promptText: string, length: number): string {
  let rest = fullText.startsWith(promptText) ? fullText.slice(promptText.length) : fullText;
  if (rest.startsWith(' ')) rest = rest.slice(1);
  return rest.slice(0, length);
}

/** Greedy generation of every pair's value. */
export async function generateValues(model: LlamaModel, tokenizer: Tokenizer, pairs: readonly KeyValuePair[]): Promise<Generation[]> {
  const out: Generation[] = [];
  for (const p of pairs) {
    const prompt = uuidPrompt(p.key);
    const promptText = tokenizer.decode(tokenizer.encode(prompt, { bos: true }));
    const maxTokens = tokenizer.encode(` ${p.value}`).length + EXTRA_TOKENS;
    const r = await generate(model, tokenizer, { prompt, maxTokens, temperature: 0 });
    out.push({ prompt, expected: p.value, generated: generatedValue(r.text, promptText, p.value.length) });
  }
  return out;
}

/** Exact-match rate and character accuracy of generations (see the file comment), in [0, 1]. */
export function scoreGenerations(items: readonly Generation[]): { exactMatch: number; charAccuracy: number } {
  if (items.length === 0) throw new Error('scoreGenerations: no generations');
  let exact = 0, right = 0, chars = 0;
  for (const g of items) {
    if (g.generated === g.expected) exact++;
    for (let i = 0; i < g.expected.length; i++) if (g.generated[i] === g.expected[i]) right++;
    chars += g.expected.length;
  }
  return { exactMatch: exact / items.length, charAccuracy: right / chars };
}
