/**
 * MiLoRA's forgetting measure (arXiv 2406.09044; ../shared/design/METHODS.md): the cross-entropy of
 * the fine-tuned model's next-token distribution q against the base model's own distribution p on
 * held-out base text, CE = −Σ_v p(v) log q(v), averaged over the counted positions. Before any step
 * q = p and CE is the base model's entropy H(p), its floor (CE − H(p) = KL(p‖q) ≥ 0 is what training
 * added). Logits come from the GPU forward; the softmaxes and sums are float64 on the host.
 */
import type { LlamaModel } from '../model/llama.ts';
import type { PackedWindow } from '../train/packing.ts';

/** log softmax of one row of logits, in float64. */
export function logSoftmax(logits: ArrayLike<number>, offset = 0, n = logits.length - offset): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[offset + i]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[offset + i]! - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = logits[offset + i]! - lse;
  return out;
}

/** −Σ p log q for one position, from log p and log q (float64). */
export function crossEntropyRow(logP: Float64Array, logQ: Float64Array): number {
  let ce = 0;
  for (let v = 0; v < logP.length; v++) ce -= Math.exp(logP[v]!) * logQ[v]!;
  return ce;
}

/** The base model's log-distributions on the counted positions of some windows. */
export interface BaseDistribution {
  windows: { inputs: number[]; positions: number[] }[];
  /** Per window: (positions, vocab) log p, row-major. */
  logP: Float64Array[];
  vocab: number;
}

/** The counted positions (target ≥ 0) of a window, and its inputs up to the last of them. */
function counted(w: PackedWindow): { inputs: number[]; positions: number[] } {
  const positions: number[] = [];
  w.targets.forEach((t, i) => t >= 0 && positions.push(i));
  return { inputs: Array.from(w.inputs.subarray(0, (positions.at(-1) ?? -1) + 1)), positions };
}

/** Logits (T, vocab) of each window's inputs under `model` as it is now, as log-distributions at the counted positions. */
async function logDistributions(model: LlamaModel, windows: BaseDistribution['windows']): Promise<Float64Array[]> {
  const V = model.config.vocabSize;
  const out: Float64Array[] = [];
  for (const w of windows) {
    const logits = await model.logits(w.inputs); // (T, V)
    const rows = new Float64Array(w.positions.length * V);
    w.positions.forEach((t, i) => rows.set(logSoftmax(logits, t * V, V), i * V));
    out.push(rows);
  }
  return out;
}

/** The base model's distributions on the first `maxWindows` windows (call before the first step). */
export async function baseDistribution(model: LlamaModel, windows: readonly PackedWindow[], maxWindows: number): Promise<BaseDistribution> {
  const kept = windows.slice(0, maxWindows).map(counted).filter((w) => w.positions.length > 0);
  if (kept.length === 0) throw new Error('forgetting CE: the held-out base text has no counted positions');
  return { windows: kept, logP: await logDistributions(model, kept), vocab: model.config.vocabSize };
}

/** CE of `model` as it is now against the base distributions, averaged over every counted position. */
export async function crossEntropyToBase(model: LlamaModel, base: BaseDistribution): Promise<number> {
  const V = base.vocab;
  const logQ = await logDistributions(model, base.windows);
  let total = 0, n = 0;
  base.logP.forEach((logP, w) => {
    for (let i = 0; i < logP.length / V; i++) {
      total += crossEntropyRow(logP.subarray(i * V, (i + 1) * V), logQ[w]!.subarray(i * V, (i + 1) * V));
      n++;
    }
  });
  return total / n;
}
