/**
 * A run's update, summarised for comparison from each module's latest spectra round: the mean rank90
 * of ΔW ("LoRA Learns Less and Forgets Less": full fine-tuning's ΔW is of far higher rank; MoRA's square
 * update is high-rank at LoRA's parameter count) and the mean overlap of ΔW with W₀'s principal and
 * minor subspaces (MiLoRA updates the minor ones, PiSSA the principal ones).
 */
import type { SpectraRound } from '../schema/metrics.ts';
import type { SpectraEntry } from '../schema/metrics.ts';

export interface UpdateSummary {
  rank90: number;
  principal: number;
  minor: number;
}

/** Means over modules of their latest entries in `rounds` (any order); null without rounds. */
export function updateSummary(rounds: readonly SpectraRound[]): UpdateSummary | null {
  const latest = new Map<string, SpectraEntry>();
  for (const round of [...rounds].sort((a, b) => a.step - b.step)) {
    for (const e of round.entries) latest.set(e.name, e);
  }
  if (latest.size === 0) return null;
  const mean = (f: (e: SpectraEntry) => number) => [...latest.values()].reduce((a, e) => a + f(e), 0) / latest.size;
  return { rank90: mean((e) => e.delta_rank90), principal: mean((e) => e.overlap_principal), minor: mean((e) => e.overlap_minor) };
}
