/**
 * How many weights a LLaMA config implies, in closed form (float arithmetic, no per-layer loop), so a
 * file whose header or config.json claims absurd sizes (2^24 layers, 1e308 heads) is refused before any
 * per-layer structure is built or anything is allocated.
 */
import type { LlamaConfig } from '../schema/llama-config.ts';

/** Sum of the element counts of expectedTensors(c), as a float (exact below 2^53; may be Infinity). */
export function llamaWeightCount(c: LlamaConfig): number {
  const { dim, hiddenDim: hid, nLayers, vocabSize: V } = c;
  const kv = (dim / c.nHeads) * c.nKvHeads;
  // per layer: two RMSNorm gains, q and o (dim, dim), k and v (kv, dim), gate and up (hid, dim), down (dim, hid)
  const perLayer = 2 * dim + 2 * dim * dim + 2 * kv * dim + 3 * hid * dim;
  return V * dim + nLayers * perLayer + dim + (c.tiedEmbeddings ? 0 : V * dim);
}

/**
 * A count for a message: the exact integer below 2^53, else 4 significant digits ("4.398e+12"), and
 * "more than 1.8e+308" past the largest double.
 */
export function formatCount(n: number): string {
  if (Number.isSafeInteger(n)) return String(n);
  return Number.isFinite(n) ? n.toPrecision(4) : 'more than 1.8e+308';
}
