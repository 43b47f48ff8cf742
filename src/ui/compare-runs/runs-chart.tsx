/**
 * The selected runs' train loss (lines), eval loss (open circles) and, for runs with a forgetting
 * probe, probe loss (dashed lines with dots) overlaid on one SVG chart, one colour per run, with a
 * legend and a log-scale toggle. Runs are finished: no live updates.
 */
import { useId } from 'react';
import type { RunRecord } from '../../store/runs-slice.ts';
import { useAppStore } from '../../store/store.ts';
import { linearScale, logScale, type Scale } from '../charts/scales.ts';
import { StepLossAxes } from '../charts/chart-axes.tsx';
import { ChartDownloads } from '../charts/chart-downloads.tsx';
import type { ChartExportInfo } from '../charts/chart-frame.ts';
import type { DemoSummary } from '../../workers/protocol.ts';
import { runSettingsLine } from '../shared/run-caption.ts';

const W = 640;
const H = 260;
const M = { left: 56, right: 16, top: 14, bottom: 36 };

/** Distinct colours (Okabe–Ito-like), cycled by the run's position in the session. */
const PALETTE = ['#1f4e8c', '#c2410c', '#15803d', '#7e22ce', '#b45309', '#0e7490', '#be185d', '#4b5563'];
export const runColour = (run: RunRecord): string => PALETTE[(run.index - 1) % PALETTE.length]!;

/** The exported chart: one settings line per run, the runs and the line styles as the legend. */
export function runsExportInfo(runs: readonly RunRecord[], demos: readonly DemoSummary[] | null, log: boolean): ChartExportInfo {
  const anyProbe = runs.some((r) => r.eval.some((p) => p.forget !== undefined && Number.isFinite(p.forget)));
  return {
    title: `Loss by run${log ? ' (log scale)' : ''}`,
    notes: [...runs.map((r) => runSettingsLine(r, demos)), `line: train loss · circles: eval loss${anyProbe ? ' · dashed line, dots: forgetting-probe loss' : ''}`],
    legend: runs.map((r) => ({ label: r.label, colour: runColour(r) })),
  };
}

function path(points: readonly { x: number; y: number }[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join('');
}

export function RunsChart({ runs }: { runs: readonly RunRecord[] }) {
  const titleId = useId();
  const toggleId = useId();
  const log = useAppStore((s) => s.compareLogScale);
  const setLog = useAppStore((s) => s.setCompareLogScale);

  const x0 = M.left;
  const x1 = W - M.right;
  const y0 = H - M.bottom;
  const y1 = M.top;
  const lastStep = Math.max(1, ...runs.flatMap((r) => [r.config.steps, r.train.at(-1)?.step ?? 0]));
  const x = linearScale(0, lastStep, x0, x1, 6);
  const ok = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v) && (!log || v > 0);
  const losses = runs.flatMap((r) => [...r.train.map((p) => p.loss), ...r.eval.flatMap((p) => [p.loss, p.forget])]).filter(ok);
  const anyProbe = runs.some((r) => r.eval.some((p) => ok(p.forget)));
  const lo = losses.length ? Math.min(...losses) : 1;
  const hi = losses.length ? Math.max(...losses) : 10;
  const y: Scale = log
    ? logScale(lo / (hi / lo) ** 0.05, hi * (hi / lo) ** 0.05, y0, y1) // 5% padding in log space
    : linearScale(lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05, y0, y1);

  return (
    <figure className="chart" data-testid="compare-runs-chart">
      <figcaption id={titleId} className="chart-head">
        <strong>Loss by run</strong>
        <span className="chart-toggles">
          <label htmlFor={toggleId} className="toggle">
            <input id={toggleId} type="checkbox" checked={log} onChange={(e) => setLog(e.currentTarget.checked)} data-testid="compare-runs-log" />
            Log scale
          </label>
        </span>
        <ChartDownloads fileName="loss-by-run" testId="compare-runs-download" info={() => runsExportInfo(runs, useAppStore.getState().demos, log)} />
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={titleId} data-scale={log ? 'log' : 'linear'} data-runs={runs.length}>
        <StepLossAxes x={x} y={y} x0={x0} x1={x1} y0={y0} y1={y1} height={H} log={log} />
        {runs.map((r) => {
          const colour = runColour(r);
          const train = r.train.filter((p) => ok(p.loss)).map((p) => ({ x: x(p.step), y: y(p.loss) }));
          const evals = r.eval.filter((p) => ok(p.loss));
          const probe = r.eval.filter((p) => ok(p.forget));
          const probeXY = probe.map((p) => ({ x: x(p.step), y: y(p.forget!) }));
          return (
            <g key={r.runId} data-run-id={r.runId}>
              {train.length > 0 && (
                <path className="series-run" d={train.length === 1 ? `${path(train)}h0.1` : path(train)} stroke={colour} data-run-id={r.runId}>
                  <title>{`${r.label}: train loss`}</title>
                </path>
              )}
              {evals.map((p) => (
                <circle key={p.step} className="pt-run-eval" cx={x(p.step)} cy={y(p.loss)} r={4} stroke={colour} data-run-id={r.runId}>
                  <title>{`${r.label}, step ${p.step}: eval loss ${p.loss.toFixed(4)}`}</title>
                </circle>
              ))}
              {probeXY.length > 1 && (
                <path className="series-run-forget" d={path(probeXY)} stroke={colour} data-run-id={r.runId}>
                  <title>{`${r.label}: probe loss`}</title>
                </path>
              )}
              {probe.map((p) => (
                <circle key={`f${p.step}`} className="pt-run-forget" cx={x(p.step)} cy={y(p.forget!)} r={3} fill={colour} data-run-id={r.runId}>
                  <title>{`${r.label}, step ${p.step}: probe loss ${p.forget!.toFixed(4)}`}</title>
                </circle>
              ))}
            </g>
          );
        })}
      </svg>
      <ul className="legend" aria-label="Runs on the chart" data-testid="compare-runs-legend">
        {runs.map((r) => (
          <li key={r.runId} className="legend-item">
            <span className="swatch" style={{ background: runColour(r) }} aria-hidden="true" />
            {r.label}
          </li>
        ))}
        <li className="legend-item hint">line: train loss · circles: eval loss{anyProbe ? ' · dashed line, dots: forgetting-probe loss' : ''}</li>
      </ul>
    </figure>
  );
}
