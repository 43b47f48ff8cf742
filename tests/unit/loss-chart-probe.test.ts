/** The loss chart with a forgetting probe, rendered to static markup from the store's metrics log. */
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, describe, expect, test } from 'vitest';
import { emptyLog } from '../../src/store/charts-slice.ts';
import { useAppStore } from '../../src/store/store.ts';
import { LossChart } from '../../src/ui/charts/loss-chart.tsx';
import type { EvalPoint, RunStep } from '../../src/schema/metrics.ts';

const step = (s: number): RunStep => ({ step: s, loss: 3 - s / 4, lr: 0.001, gradNorm: 0.5, tokensPerSec: 100, elapsedMs: s * 10, epoch: s / 3, peakGpuBytes: 1 << 20 });

// A server render reads store selectors from the store's initial state (zustand's server snapshot), and
// the metrics log through getState(): chart options are set on the initial state, restored after each test.
const initialOptions = { ...useAppStore.getInitialState().chartOptions };

function render(evals: EvalPoint[], options: Partial<{ showForget: boolean; logScale: boolean }> = {}): string {
  Object.assign(useAppStore.getInitialState().chartOptions, options);
  useAppStore.setState({ metrics: { runId: 1, totalSteps: 3, train: [1, 2, 3].map(step), eval: evals } });
  return renderToStaticMarkup(createElement(LossChart));
}
const count = (html: string, cls: string) => html.match(new RegExp(`class="${cls}"`, 'g'))?.length ?? 0;

afterEach(() => {
  Object.assign(useAppStore.getInitialState().chartOptions, initialOptions);
  useAppStore.setState({ metrics: emptyLog() });
});

describe('loss chart: forgetting probe', () => {
  const probed: EvalPoint[] = [{ step: 0, loss: 3.5, forget: 2 }, { step: 2, loss: 2.5, forget: 2.125 }, { step: 3, loss: 2.4, forget: 2.25 }];

  test('draws the probe series with markers, a legend key, a toggle and the summary', () => {
    const html = render(probed);
    expect(count(html, 'pt-forget')).toBe(3);
    expect(count(html, 'series-forget')).toBe(1);
    expect(html).toContain('data-forget-points="3"');
    expect(html).toContain('data-eval-points="3"');
    expect(html).toContain('<title>step 0: probe loss 2.0000</title>');
    expect(html).toContain('data-testid="chart-showForget"');
    expect(html).toContain('Probe loss');
    expect(html).toContain('key-forget');
    expect(html).toContain('; probe loss 2.2500 at step 3 (2.0000 at step 0)');
    expect(html).not.toContain('NaN');
  });

  test('the toggle hides the series; a run without a probe has neither series nor toggle', () => {
    const hidden = render(probed, { showForget: false });
    expect(count(hidden, 'pt-forget')).toBe(0);
    expect(hidden).toContain('data-forget-points="0"');
    expect(hidden).toContain('data-testid="chart-showForget"');
    const plain = render([{ step: 2, loss: 2.5 }]);
    expect(count(plain, 'pt-forget')).toBe(0);
    expect(plain).not.toContain('chart-showForget');
    expect(plain).not.toContain('probe loss');
  });

  test('a probe without an eval split: no eval markers from NaN losses, and no NaN coordinates', () => {
    const html = render([{ step: 0, loss: Number.NaN, forget: 2 }, { step: 3, loss: Number.NaN, forget: 2.5 }], { logScale: true });
    expect(html).toContain('data-scale="log"');
    expect(html).toContain('data-eval-points="0"');
    expect(html).toContain('data-forget-points="2"');
    expect(html).not.toContain('NaN');
  });
});
