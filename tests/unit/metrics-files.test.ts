/** The metrics files: CSV with eval and forgetting-probe losses per step, JSON keeping the eval points' `forget`. */
import { describe, expect, test } from 'vitest';
import type { MetricsLog } from '../../src/store/charts-slice.ts';
import { metricsCsv, metricsJson } from '../../src/ui/export/metrics-files.ts';
import type { EvalPoint, RunStep } from '../../src/schema/metrics.ts';

const step = (s: number): RunStep => ({ step: s, loss: 3 - s / 4, lr: 0.001, gradNorm: 0.5, tokensPerSec: 123.45, elapsedMs: s * 10.4, epoch: s / 3, peakGpuBytes: 1 << 20 });
const log = (evals: EvalPoint[], steps = [1, 2, 3]): MetricsLog => ({ runId: 1, totalSteps: 3, train: steps.map(step), eval: evals });
const lines = (csv: string) => csv.trimEnd().split('\n');
const column = (csv: string, name: string) => {
  const [header, ...rows] = lines(csv);
  const j = header!.split(',').indexOf(name);
  return rows.map((r) => r.split(',')[j]);
};

describe('metrics CSV', () => {
  test('header with probe_loss last (the earlier columns keep their places); without a probe it is empty on every row', () => {
    const csv = metricsCsv(log([{ step: 2, loss: 2.5 }]));
    expect(lines(csv)).toEqual([
      'step,loss,eval_loss,lr,grad_norm,tokens_per_s,elapsed_ms,epoch,probe_loss',
      '1,2.75,,0.001,0.5,123.5,10,0.3333,',
      '2,2.5,2.5,0.001,0.5,123.5,21,0.6667,',
      '3,2.25,,0.001,0.5,123.5,31,1,',
    ]);
    expect(csv.endsWith('\n')).toBe(true);
  });

  test('with a probe: probe_loss where measured, and the step-0 eval (base model) as a row of its own', () => {
    const csv = metricsCsv(log([{ step: 0, loss: 3.5, forget: 2 }, { step: 2, loss: 2.5, forget: 2.125 }, { step: 3, loss: 2.4, forget: 2.25 }]));
    expect(column(csv, 'step')).toEqual(['0', '1', '2', '3']);
    expect(column(csv, 'eval_loss')).toEqual(['3.5', '', '2.5', '2.4']);
    expect(column(csv, 'probe_loss')).toEqual(['2', '', '2.125', '2.25']);
    expect(lines(csv)[1]).toBe('0,,3.5,,,,,,2'); // no training columns at step 0
    expect(lines(csv).every((l) => l.split(',').length === 9)).toBe(true);
  });

  test('a probe without an eval split: NaN eval losses are written empty', () => {
    const csv = metricsCsv(log([{ step: 0, loss: Number.NaN, forget: 2 }, { step: 3, loss: Number.NaN, forget: 2.5 }]));
    expect(column(csv, 'eval_loss')).toEqual(['', '', '', '']);
    expect(column(csv, 'probe_loss')).toEqual(['2', '', '', '2.5']);
    expect(csv).not.toContain('NaN');
  });

  test('no steps yet but a step-0 eval: just that row', () => {
    expect(lines(metricsCsv(log([{ step: 0, loss: 3, forget: 2 }], [])))).toEqual([
      'step,loss,eval_loss,lr,grad_norm,tokens_per_s,elapsed_ms,epoch,probe_loss',
      '0,,3,,,,,,2',
    ]);
  });
});

describe('metrics JSON', () => {
  test('eval points keep their forget field; runs without a probe have none', () => {
    const withProbe = JSON.parse(metricsJson(log([{ step: 0, loss: 3.5, forget: 2 }, { step: 3, loss: 2.4, forget: 2.25 }]), null)) as { eval: EvalPoint[]; steps: unknown[] };
    expect(withProbe.eval).toEqual([{ step: 0, loss: 3.5, forget: 2 }, { step: 3, loss: 2.4, forget: 2.25 }]);
    expect(withProbe.steps).toHaveLength(3);
    const plain = JSON.parse(metricsJson(log([{ step: 3, loss: 2.4 }]), null)) as { eval: EvalPoint[]; run: null };
    expect(plain.eval).toEqual([{ step: 3, loss: 2.4 }]);
    expect('forget' in plain.eval[0]!).toBe(false);
    expect(plain.run).toBeNull();
  });
});
