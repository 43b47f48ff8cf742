/**
 * How much a run learned and how much it forgot, after "LoRA Learns Less and Forgets Less"
 * (Biderman et al. 2024, arXiv 2405.09673), from its eval points:
 * - learning: the eval loss at step 0 (the base model, before training) minus the final eval loss —
 *   how far the loss on the new data fell;
 * - forgetting: the final forgetting-probe loss minus the probe loss at step 0 — how far the loss on
 *   held-out base-distribution text rose.
 * "Final" is the last point after step 0 with a finite value; either number is null when the run has
 * no step-0 value or no later one for it (no probe, no eval split, or stopped before a later eval).
 */
import type { EvalPoint } from '../../schema/metrics.ts';

export interface LearnForget {
  learning: number | null;
  forgetting: number | null;
}

type Value = (p: EvalPoint) => number | undefined;

const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);

/** The value at step 0 and the last later finite value, or null when either is missing. */
function startAndEnd(points: readonly EvalPoint[], value: Value): { start: number; end: number } | null {
  const start = points.find((p) => p.step === 0 && finite(value(p)));
  if (!start) return null;
  for (let i = points.length - 1; i >= 0; i--) {
    const p = points[i]!;
    const v = value(p);
    if (p.step > 0 && finite(v)) return { start: value(start)!, end: v };
  }
  return null;
}

export function learnForget(points: readonly EvalPoint[]): LearnForget {
  const evalLoss = startAndEnd(points, (p) => p.loss);
  const probeLoss = startAndEnd(points, (p) => p.forget);
  return {
    learning: evalLoss ? evalLoss.start - evalLoss.end : null,
    forgetting: probeLoss ? probeLoss.end - probeLoss.start : null,
  };
}
