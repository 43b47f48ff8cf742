/** Compare finished runs (this session's and those saved in the browser): their losses overlaid and their settings side by side. */
import { useMemo } from 'react';
import { useAppStore } from '../../store/store.ts';
import { LearnForgetChart, learnForgetDots } from './learn-forget-chart.tsx';
import { runColour, RunsChart } from './runs-chart.tsx';
import { RunsTable } from './runs-table.tsx';

export function CompareRunsPanel() {
  const runs = useAppStore((s) => s.runs);
  const chosen = useAppStore((s) => s.compareRunIds);
  const setCompared = useAppStore((s) => s.setRunCompared);
  const demos = useAppStore((s) => s.demos);
  const selected = useMemo(() => runs.filter((r) => chosen.includes(r.runId)), [runs, chosen]);
  const anyLearnForget = useMemo(() => learnForgetDots(selected).length > 0, [selected]);

  return (
    <section className="panel" aria-labelledby="compare-runs-title" data-testid="compare-runs-panel">
      <h2 id="compare-runs-title">Compare runs</h2>
      {runs.length === 0 ? (
        <p className="hint" data-testid="compare-runs-empty">
          Finished or stopped runs appear here (also those saved in this browser), to compare their losses and settings.
        </p>
      ) : (
        <>
          <fieldset className="runs-list">
            <legend>Runs to compare</legend>
            {runs.map((r) => (
              <label key={r.runId} className="toggle">
                <input
                  type="checkbox"
                  checked={chosen.includes(r.runId)}
                  onChange={(e) => setCompared(r.runId, e.currentTarget.checked)}
                  data-testid={`compare-run-${r.runId}`}
                />
                <span className="swatch" style={{ background: runColour(r) }} aria-hidden="true" />
                {r.label}
              </label>
            ))}
          </fieldset>
          {selected.length === 0 ? (
            <p className="hint">Tick a run to show it.</p>
          ) : (
            <>
              <RunsChart runs={selected} />
              {anyLearnForget && <LearnForgetChart runs={selected} />}
              <RunsTable runs={selected} demos={demos} />
            </>
          )}
        </>
      )}
    </section>
  );
}
