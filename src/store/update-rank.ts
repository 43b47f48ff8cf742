/**
 * A run's update rank for comparison: the mean over modules of ΔW's rank90 at each module's latest
 * spectra round ("LoRA Learns Less and Forgets Less": full fine-tuning's ΔW is of far higher rank).
 */
import type { SpectraRound } from '../persist/stored-run.ts';

/** Mean of the latest delta_rank90 per module over `rounds` (in step order); null without rounds. */
export function meanRank90(rounds: readonly SpectraRound[]): number | null {
  const latest = new Map<string, number>();
  for (const round of [...rounds].sort((a, b) => a.step - b.step)) {
    for (const e of round.entries) latest.set(e.name, e.delta_rank90);
  }
  if (latest.size === 0) return null;
  let sum = 0;
  for (const r of latest.values()) sum += r;
  return sum / latest.size;
}
