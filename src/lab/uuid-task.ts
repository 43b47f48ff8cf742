/**
 * The MoRA memory task (arXiv 2405.12130, "UUID pairs"): random UUID keys, each mapped to a random
 * UUID value, to memorise. Nothing can be generalised: only memory helps. Deterministic in its seed
 * (the corpus RNG: integer arithmetic, the same stream everywhere).
 */
import { Rng, mixSeed } from '../corpus/rng.ts';

/** One pair: the prompt the model sees and the value it must generate. */
export interface KeyValuePair {
  key: string;
  value: string;
}

export interface UuidTaskOptions {
  pairs: number;
  seed: number;
  /** Hex digits per dash-separated group: [8, 4, 4, 4, 12] is a whole UUID (the paper's). */
  groups: readonly number[];
}

/** A random code in UUID layout (groups of hex digits joined by "-"). */
function code(rng: Rng, groups: readonly number[]): string {
  return groups.map((n) => rng.hex(n)).join('-');
}

/** `pairs` distinct random keys with random values. */
export function uuidPairs(o: UuidTaskOptions): KeyValuePair[] {
  if (!(Number.isInteger(o.pairs) && o.pairs >= 1)) throw new Error(`uuid task: pairs must be a whole number ≥ 1, got ${o.pairs}`);
  if (o.groups.length === 0 || o.groups.some((g) => !(Number.isInteger(g) && g >= 1))) {
    throw new Error(`uuid task: groups must be whole numbers ≥ 1, got [${o.groups.join(', ')}]`);
  }
  const rng = new Rng(mixSeed(o.seed, 0x0a11d));
  const keys = new Set<string>();
  const out: KeyValuePair[] = [];
  while (out.length < o.pairs) {
    const key = code(rng, o.groups);
    if (keys.has(key)) continue;
    keys.add(key);
    out.push({ key, value: code(rng, o.groups) });
  }
  return out;
}

/** The prompt of a pair; the completion is " " + value. */
export const uuidPrompt = (key: string): string => `${key} ->`;

/** Pairs as prompt/completion JSONL (loss on the value only). */
export function uuidJsonl(pairs: readonly KeyValuePair[]): string {
  return pairs.map((p) => JSON.stringify({ prompt: uuidPrompt(p.key), completion: ` ${p.value}` })).join('\n') + '\n';
}
