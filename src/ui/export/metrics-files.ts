/** A run's metrics as CSV (one row per step, eval loss where measured) and as JSON (with the run's settings). */
import type { MetricsLog } from '../../store/charts-slice.ts';
import type { RunInfo } from '../../workers/protocol.ts';

const CSV_COLUMNS = ['step', 'loss', 'eval_loss', 'lr', 'grad_norm', 'tokens_per_s', 'elapsed_ms', 'epoch'] as const;

/** step,loss,eval_loss,lr,grad_norm,tokens_per_s,elapsed_ms,epoch — eval_loss empty where not measured. */
export function metricsCsv(log: MetricsLog): string {
  const evalAt = new Map(log.eval.map((e) => [e.step, e.loss]));
  const rows = log.train.map((p) =>
    [p.step, p.loss, evalAt.get(p.step) ?? '', p.lr, p.gradNorm, Number(p.tokensPerSec.toFixed(1)), Math.round(p.elapsedMs), Number(p.epoch.toFixed(4))].join(','),
  );
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
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
