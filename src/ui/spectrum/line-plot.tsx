/**
 * A small SVG line plot of several series (own axes, ticks, axis labels and legend) on a linear or
 * log y scale; every point is a circle of class `pt-<series key>` titled with its value ("σ(ΔW), index i 3: 0.1234").
 */
import { useId } from 'react';
import { ChartDownloads } from '../charts/chart-downloads.tsx';
import type { ChartExportInfo } from '../charts/chart-frame.ts';
import { linearScale, logScale } from '../charts/scales.ts';

export interface PlotSeries {
  key: string;
  label: string;
  color: string;
  points: readonly { x: number; y: number }[];
}

interface Props {
  title: string;
  series: readonly PlotSeries[];
  xLabel: string;
  yLabel: string;
  log?: boolean;
  /** A fixed y domain, e.g. [0, 1] for overlaps. */
  yDomain?: [number, number];
  width?: number;
  height?: number;
  testId: string;
  /** Lines an exported file carries under its title: the run and its settings. */
  notes?: readonly string[];
}

/** What an exported plot says: its title, the notes, and its series as the legend. */
export function plotExportInfo(title: string, series: readonly PlotSeries[], notes: readonly string[] = []): ChartExportInfo {
  return { title, notes, legend: series.map((s) => ({ label: s.label, colour: s.color })) };
}

const M = { left: 54, right: 12, top: 10, bottom: 34 };

function path(points: readonly { x: number; y: number }[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join('');
}

export function LinePlot({ title, series, xLabel, yLabel, log = false, yDomain, width = 560, height = 220, testId, notes }: Props) {
  const titleId = useId();
  // A log scale cannot show zeros: those points are left out.
  const shown = series.map((s) => ({ ...s, points: log ? s.points.filter((p) => p.y > 0) : s.points }));
  const all = shown.flatMap((s) => s.points);
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const [y0, y1] = yDomain ?? (ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1]);
  const x = linearScale(x0, x1, M.left, width - M.right, 6);
  const y = log ? logScale(y0, y1, height - M.bottom, M.top) : linearScale(y0, y1, height - M.bottom, M.top, 4);
  return (
    <figure className="chart spectrum-plot" data-testid={testId}>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={titleId} width="100%">
        <title id={titleId}>{title}</title>
        <g className="axis" fontSize="10" fill="currentColor">
          {y.ticks.map((t) => (
            <g key={`y${t}`}>
              <line x1={M.left} x2={width - M.right} y1={y(t)} y2={y(t)} stroke="#e6e9ee" />
              <text x={M.left - 4} y={y(t) + 3} textAnchor="end">{y.format(t)}</text>
            </g>
          ))}
          {x.ticks.map((t) => (
            <text key={`x${t}`} x={x(t)} y={height - M.bottom + 13} textAnchor="middle">{x.format(t)}</text>
          ))}
          <line x1={M.left} x2={width - M.right} y1={height - M.bottom} y2={height - M.bottom} stroke="#9aa3ae" />
          <line x1={M.left} x2={M.left} y1={M.top} y2={height - M.bottom} stroke="#9aa3ae" />
          <text x={(M.left + width - M.right) / 2} y={height - 4} textAnchor="middle" data-testid={`${testId}-xlabel`}>{xLabel}</text>
          <text transform={`translate(12 ${(M.top + height - M.bottom) / 2}) rotate(-90)`} textAnchor="middle" data-testid={`${testId}-ylabel`}>
            {yLabel}
          </text>
        </g>
        {shown.map((s) => {
          const pts = s.points.map((p) => ({ x: x(p.x), y: y(p.y), at: p.x, value: p.y }));
          return (
            <g key={s.key} data-series={s.key}>
              <path d={path(pts)} fill="none" stroke={s.color} strokeWidth="1.5" />
              {pts.map((p, i) => (
                <circle key={i} className={`pt-${s.key}`} cx={p.x} cy={p.y} r="2" fill={s.color}>
                  <title>{`${s.label}, ${xLabel} ${p.at}: ${Number(p.value.toPrecision(4))}`}</title>
                </circle>
              ))}
            </g>
          );
        })}
      </svg>
      <figcaption className="legend">
        {series.map((s) => (
          <span key={s.key} className="legend-item" data-testid={`${testId}-legend-${s.key}`}>
            <span className="swatch" style={{ background: s.color }} aria-hidden="true" />
            {s.label}
          </span>
        ))}
        <ChartDownloads fileName={testId} testId={`${testId}-download`} info={() => plotExportInfo(title, series, notes)} />
      </figcaption>
    </figure>
  );
}
