/** Learning vs forgetting from a run's eval points (arXiv 2405.09673), the loss chart's summary, and the scatter chart. */
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, test } from 'vitest';
import { lastFinite, lossSummary } from '../../src/ui/charts/loss-summary.ts';
import { learnForget } from '../../src/ui/compare-runs/learn-forget.ts';
import { dotText, LearnForgetChart, learnForgetDots } from '../../src/ui/compare-runs/learn-forget-chart.tsx';
import { RunsChart } from '../../src/ui/compare-runs/runs-chart.tsx';
import { RunsTable } from '../../src/ui/compare-runs/runs-table.tsx';
import { runLabel, type RunRecord } from '../../src/store/runs-slice.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../src/schema/train-config.ts';
import type { EvalPoint, RunStep } from '../../src/schema/metrics.ts';

const close = (v: number | null, want: number) => {
  expect(v).not.toBeNull();
  expect(v!).toBeCloseTo(want, 10);
};

describe('learnForget', () => {
  test('learning is the eval loss fall from step 0, forgetting the probe loss rise from step 0', () => {
    const points: EvalPoint[] = [
      { step: 0, loss: 3.5, forget: 2.0 },
      { step: 10, loss: 2.5, forget: 2.1 },
      { step: 20, loss: 2.25, forget: 2.3 },
    ];
    const { learning, forgetting } = learnForget(points);
    close(learning, 1.25);
    close(forgetting, 0.3);
  });

  test('final is the last finite value: a NaN or missing tail value falls back to the one before', () => {
    const points: EvalPoint[] = [
      { step: 0, loss: 3, forget: 2 },
      { step: 5, loss: 2.5, forget: 2.2 },
      { step: 10, loss: Number.NaN },
    ];
    close(learnForget(points).learning, 0.5);
    close(learnForget(points).forgetting, 0.2);
  });

  test('a probe without an eval split (NaN eval losses): forgetting only', () => {
    const points: EvalPoint[] = [
      { step: 0, loss: Number.NaN, forget: 2 },
      { step: 5, loss: Number.NaN, forget: 2.5 },
    ];
    expect(learnForget(points).learning).toBeNull();
    close(learnForget(points).forgetting, 0.5);
  });

  test('no step-0 point (a run without a probe, or from before probes): both null', () => {
    const points: EvalPoint[] = [
      { step: 5, loss: 2.5 },
      { step: 10, loss: 2.2 },
    ];
    expect(learnForget(points)).toEqual({ learning: null, forgetting: null });
    // ...also when later points carry probe losses: there is nothing to measure the rise from.
    expect(learnForget([{ step: 5, loss: 2.5, forget: 2 }, { step: 10, loss: 2.2, forget: 2.1 }])).toEqual({ learning: null, forgetting: null });
    expect(learnForget([])).toEqual({ learning: null, forgetting: null });
  });

  test('a step-0 point with no later eval (stopped right away) measures nothing, not zero', () => {
    expect(learnForget([{ step: 0, loss: 3, forget: 2 }])).toEqual({ learning: null, forgetting: null });
  });

  test('a non-finite step-0 value gives null; no probe gives a null forgetting', () => {
    expect(learnForget([{ step: 0, loss: Number.NaN, forget: Number.NaN }, { step: 5, loss: 2, forget: 2 }])).toEqual({ learning: null, forgetting: null });
    const noProbe = learnForget([{ step: 0, loss: 3 }, { step: 5, loss: 2 }]);
    close(noProbe.learning, 1);
    expect(noProbe.forgetting).toBeNull();
  });

  test('loss going up on the eval split is negative learning; probe loss falling is negative forgetting', () => {
    const r = learnForget([{ step: 0, loss: 2, forget: 3 }, { step: 4, loss: 2.5, forget: 2.75 }]);
    close(r.learning, -0.5);
    close(r.forgetting, -0.25);
  });
});

const step = (s: number, loss: number): RunStep => ({ step: s, loss, lr: 1e-3, gradNorm: 1, tokensPerSec: 100, elapsedMs: s * 10, epoch: s / 10, peakGpuBytes: 1 << 20 });

describe('loss chart summary', () => {
  test('without a probe it reads as before', () => {
    expect(lossSummary([], [])).toBe('No steps yet.');
    expect(lossSummary([step(1, 3), step(2, 2.5)], [{ step: 2, loss: 2.75 }])).toBe(
      '2 steps; last train loss 2.5000; eval loss 2.7500 at step 2; learning rate 1.00e-3',
    );
  });

  test('with a probe: the latest probe loss and its step-0 value; NaN eval losses are skipped', () => {
    const evals: EvalPoint[] = [
      { step: 0, loss: 3.5, forget: 2 },
      { step: 2, loss: 2.75, forget: 2.125 },
      { step: 3, loss: Number.NaN, forget: 2.25 },
    ];
    expect(lossSummary([step(1, 3), step(2, 2.5), step(3, 2.4)], evals)).toBe(
      '3 steps; last train loss 2.4000; eval loss 2.7500 at step 2; learning rate 1.00e-3; probe loss 2.2500 at step 3 (2.0000 at step 0)',
    );
  });

  test('before the first step, the step-0 eval shows on its own', () => {
    expect(lossSummary([], [{ step: 0, loss: Number.NaN, forget: 2 }])).toBe('No steps yet; probe loss 2.0000 at step 0');
    expect(lossSummary([], [{ step: 0, loss: 3, forget: 2 }])).toBe('No steps yet; eval loss 3.0000 at step 0; probe loss 2.0000 at step 0');
  });

  test('lastFinite skips NaN and missing values', () => {
    expect(lastFinite<EvalPoint>([{ step: 1, loss: 2, forget: 1 }, { step: 2, loss: Number.NaN }], (p) => p.forget)).toEqual({ step: 1, value: 1 });
    expect(lastFinite<EvalPoint>([{ step: 1, loss: Number.NaN }], (p) => p.loss)).toBeUndefined();
  });
});

function run(runId: number, evals: EvalPoint[]): RunRecord {
  const config = { ...DEFAULT_TRAIN_CONFIG, steps: 20 };
  return {
    runId, index: runId, methodId: 'milora', label: runLabel(runId, 'milora', config), config, trainableCount: 1000,
    train: [], eval: evals, reason: 'completed', steps: 20, finalLoss: 2, evalLoss: 2, tokensPerSec: 100, update: null,
    dataId: { source: 'demo', fileName: 'new-facts.jsonl', tokens: 900, hash: 'aaaa' }, probeId: null,
  };
}

describe('learning vs forgetting chart', () => {
  const probed = run(2, [{ step: 0, loss: 3.5, forget: 2 }, { step: 20, loss: 2.27, forget: 2.04 }]);
  const plain = run(3, [{ step: 10, loss: 2.5 }, { step: 20, loss: 2.2 }]);

  test('one dot per run with both numbers, titled with what it learned and forgot', () => {
    const dots = learnForgetDots([probed, plain]);
    expect(dots.map((d) => d.run.runId)).toEqual([2]);
    expect(dotText(dots[0]!)).toBe('Run 2 · MiLoRA r8: learned 1.23, forgot 0.04');
  });

  test('renders an accessible SVG with one dot per probed run', () => {
    const html = renderToStaticMarkup(createElement(LearnForgetChart, { runs: [probed, plain] }));
    expect(html).toContain('data-testid="learn-forget-chart"');
    expect(html).toContain('role="img"');
    expect(html).toContain('data-runs="1"');
    expect(html.match(/class="pt-learn-forget"/g)).toHaveLength(1);
    expect(html).toContain('data-run-id="2"');
    expect(html).toContain('<title>Run 2 · MiLoRA r8: learned 1.23, forgot 0.04</title>');
    expect(html).toContain('1 selected run has no probe or step-0 eval and is not shown.');
    expect(html).not.toContain('NaN');
  });

  test('the runs table has Learning and Forgetting columns, — without a probe', () => {
    const html = renderToStaticMarkup(createElement(RunsTable, { runs: [probed, plain], demos: null }));
    expect(html).toContain('<abbr title="Learning: eval loss at step 0 minus the final eval loss (nats/token)">Learn.</abbr>');
    expect(html).toContain('<abbr title="Forgetting: the final forgetting-probe loss minus its value at step 0 (nats/token)">Forget.</abbr>');
    expect([...html.matchAll(/data-col="learning"[^>]*>([^<]*)</g)].map((m) => m[1])).toEqual(['1.2300', '—']);
    expect([...html.matchAll(/data-col="forgetting"[^>]*>([^<]*)</g)].map((m) => m[1])).toEqual(['0.0400', '—']);
  });

  test('the loss-by-run chart draws probe losses for the probed run only', () => {
    const html = renderToStaticMarkup(createElement(RunsChart, { runs: [probed, plain] }));
    expect(html.match(/class="pt-run-forget"/g)).toHaveLength(2);
    expect(html).toContain('<title>Run 2 · MiLoRA r8, step 20: probe loss 2.0400</title>');
    expect(html).toContain('forgetting-probe loss');
    expect(html).not.toContain('NaN');
  });
});
