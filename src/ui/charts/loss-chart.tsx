/**
 * Train and eval loss over steps (linear or log scale) with the learning rate on a second axis, as
 * an SVG drawn here; with a forgetting probe (held-out base-model text), its loss too, from step 0. Points arrive through a transient subscription to the store's metrics revision,
 * coalesced to one redraw per animation frame: a training step re-renders this chart only.
 */
import { useEffect, useId, useReducer } from 'react';
import type { ChartOptions } from '../../store/charts-slice.ts';
import { useAppStore } from '../../store/store.ts';
import { runLabel } from '../../store/runs-slice.ts';
import { runSettingsLine } from '../shared/run-caption.ts';
import { ChartDownloads } from './chart-downloads.tsx';
import type { ChartExportInfo, LegendEntry } from './chart-frame.ts';
import { lossSummary } from './loss-summary.ts';
import { linearScale, logScale, type Scale } from './scales.ts';
import { StepLossAxes } from './chart-axes.tsx';

const W = 640;
const H = 260;
const M = { left: 56, right: 60, top: 14, bottom: 36 };
/** Beyond this many steps the train loss is a line without a marker per point. */
const MAX_MARKERS = 400;

function path(points: readonly { x: number; y: number }[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join('');
}

function Toggle({ option, label }: { option: keyof ChartOptions; label: string }) {
  const id = useId();
  const value = useAppStore((s) => s.chartOptions[option]);
  const set = useAppStore((s) => s.setChartOption);
  return (
    <label htmlFor={id} className="toggle">
      <input id={id} type="checkbox" checked={value} onChange={(e) => set(option, e.currentTarget.checked)} data-testid={`chart-${option}`} />
      {label}
    </label>
  );
}

/** The exported loss chart's title, the run's settings and the legend of the series shown. */
export function lossExportInfo(series: { train: boolean; eval: boolean; forget: boolean; lr: boolean }, summary: string): ChartExportInfo {
  const s = useAppStore.getState();
  const info = s.runInfo;
  const methodId = s.runMethodId;
  const label = info && methodId ? runLabel(info.runId, methodId, info.config) : null;
  const notes = info && methodId && label
    ? [runSettingsLine({ label, methodId, config: info.config, steps: s.runProgress?.step, dataId: info.dataId ?? null, probeId: info.probeId ?? null }, s.demos)]
    : [];
  const legend: LegendEntry[] = [
    ...(series.train ? [{ label: 'train loss', colour: '#1f4e8c' }] : []),
    ...(series.eval ? [{ label: 'eval loss', colour: '#c2410c' }] : []),
    ...(series.forget ? [{ label: 'forgetting-probe loss (base-model text)', colour: '#7e22ce', dashed: true }] : []),
    ...(series.lr ? [{ label: 'learning rate (right axis)', colour: '#6b8e23', dashed: true }] : []),
  ];
  return { title: label ? `Loss — ${label}` : 'Loss', notes: [...notes, summary], legend };
}

/** Redraw on every metrics append, at most once per frame, without a store selector re-rendering parents. */
function useMetricsRevision(): void {
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    let frame = 0;
    const unsubscribe = useAppStore.subscribe((s, prev) => {
      if (s.metricsRevision !== prev.metricsRevision && frame === 0) {
        frame = requestAnimationFrame(() => {
          frame = 0;
          redraw();
        });
      }
    });
    return () => {
      unsubscribe();
      cancelAnimationFrame(frame);
    };
  }, []);
}

export function LossChart() {
  const titleId = useId();
  useMetricsRevision();
  const options = useAppStore((s) => s.chartOptions);
  const log = useAppStore.getState().metrics;
  const { train, eval: evals } = log;
  const ok = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v) && (!options.logScale || v > 0);
  const hasForget = evals.some((p) => p.forget !== undefined && Number.isFinite(p.forget));
  // With a probe and no eval split, eval losses are NaN: those points draw no eval marker.
  const shownEval = options.showEval ? evals.filter((p) => ok(p.loss)) : [];
  const shownForget = hasForget && options.showForget ? evals.filter((p) => ok(p.forget)) : [];

  const x0 = M.left;
  const x1 = W - M.right;
  const y0 = H - M.bottom;
  const y1 = M.top;
  const lastStep = Math.max(log.totalSteps, train.at(-1)?.step ?? 0, 1);
  const x = linearScale(0, lastStep, x0, x1, 6);
  const losses = [...train.map((p) => p.loss), ...shownEval.map((p) => p.loss), ...shownForget.map((p) => p.forget!)].filter(ok);
  const lo = losses.length ? Math.min(...losses) : 1;
  const hi = losses.length ? Math.max(...losses) : 10;
  const y: Scale = options.logScale
    ? logScale(lo / (hi / lo) ** 0.05, hi * (hi / lo) ** 0.05, y0, y1) // 5% padding in log space
    : linearScale(lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05, y0, y1);
  const lrMax = Math.max(0, ...train.map((p) => p.lr));
  const lr = linearScale(0, lrMax > 0 ? lrMax * 1.05 : 1, y0, y1, 4);
  const showLr = options.showLr && train.length > 0;

  const trainXY = train.filter((p) => Number.isFinite(p.loss)).map((p) => ({ x: x(p.step), y: y(p.loss), step: p.step, loss: p.loss }));
  const evalXY = shownEval.map((p) => ({ x: x(p.step), y: y(p.loss), step: p.step, loss: p.loss }));
  const forgetXY = shownForget.map((p) => ({ x: x(p.step), y: y(p.forget!), step: p.step, loss: p.forget! }));
  const lrXY = showLr ? train.map((p) => ({ x: x(p.step), y: lr(p.lr) })) : [];
  const summary = lossSummary(train, evals);

  return (
    <figure className="chart" data-testid="loss-chart">
      <figcaption id={titleId} className="chart-head">
        <strong>Loss</strong>
        <span className="chart-toggles">
          <Toggle option="logScale" label="Log scale" />
          <Toggle option="showEval" label="Eval loss" />
          {hasForget && <Toggle option="showForget" label="Probe loss" />}
          <Toggle option="showLr" label="Learning rate" />
        </span>
        <ChartDownloads
          fileName="loss-chart"
          testId="loss-chart-download"
          info={() => lossExportInfo({ train: trainXY.length > 0, eval: evalXY.length > 0, forget: forgetXY.length > 0, lr: showLr }, summary)}
        />
      </figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-labelledby={titleId}
        aria-describedby={`${titleId}-summary`}
        data-train-points={trainXY.length}
        data-eval-points={evalXY.length}
        data-forget-points={forgetXY.length}
        data-scale={options.logScale ? 'log' : 'linear'}
      >
        <StepLossAxes x={x} y={y} x0={x0} x1={x1} y0={y0} y1={y1} height={H} log={options.logScale} />
        {showLr && (
          <g className="axis axis-lr">
            <line x1={x1} x2={x1} y1={y0} y2={y1} />
            {lr.ticks.map((t) => (
              <text key={t} x={x1 + 6} y={lr(t) + 4} textAnchor="start">
                {t === 0 ? '0' : t.toExponential(0).replace('e+', 'e')}
              </text>
            ))}
            <text transform={`translate(${W - 8} ${(y0 + y1) / 2}) rotate(90)`} textAnchor="middle" className="axis-title">
              learning rate
            </text>
          </g>
        )}
        {showLr && lrXY.length > 0 && <path className="series-lr" d={path(lrXY)} />}
        {trainXY.length > 0 && <path className="series-train" d={path(trainXY)} />}
        {trainXY.length <= MAX_MARKERS &&
          trainXY.map((p) => (
            <circle key={p.step} className="pt-train" cx={p.x} cy={p.y} r={2.5} data-step={p.step}>
              <title>{`step ${p.step}: loss ${p.loss.toFixed(4)}`}</title>
            </circle>
          ))}
        {evalXY.length > 1 && <path className="series-eval" d={path(evalXY)} />}
        {evalXY.map((p) => (
          <circle key={p.step} className="pt-eval" cx={p.x} cy={p.y} r={4} data-step={p.step}>
            <title>{`step ${p.step}: eval loss ${p.loss.toFixed(4)}`}</title>
          </circle>
        ))}
        {forgetXY.length > 1 && <path className="series-forget" d={path(forgetXY)} />}
        {forgetXY.map((p) => (
          <circle key={p.step} className="pt-forget" cx={p.x} cy={p.y} r={3} data-step={p.step}>
            <title>{`step ${p.step}: probe loss ${p.loss.toFixed(4)}`}</title>
          </circle>
        ))}
      </svg>
      <p className="chart-legend">
        <span className="key key-train" aria-hidden="true" /> train loss <span className="key key-eval" aria-hidden="true" /> eval loss{' '}
        {hasForget && options.showForget && (
          <>
            <span className="key key-forget" aria-hidden="true" /> forgetting-probe loss (base-model text){' '}
          </>
        )}
        {options.showLr && (
          <>
            <span className="key key-lr" aria-hidden="true" /> learning rate (right axis)
          </>
        )}
      </p>
      <p id={`${titleId}-summary`} className="hint" data-testid="chart-summary">
        {summary}
      </p>
    </figure>
  );
}
