/**
 * A run's metrics as CSV (one row per step, eval and forgetting-probe loss where measured) and as JSON
 * (with the run's settings; eval points keep their `forget` field, the probe loss, when the run has a probe).
 */
import type { MetricsLog } from '../../store/charts-slice.ts';
import type { RunInfo } from '../../workers/protocol.ts';
import type { EvalPoint } from '../../schema/metrics.ts';

/** probe_loss is last: the columns before it keep the places they had before probes existed. */
const CSV_COLUMNS = ['step', 'loss', 'eval_loss', 'lr', 'grad_norm', 'tokens_per_s', 'elapsed_ms', 'epoch', 'probe_loss'] as const;

const cell = (v: number | undefined): number | '' => (v !== undefined && Number.isFinite(v) ? v : '');

/**
 * step,loss,eval_loss,lr,grad_norm,tokens_per_s,elapsed_ms,epoch,probe_loss — eval_loss and probe_loss
 * empty where not measured (or not finite: a run with a probe but no eval split has NaN eval losses).
 * An eval at a step with no training step (step 0, the base model, when the run has a probe) gets a
 * row of its own with the training columns empty.
 */
export function metricsCsv(log: MetricsLog): string {
  const evalAt = new Map<number, EvalPoint>(log.eval.map((e) => [e.step, e]));
  const trainSteps = new Set(log.train.map((p) => p.step));
  const evalLoss = (step: number) => cell(evalAt.get(step)?.loss);
  const probeLoss = (step: number) => cell(evalAt.get(step)?.forget);
  const rows: { step: number; line: string }[] = log.train.map((p) => ({
    step: p.step,
    line: [
      p.step, p.loss, evalLoss(p.step), p.lr, p.gradNorm, Number(p.tokensPerSec.toFixed(1)), Math.round(p.elapsedMs), Number(p.epoch.toFixed(4)), probeLoss(p.step),
    ].join(','),
  }));
  for (const step of evalAt.keys()) {
    if (!trainSteps.has(step)) rows.push({ step, line: [step, '', evalLoss(step), '', '', '', '', '', probeLoss(step)].join(',') });
  }
  rows.sort((a, b) => a.step - b.step); // stable: training rows keep their order
  return [CSV_COLUMNS.join(','), ...rows.map((r) => r.line)].join('\n') + '\n';
}

export function metricsJson(log: MetricsLog, info: RunInfo | null): string {
  return (
    JSON.stringify(
      {
        run: info && { runId: info.runId, config: info.config, trainableCount: info.trainableCount, paramCount: info.paramCount, data: info.data.stats.file },
        steps: log.train,
        eval: log.eval,
      },
      null,
      2,
    ) + '\n'
  );
}
