/**
 * Learning vs forgetting, after "LoRA Learns Less and Forgets Less" (arXiv 2405.09673): one dot per
 * selected run that has a forgetting probe, x = how far its probe loss (base-model text) rose since
 * step 0, y = how far its eval loss (the new data) fell. Up is learning more, right is forgetting more.
 */
import { useId } from 'react';
import type { RunRecord } from '../../store/runs-slice.ts';
import { ChartDownloads } from '../charts/chart-downloads.tsx';
import type { ChartExportInfo } from '../charts/chart-frame.ts';
import { useAppStore } from '../../store/store.ts';
import { runSettingsLine } from '../shared/run-caption.ts';
import { linearScale } from '../charts/scales.ts';
import { learnForget } from './learn-forget.ts';
import { runColour } from './runs-chart.tsx';
import { ChartAxes } from '../charts/chart-axes.tsx';

const W = 480;
const H = 300;
const M = { left: 60, right: 24, top: 16, bottom: 44 };

export interface LearnForgetDot {
  run: RunRecord;
  learning: number;
  forgetting: number;
}

/** The runs with both numbers, in the order given. */
export function learnForgetDots(runs: readonly RunRecord[]): LearnForgetDot[] {
  return runs.flatMap((run) => {
    const { learning, forgetting } = learnForget(run.eval);
    return learning !== null && forgetting !== null ? [{ run, learning, forgetting }] : [];
  });
}

/** "Run 2 · MiLoRA r8: learned 1.23, forgot 0.04". */
export const dotText = (d: LearnForgetDot): string => `${d.run.label}: learned ${d.learning.toFixed(2)}, forgot ${d.forgetting.toFixed(2)}`;

/** The exported chart: each run's settings with what it learned and forgot, and the runs as the legend. */
export function learnForgetExportInfo(dots: readonly LearnForgetDot[], demos: Parameters<typeof runSettingsLine>[1]): ChartExportInfo {
  return {
    title: 'Learning vs forgetting (nats/token, from step 0)',
    notes: dots.map((d) => `${runSettingsLine(d.run, demos)} — learned ${d.learning.toFixed(2)}, forgot ${d.forgetting.toFixed(2)}`),
    legend: dots.map((d) => ({ label: d.run.label, colour: runColour(d.run) })),
  };
}

/** [lo, hi] covering `values` and 0, padded by 10% of the span. */
function domain(values: readonly number[]): [number, number] {
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  const pad = (hi - lo) * 0.1;
  return [lo - pad, hi + pad];
}

export function LearnForgetChart({ runs }: { runs: readonly RunRecord[] }) {
  const titleId = useId();
  const dots = learnForgetDots(runs);
  const left = runs.length - dots.length;

  const x0 = M.left;
  const x1 = W - M.right;
  const y0 = H - M.bottom;
  const y1 = M.top;
  const x = linearScale(...domain(dots.map((d) => d.forgetting)), x0, x1, 5);
  const y = linearScale(...domain(dots.map((d) => d.learning)), y0, y1, 5);
  const summary = dots.length === 0 ? 'No run with a forgetting probe and a step-0 eval.' : dots.map(dotText).join('; ') + '.';

  return (
    <figure className="chart learn-forget-chart" data-testid="learn-forget-chart">
      <figcaption id={titleId} className="chart-head">
        <strong>Learning vs forgetting</strong>
        <ChartDownloads fileName="learning-vs-forgetting" testId="learn-forget-download" info={() => learnForgetExportInfo(dots, useAppStore.getState().demos)} />
      </figcaption>
      <p className="hint learn-forget-caption">
        One dot per run, measured from step 0 (the base model): up = learned more of the new data (eval loss fell further), right = forgot
        more of the base text (forgetting-probe loss rose further).
        {left > 0 && ` ${left} selected run${left === 1 ? ' has' : 's have'} no probe or step-0 eval and ${left === 1 ? 'is' : 'are'} not shown.`}
      </p>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={titleId} aria-describedby={`${titleId}-summary`} data-runs={dots.length}>
        <ChartAxes
          x={x} y={y} x0={x0} x1={x1} y0={y0} y1={y1} height={H - 2} xGrid yClass="axis-y"
          xTitle="forgetting: probe loss rise →" yTitle="learning: eval loss fall →"
        />
        <g className="zero">
          <line x1={x(0)} x2={x(0)} y1={y0} y2={y1} />
          <line x1={x0} x2={x1} y1={y(0)} y2={y(0)} />
        </g>
        {dots.map((d) => (
          <g key={d.run.runId}>
            <circle className="pt-learn-forget" cx={x(d.forgetting)} cy={y(d.learning)} r={5.5} fill={runColour(d.run)} data-run-id={d.run.runId}>
              <title>{dotText(d)}</title>
            </circle>
            <text className="dot-label" x={x(d.forgetting) + 8} y={y(d.learning) + 4}>
              {d.run.index}
            </text>
          </g>
        ))}
      </svg>
      <p id={`${titleId}-summary`} className="hint" data-testid="learn-forget-summary">
        {summary}
      </p>
    </figure>
  );
}
