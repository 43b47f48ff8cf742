/** The loss chart's one-line text summary (also its accessible description), and the series' latest values. */
import type { EvalPoint, RunStep } from '../../schema/metrics.ts';

/** The last point whose `value` is finite, as { step, value }; undefined when there is none. */
export function lastFinite<P extends { step: number }>(points: readonly P[], value: (p: P) => number | undefined): { step: number; value: number } | undefined {
  for (let i = points.length - 1; i >= 0; i--) {
    const v = value(points[i]!);
    if (v !== undefined && Number.isFinite(v)) return { step: points[i]!.step, value: v };
  }
  return undefined;
}

/**
 * "3 steps; last train loss 2.1000; eval loss 2.2000 at step 3; learning rate 1.00e-3; probe loss 1.9000
 * at step 3 (1.8000 at step 0)". Eval and probe losses are their last finite values (a run with a
 * forgetting probe but no eval split has NaN eval losses); the probe's step-0 value is the base model's.
 */
export function lossSummary(train: readonly RunStep[], evals: readonly EvalPoint[]): string {
  const last = train.at(-1);
  const lastEval = lastFinite(evals, (p) => p.loss);
  const lastProbe = lastFinite(evals, (p) => p.forget);
  const probeStart = evals.find((p) => p.step === 0 && p.forget !== undefined && Number.isFinite(p.forget))?.forget;
  if (!last && !lastEval && !lastProbe) return 'No steps yet.';
  return (
    (last ? `${train.length} step${train.length === 1 ? '' : 's'}; last train loss ${last.loss.toFixed(4)}` : 'No steps yet') +
    (lastEval ? `; eval loss ${lastEval.value.toFixed(4)} at step ${lastEval.step}` : '') +
    (last ? `; learning rate ${last.lr.toExponential(2)}` : '') +
    (lastProbe
      ? `; probe loss ${lastProbe.value.toFixed(4)} at step ${lastProbe.step}` +
        (probeStart !== undefined && lastProbe.step !== 0 ? ` (${probeStart.toFixed(4)} at step 0)` : '')
      : '')
  );
}
