/**
 * Whether a run's memory estimate fits a GPU memory budget, and if not, what single change makes it
 * fit: a smaller batch, a shorter sequence, activation recomputation, a lower rank (pure arithmetic
 * over memoryEstimate, for the studio's warning before Start).
 */
import { formatBytes, memoryEstimate, type WeightStorage } from './estimate.ts';
import type { LlamaConfig } from './llama-config.ts';
import type { TrainConfig } from './train-config.ts';

/** The model a run trains, as the estimate needs it. */
export interface FitModel {
  config: LlamaConfig;
  paramCount: number;
  weightStorage: WeightStorage;
}

/** One change that alone brings the estimate under the budget, with the estimate after it. */
export type MemoryFix =
  | { kind: 'batch' | 'seq' | 'rank'; value: number; bytes: number }
  | { kind: 'recompute'; bytes: number };

export interface MemoryFit {
  /** The run's estimate in bytes. */
  bytes: number;
  budgetBytes: number;
  /** bytes − budgetBytes when over, else 0. */
  overBytes: number;
  /** The single changes that fit, in the order batch, sequence, recompute, rank (empty when it fits or none does). */
  fixes: MemoryFix[];
}

const total = (config: TrainConfig, m: FitModel) => memoryEstimate(config, m.config, m.paramCount, m.weightStorage).total;

/** The largest v in [1, below) with fits(v), or null (fits is monotone: true up to some v, false after). */
function largestFitting(below: number, fits: (v: number) => boolean): number | null {
  if (below <= 1 || !fits(1)) return null;
  let lo = 1, hi = below - 1; // fits(lo) holds
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The estimate of `config` against `budgetBytes`; when over, each single change that fits. */
export function memoryFit(config: TrainConfig, model: FitModel, budgetBytes: number, usesRank: boolean): MemoryFit {
  if (!(budgetBytes > 0)) throw new Error(`GPU memory budget must be more than 0 bytes, got ${budgetBytes}`);
  const bytes = total(config, model);
  const overBytes = Math.max(0, bytes - budgetBytes);
  const fixes: MemoryFix[] = [];
  if (overBytes > 0) {
    const under = (c: TrainConfig) => total(c, model) <= budgetBytes;
    const batch = largestFitting(config.batch, (v) => under({ ...config, batch: v }));
    if (batch !== null) fixes.push({ kind: 'batch', value: batch, bytes: total({ ...config, batch }, model) });
    const seq = largestFitting(config.seq, (v) => under({ ...config, seq: v }));
    if (seq !== null) fixes.push({ kind: 'seq', value: seq, bytes: total({ ...config, seq }, model) });
    if (!config.recompute && under({ ...config, recompute: true })) fixes.push({ kind: 'recompute', bytes: total({ ...config, recompute: true }, model) });
    if (usesRank && config.method !== 'full') {
      const rank = largestFitting(config.rank, (v) => under({ ...config, rank: v }));
      if (rank !== null) fixes.push({ kind: 'rank', value: rank, bytes: total({ ...config, rank }, model) });
    }
  }
  return { bytes, budgetBytes, overBytes, fixes };
}

/** "a batch of 2 (≈ 3.1 GiB)", "activation recomputation (\"Save memory\") (≈ 1.2 GiB)". */
export function describeFix(f: MemoryFix): string {
  const what = f.kind === 'recompute' ? 'activation recomputation ("Save memory")'
    : f.kind === 'batch' ? `a batch of ${f.value}`
    : f.kind === 'seq' ? `a sequence length of ${f.value}`
    : `rank ${f.value}`;
  return `${what} (≈ ${formatBytes(f.bytes)})`;
}

/** The warning's sentence for a fit that is over budget, or null when it fits. */
export function memoryFitWarning(fit: MemoryFit): string | null {
  if (fit.overBytes <= 0) return null;
  const head = `This run needs ≈ ${formatBytes(fit.bytes)} of GPU memory, ${formatBytes(fit.overBytes)} more than the ${formatBytes(fit.budgetBytes)} budget.`;
  if (fit.fixes.length === 0) {
    return `${head} No single change of batch, sequence length, recompute or rank brings it under: combine them, or raise the budget if this GPU has more.`;
  }
  const options = fit.fixes.map(describeFix);
  const list = options.length === 1 ? options[0]! : `${options.slice(0, -1).join(', ')} or ${options.at(-1)}`;
  return `${head} To fit, use ${list}. It may still run if the GPU has more memory than the budget says.`;
}
