/** The grid, the step axis and the loss axis shared by the loss charts (current run and compare runs). */
import type { Scale } from './scales.ts';

interface Props {
  x: Scale;
  y: Scale;
  /** The plot area: x0..x1 left to right, y0 (bottom) .. y1 (top), in SVG units. */
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** The SVG's height (the step title sits at its bottom). */
  height: number;
  log: boolean;
}

export function StepLossAxes({ x, y, x0, x1, y0, y1, height, log }: Props) {
  return (
    <>
      <g className="grid">
        {y.ticks.map((t) => (
          <line key={t} x1={x0} x2={x1} y1={y(t)} y2={y(t)} />
        ))}
      </g>
      <g className="axis axis-x">
        <line x1={x0} x2={x1} y1={y0} y2={y0} />
        {x.ticks.map((t) => (
          <text key={t} x={x(t)} y={y0 + 16} textAnchor="middle">
            {x.format(t)}
          </text>
        ))}
        <text x={(x0 + x1) / 2} y={height - 4} textAnchor="middle" className="axis-title">
          step
        </text>
      </g>
      <g className="axis axis-loss">
        <line x1={x0} x2={x0} y1={y0} y2={y1} />
        {y.ticks.map((t) => (
          <text key={t} x={x0 - 6} y={y(t) + 4} textAnchor="end">
            {y.format(t)}
          </text>
        ))}
        <text transform={`translate(14 ${(y0 + y1) / 2}) rotate(-90)`} textAnchor="middle" className="axis-title">
          loss{log ? ' (log)' : ''}
        </text>
      </g>
    </>
  );
}
