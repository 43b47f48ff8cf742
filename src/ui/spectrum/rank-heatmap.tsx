/**
 * Layer × module heatmap of ΔW's rank90 (the latest value of each module in the current run):
 * darker = more directions; each cell carries its number and an aria-label. Clicking a cell selects it.
 */
import { useAppStore } from '../../store/store.ts';
import { LINEAR_MODULES, moduleName, type LinearModule } from '../../model/weights.ts';

const CELL_W = 52;
const CELL_H = 24;
const LEFT = 56;
const TOP = 20;

export function RankHeatmap({ nLayers }: { nLayers: number }) {
  const history = useAppStore((s) => s.spectraHistory);
  const setLayer = useAppStore((s) => s.setSpectrumLayer);
  const setModule = useAppStore((s) => s.setSpectrumModule);
  const latest = (l: number, m: LinearModule) => {
    const pts = history[moduleName(l, m)];
    return pts && pts.length > 0 ? pts[pts.length - 1]!.delta_rank90 : undefined;
  };
  const values = Array.from({ length: nLayers }, (_, l) => LINEAR_MODULES.map((m) => latest(l, m)));
  const max = Math.max(1, ...values.flat().filter((v): v is number => v !== undefined));
  const width = LEFT + CELL_W * LINEAR_MODULES.length + 4;
  const height = TOP + CELL_H * nLayers + 4;
  return (
    <figure className="chart" data-testid="rank-heatmap">
      <svg viewBox={`0 0 ${width} ${height}`} width={Math.min(width, 560)} role="img" aria-label="Rank explaining 90% of ΔW's variance, by layer and module">
        {LINEAR_MODULES.map((m, j) => (
          <text key={m} x={LEFT + j * CELL_W + CELL_W / 2} y={TOP - 6} textAnchor="middle" fontSize="11">{m}</text>
        ))}
        {values.map((row, l) => (
          <g key={l}>
            <text x={LEFT - 6} y={TOP + l * CELL_H + CELL_H / 2 + 4} textAnchor="end" fontSize="11">layer {l}</text>
            {row.map((v, j) => {
              const m = LINEAR_MODULES[j]!;
              const t = v === undefined ? 0 : v / max;
              const label = v === undefined ? `layer ${l} ${m}: no adapter data` : `layer ${l} ${m}: rank90 ${v}`;
              return (
                <g
                  key={m}
                  className="heat-cell"
                  data-testid={`heat-${l}-${m}`}
                  aria-label={label}
                  onClick={() => {
                    setLayer(l);
                    setModule(m);
                  }}
                >
                  <title>{label}</title>
                  <rect
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
    </figure>
  );
}
