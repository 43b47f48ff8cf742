/** A chart's grid and its two labelled axes (the loss charts and the learning/forgetting chart share them). */
import type { ReactNode } from 'react';
import type { Scale } from './scales.ts';

interface Props {
  x: Scale;
  y: Scale;
  /** The plot area: x0..x1 left to right, y0 (bottom) .. y1 (top), in SVG units. */
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** The SVG's height (the x title sits at its bottom). */
  height: number;
  xTitle: ReactNode;
  yTitle: ReactNode;
  /** The y axis group's class, e.g. "axis-loss". */
  yClass: string;
  /** Vertical grid lines at the x ticks too. */
  xGrid?: boolean;
}

export function ChartAxes({ x, y, x0, x1, y0, y1, height, xTitle, yTitle, yClass, xGrid = false }: Props) {
  return (
    <>
      <g className="grid">
        {y.ticks.map((t) => (
          <line key={`y${t}`} x1={x0} x2={x1} y1={y(t)} y2={y(t)} />
        ))}
        {xGrid && x.ticks.map((t) => <line key={`x${t}`} x1={x(t)} x2={x(t)} y1={y0} y2={y1} />)}
      </g>
      <g className="axis axis-x">
        <line x1={x0} x2={x1} y1={y0} y2={y0} />
        {x.ticks.map((t) => (
          <text key={t} x={x(t)} y={y0 + 16} textAnchor="middle">
            {x.format(t)}
          </text>
        ))}
        <text x={(x0 + x1) / 2} y={height - 4} textAnchor="middle" className="axis-title">
          {xTitle}
        </text>
      </g>
      <g className={`axis ${yClass}`}>
        <line x1={x0} x2={x0} y1={y0} y2={y1} />
        {y.ticks.map((t) => (
          <text key={t} x={x0 - 6} y={y(t) + 4} textAnchor="end">
            {y.format(t)}
          </text>
        ))}
        <text transform={`translate(14 ${(y0 + y1) / 2}) rotate(-90)`} textAnchor="middle" className="axis-title">
          {yTitle}
        </text>
      </g>
    </>
  );
}

/** The step / loss axes of the loss charts. */
export function StepLossAxes(p: Omit<Props, 'xTitle' | 'yTitle' | 'yClass' | 'xGrid'> & { log: boolean }) {
  return <ChartAxes {...p} xTitle="step" yTitle={`loss${p.log ? ' (log)' : ''}`} yClass="axis-loss" />;
}
