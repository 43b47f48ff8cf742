/** The selected runs' settings and outcomes side by side, one row per run; a column whose values differ is highlighted. */
import type { RunRecord } from '../../store/runs-slice.ts';
import { methodRow } from '../../store/methods.ts';
import { formatCompact, formatInt } from '../shared/format.ts';
import { learnForget } from './learn-forget.ts';
import { runColour } from './runs-chart.tsx';

interface Column {
  key: string;
  label: string;
  /** The cell's text; '—' when the setting does not apply. */
  cell(r: RunRecord): string;
  /** Outcomes always differ: only settings are compared for highlighting. */
  setting: boolean;
}

const loss = (v: number | null) => (v === null ? '—' : v.toFixed(4));

const COLUMNS: readonly Column[] = [
  { key: 'method', label: 'Method', cell: (r) => methodRow(r.methodId).label, setting: true },
  { key: 'rank', label: 'Rank', cell: (r) => (methodRow(r.methodId).uses.rank ? String(r.config.rank) : '—'), setting: true },
  { key: 'alpha', label: 'Alpha', cell: (r) => (methodRow(r.methodId).uses.alpha ? String(r.config.alpha) : '—'), setting: true },
  { key: 'targets', label: 'Targets', cell: (r) => (methodRow(r.methodId).uses.targets ? r.config.targets.join(', ') : 'all'), setting: true },
  { key: 'lr', label: 'LR', cell: (r) => r.config.lr.toExponential(1), setting: true },
  { key: 'steps', label: 'Steps', cell: (r) => `${r.steps}/${r.config.steps}`, setting: true },
  { key: 'shape', label: 'Batch×seq', cell: (r) => `${r.config.batch}×${r.config.seq}`, setting: true },
  { key: 'trainable', label: 'Trainable', cell: (r) => formatCompact(r.trainableCount), setting: true },
  { key: 'final-loss', label: 'Final train loss', cell: (r) => loss(r.finalLoss), setting: false },
  { key: 'eval-loss', label: 'Final eval loss', cell: (r) => loss(r.evalLoss), setting: false },
  { key: 'learning', label: 'Learning', cell: (r) => loss(learnForget(r.eval).learning), setting: false },
  { key: 'forgetting', label: 'Forgetting', cell: (r) => loss(learnForget(r.eval).forgetting), setting: false },
  { key: 'rank90', label: 'ΔW rank90', cell: (r) => (r.update ? r.update.rank90.toFixed(1) : '—'), setting: false },
  { key: 'principal', label: 'ΔW in W₀ principal', cell: (r) => (r.update ? r.update.principal.toFixed(3) : '—'), setting: false },
  { key: 'minor', label: 'ΔW in W₀ minor', cell: (r) => (r.update ? r.update.minor.toFixed(3) : '—'), setting: false },
  { key: 'tokens', label: 'Tokens/s', cell: (r) => formatInt(Math.round(r.tokensPerSec)), setting: false },
];

export function RunsTable({ runs }: { runs: readonly RunRecord[] }) {
  const cells = runs.map((r) => COLUMNS.map((c) => c.cell(r)));
  const differs = COLUMNS.map((c, j) => c.setting && new Set(cells.map((row) => row[j])).size > 1);
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label="Run settings and results">
      <table className="runs-table" data-testid="compare-runs-table">
        <caption className="hint">
          Highlighted: settings that differ between the runs. Learning: eval loss at step 0 minus the final eval loss. Forgetting: the final
          forgetting-probe loss (base-model text) minus its value at step 0.
        </caption>
        <thead>
          <tr>
            <th scope="col">Run</th>
            {COLUMNS.map((c) => (
              <th key={c.key} scope="col">
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {runs.map((r, i) => (
            <tr key={r.runId} data-testid="compare-runs-row" data-run-id={r.runId} data-method={r.methodId}>
              <th scope="row">
                <span className="swatch" style={{ background: runColour(r) }} aria-hidden="true" /> Run {r.index}
              </th>
              {COLUMNS.map((c, j) => (
                <td key={c.key} data-col={c.key} className={differs[j] ? 'differs' : undefined} data-differs={differs[j] ? 'true' : undefined}>
                  {cells[i]![j]}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
