/**
 * Layer × module heatmap of ΔW's rank90 (the latest value of each module in the viewed run):
 * darker = more directions; each cell carries its number and an aria-label. Clicking a cell, or
 * Enter/Space on it, selects its layer and module and shows that module's spectrum. The cells are a
 * grid with one tab stop (roving tabindex): the arrow keys move between cells (grid-nav.ts).
 */
import { useRef, useState, type KeyboardEvent } from 'react';
import type { SpectraPoint } from '../../store/spectrum-slice.ts';
import { useAppStore } from '../../store/store.ts';
import { LINEAR_MODULES, moduleName, type LinearModule } from '../../schema/tensors.ts';
import { moveCell, type Cell } from './grid-nav.ts';

const CELL_W = 52;
const CELL_H = 24;
const LEFT = 56;
const TOP = 20;

export function RankHeatmap({ nLayers, history }: { nLayers: number; history: Record<string, SpectraPoint[]> }) {
  const selLayer = useAppStore((s) => s.spectrumLayer);
  const selModule = useAppStore((s) => s.spectrumModule);
  const setCell = useAppStore((s) => s.setSpectrumCell);
  const svgRef = useRef<SVGSVGElement>(null);
  /** The cell holding the tab stop; null = the selected cell. */
  const [active, setActive] = useState<Cell | null>(null);
  const cols = LINEAR_MODULES.length;
  const selected: Cell = { row: Math.min(selLayer, nLayers - 1), col: Math.max(0, LINEAR_MODULES.indexOf(selModule)) };
  const stop: Cell = active && active.row < nLayers ? active : selected;

  const latest = (l: number, m: LinearModule) => {
    const pts = history[moduleName(l, m)];
    return pts && pts.length > 0 ? pts[pts.length - 1]!.delta_rank90 : undefined;
  };
  const values = Array.from({ length: nLayers }, (_, l) => LINEAR_MODULES.map((m) => latest(l, m)));
  const max = Math.max(1, ...values.flat().filter((v): v is number => v !== undefined));
  const width = LEFT + CELL_W * cols + 4;
  const height = TOP + CELL_H * nLayers + 4;

  const choose = (cell: Cell) => {
    setActive(cell);
    setCell(cell.row, LINEAR_MODULES[cell.col]!); // the view fetches that module's spectrum
  };
  const onKeyDown = (e: KeyboardEvent<SVGGElement>, cell: Cell) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      choose(cell);
      return;
    }
    const next = moveCell(cell, e.key, nLayers, cols);
    if (!next) return;
    e.preventDefault();
    setActive(next);
    svgRef.current?.querySelector<SVGGElement>(`[data-cell="${next.row}-${next.col}"]`)?.focus();
  };

  return (
    <figure className="chart heatmap" data-testid="rank-heatmap">
      <svg
        ref={svgRef}
        viewBox={`0 0 ${width} ${height}`}
        width={Math.min(width, 560)}
        role="grid"
        aria-label="Rank explaining 90% of ΔW's variance, by layer and module"
      >
        <g role="row">
          <text role="columnheader" x={LEFT - 6} y={TOP - 6} textAnchor="end" fontSize="11" aria-label="layer" />
          {LINEAR_MODULES.map((m, j) => (
            <text key={m} role="columnheader" x={LEFT + j * CELL_W + CELL_W / 2} y={TOP - 6} textAnchor="middle" fontSize="11">{m}</text>
          ))}
        </g>
        {values.map((row, l) => (
          <g key={l} role="row">
            <text role="rowheader" x={LEFT - 6} y={TOP + l * CELL_H + CELL_H / 2 + 4} textAnchor="end" fontSize="11">layer {l}</text>
            {row.map((v, j) => {
              const m = LINEAR_MODULES[j]!;
              const t = v === undefined ? 0 : v / max;
              const label = v === undefined ? `layer ${l} ${m}: no update measured` : `layer ${l} ${m}: rank90 ${v}`;
              const cell = { row: l, col: j };
              return (
                <g
                  key={m}
                  className="heat-cell"
                  role="gridcell"
                  tabIndex={stop.row === l && stop.col === j ? 0 : -1}
                  aria-selected={selected.row === l && selected.col === j}
                  data-cell={`${l}-${j}`}
                  data-testid={`heat-${l}-${m}`}
                  aria-label={label}
                  onClick={() => choose(cell)}
                  onKeyDown={(e) => onKeyDown(e, cell)}
                  onFocus={() => setActive(cell)}
                >
                  <title>{label}</title>
                  <rect
                    className="heat-rect"
                    x={LEFT + j * CELL_W + 1}
                    y={TOP + l * CELL_H + 1}
                    width={CELL_W - 2}
                    height={CELL_H - 2}
                    fill={v === undefined ? '#f1f3f6' : `rgba(37, 99, 235, ${0.12 + 0.88 * t})`}
                  />
                  {v !== undefined && (
                    <text x={LEFT + j * CELL_W + CELL_W / 2} y={TOP + l * CELL_H + CELL_H / 2 + 4} textAnchor="middle" fontSize="11" fill={t > 0.55 ? '#fff' : '#111'} data-testid={`heat-${l}-${m}-value`}>
                      {v}
                    </text>
                  )}
                </g>
              );
            })}
          </g>
        ))}
      </svg>
      <figcaption className="hint">Arrow keys move between cells; Enter or a click shows that module's spectrum.</figcaption>
    </figure>
  );
}
