/**
 * The selected runs side by side, two rows per run so the table fits its panel: the key results
 * (method, data and probe, learning, forgetting, ΔW rank90 and overlaps) in columns, and the other
 * settings and outcomes wrapped in a details row beneath. Settings that differ between the runs are
 * highlighted; runs trained on other data (or measured with another probe) are flagged as not comparable.
 */
import type { RunRecord } from '../../store/runs-slice.ts';
import { methodRow } from '../../store/methods.ts';
import type { DemoSummary } from '../../workers/protocol.ts';
import { formatCompact, formatInt } from '../shared/format.ts';
import { learnForget } from './learn-forget.ts';
import { dataLabel } from '../shared/run-caption.ts';
import { comparability, type Comparable } from './run-data.ts';
import { runColour } from './runs-chart.tsx';

interface Field {
  key: string;
  /** The column header (short) and what it means in full (the header's <abbr title>). */
  label: string;
  title?: string;
  /** The cell's text; '—' when the setting does not apply. */
  cell(r: RunRecord): string;
  /** Outcomes always differ: only settings are compared for highlighting. */
  setting: boolean;
  /** The cell is not comparable with the other runs' when this says so. */
  comparable?: (c: Comparable) => boolean;
}

const loss = (v: number | null) => (v === null ? '—' : v.toFixed(4));

/** The key columns. */
const COLUMNS: readonly Field[] = [
  { key: 'method', label: 'Method', cell: (r) => methodRow(r.methodId).label, setting: true },
  {
    key: 'learning', label: 'Learn.', title: 'Learning: eval loss at step 0 minus the final eval loss (nats/token)',
    cell: (r) => loss(learnForget(r.eval).learning), setting: false, comparable: (c) => c.data,
  },
  {
    key: 'forgetting', label: 'Forget.', title: 'Forgetting: the final forgetting-probe loss minus its value at step 0 (nats/token)',
    cell: (r) => loss(learnForget(r.eval).forgetting), setting: false, comparable: (c) => c.data && c.probe,
  },
  { key: 'rank90', label: 'ΔW r90', title: "ΔW's rank explaining 90% of its energy, mean over the modules", cell: (r) => (r.update ? r.update.rank90.toFixed(1) : '—'), setting: false },
  { key: 'principal', label: 'Princ.', title: "How much of ΔW lies in W₀'s principal subspace (0..1, mean over the modules)", cell: (r) => (r.update ? r.update.principal.toFixed(3) : '—'), setting: false },
  { key: 'minor', label: 'Minor', title: "How much of ΔW lies in W₀'s minor subspace (0..1, mean over the modules)", cell: (r) => (r.update ? r.update.minor.toFixed(3) : '—'), setting: false },
];

/** The details row's items. */
const DETAILS: readonly Field[] = [
  { key: 'rank', label: 'rank', cell: (r) => (methodRow(r.methodId).uses.rank ? String(r.config.rank) : '—'), setting: true },
  { key: 'alpha', label: 'α', cell: (r) => (methodRow(r.methodId).uses.alpha ? String(r.config.alpha) : '—'), setting: true },
  { key: 'targets', label: 'targets', cell: (r) => (methodRow(r.methodId).uses.targets ? r.config.targets.join(', ') : 'all'), setting: true },
  { key: 'lr', label: 'lr', cell: (r) => r.config.lr.toExponential(1), setting: true },
  { key: 'steps', label: 'steps', cell: (r) => `${r.steps}/${r.config.steps}`, setting: true },
  { key: 'shape', label: 'batch×seq', cell: (r) => `${r.config.batch}×${r.config.seq}`, setting: true },
  { key: 'trainable', label: 'trainable', cell: (r) => formatCompact(r.trainableCount), setting: true },
  { key: 'final-loss', label: 'train loss', cell: (r) => loss(r.finalLoss), setting: false },
  { key: 'eval-loss', label: 'eval loss', cell: (r) => loss(r.evalLoss), setting: false },
  { key: 'tokens', label: 'tokens/s', cell: (r) => formatInt(Math.round(r.tokensPerSec)), setting: false },
];

/** Whether each field's values differ between the runs (settings only). */
function differing(fields: readonly Field[], runs: readonly RunRecord[]): boolean[] {
  return fields.map((f) => f.setting && new Set(runs.map((r) => f.cell(r))).size > 1);
}

function DataCell({ run, demos, differs, comparable }: { run: RunRecord; demos: readonly DemoSummary[] | null; differs: boolean; comparable: Comparable }) {
  const data = dataLabel(run.dataId, demos);
  const probe = run.probeId ? dataLabel(run.probeId, demos) : 'none';
  return (
    <td data-col="data" className={`cell-data${differs ? ' differs' : ''}`} data-differs={differs ? 'true' : undefined} data-comparable={comparable.data ? undefined : 'false'}>
      <span data-testid="compare-runs-data">{data}</span>
      <span className="cell-sub" data-testid="compare-runs-probe" data-comparable={comparable.probe ? undefined : 'false'}>
        probe: {probe}
      </span>
    </td>
  );
}

/** `demos`: the demo list, to name demo data by its title. */
export function RunsTable({ runs, demos }: { runs: readonly RunRecord[]; demos: readonly DemoSummary[] | null }) {
  const columnsDiffer = differing(COLUMNS, runs);
  const detailsDiffer = differing(DETAILS, runs);
  const dataDiffers = new Set(runs.map((r) => `${r.dataId?.hash}|${r.probeId?.hash}`)).size > 1;
  const { byRun, note } = comparability(runs, demos);
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label="Run settings and results">
      {note && (
        <p className="inline-warning" role="note" data-testid="compare-runs-not-comparable">
          {note}
        </p>
      )}
      <table className="runs-table" data-testid="compare-runs-table">
        <caption className="hint">
          Highlighted: settings that differ between the runs; ≠: not comparable with the other runs (other data or probe). Learning: eval loss
          at step 0 minus the final eval loss. Forgetting: the final forgetting-probe loss (base-model text) minus its value at step 0.
        </caption>
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">{COLUMNS[0]!.label}</th>
            <th scope="col">Data</th>
            {COLUMNS.slice(1).map((c) => (
              <th key={c.key} scope="col">
                <abbr title={c.title}>{c.label}</abbr>
              </th>
            ))}
          </tr>
        </thead>
        {runs.map((r) => {
          const comparable = byRun.get(r.runId)!;
          const td = (f: Field, differs: boolean) => {
            const ok = f.comparable ? f.comparable(comparable) : true;
            const text = f.cell(r);
            return (
              <td
                key={f.key}
                data-col={f.key}
                className={[differs ? 'differs' : '', ok ? '' : 'not-comparable'].filter(Boolean).join(' ') || undefined}
                data-differs={differs ? 'true' : undefined}
                data-comparable={ok ? undefined : 'false'}
                title={ok ? undefined : 'Not comparable with the other runs: other data or probe'}
              >
                {text}
              </td>
            );
          };
          return (
            <tbody key={r.runId} className="run-rows">
              <tr data-testid="compare-runs-row" data-run-id={r.runId} data-method={r.methodId}>
                <th scope="row" rowSpan={2}>
                  <span className="swatch" style={{ background: runColour(r) }} aria-hidden="true" /> Run {r.index}
                </th>
                {td(COLUMNS[0]!, columnsDiffer[0]!)}
                <DataCell run={r} demos={demos} differs={dataDiffers} comparable={comparable} />
                {COLUMNS.slice(1).map((c, j) => td(c, columnsDiffer[j + 1]!))}
              </tr>
              <tr className="run-details" data-testid="compare-runs-details" data-run-id={r.runId} data-method={r.methodId}>
                <td colSpan={COLUMNS.length + 1}>
                  <ul className="run-settings" aria-label={`Run ${r.index} settings`}>
                    {DETAILS.map((f, j) => (
                      <li key={f.key} data-col={f.key} className={detailsDiffer[j] ? 'differs' : undefined} data-differs={detailsDiffer[j] ? 'true' : undefined}>
                        <span className="muted">{f.label}</span> <span className="setting-value">{f.cell(r)}</span>
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
            </tbody>
          );
        })}
      </table>
    </div>
  );
}
