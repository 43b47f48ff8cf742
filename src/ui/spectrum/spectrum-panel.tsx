/**
 * The spectrum view: pick a run (the current one by default, or an earlier one), a layer and a module,
 * and optionally a second run beside it; see the singular values of W₀, W₀+ΔW and ΔW (log scale),
 * ΔW's rank90 and its principal vs minor overlap over the run's steps (saying when a module has fewer
 * points than there were rounds, and why), and the layer × module heatmap of rank90. Spectra rounds
 * come every N training steps within a time budget (both set here); the module on screen is always in.
 */
import { useEffect, useId, useMemo } from 'react';
import { LINEAR_MODULES, moduleName, type LinearModule } from '../../schema/tensors.ts';
import { missingRoundsNote, shownRunIds, viewedRunId, type SpectraPoint } from '../../store/spectrum-slice.ts';
import { useAppStore } from '../../store/store.ts';
import { runBusy } from '../../store/run-status.ts';
import { runSettingsLine } from '../shared/run-caption.ts';
import { LinePlot } from './line-plot.tsx';
import { IntrudersView } from './intruders-view.tsx';
import { RankHeatmap } from './rank-heatmap.tsx';
import { SigmaViews } from './sigma-views.tsx';
import { runHistory, spectrumRunOptions, trainsModule, type RunHistory, type SpectrumRunOption } from './spectrum-runs.ts';

const NO_POINTS: SpectraPoint[] = [];

/** The options, with the run the view follows by default spelled out. */
function useRunOptions(): SpectrumRunOption[] {
  const runs = useAppStore((s) => s.runs);
  const runInfo = useAppStore((s) => s.runInfo);
  const runMethodId = useAppStore((s) => s.runMethodId);
  const tuned = useAppStore((s) => s.tuned);
  const savedRuns = useAppStore((s) => s.savedRuns);
  const model = useAppStore((s) => s.model);
  return useMemo(() => spectrumRunOptions({ runs, runInfo, runMethodId, tuned, savedRuns, model }), [runs, runInfo, runMethodId, tuned, savedRuns, model]);
}

/** The viewed run's rounds (live for the run training now, else its saved ones). */
function useViewedHistory(runId: number): RunHistory {
  const spectraRunId = useAppStore((s) => s.spectraRunId);
  const spectraHistory = useAppStore((s) => s.spectraHistory);
  const spectraRoundSteps = useAppStore((s) => s.spectraRoundSteps);
  const savedRuns = useAppStore((s) => s.savedRuns);
  return useMemo(
    () => runHistory({ spectraRunId, spectraHistory, spectraRoundSteps, savedRuns }, runId),
    [spectraRunId, spectraHistory, spectraRoundSteps, savedRuns, runId],
  );
}

function HistoryPlots({ history, option }: { history: RunHistory; option: SpectrumRunOption | undefined }) {
  const layer = useAppStore((s) => s.spectrumLayer);
  const module = useAppStore((s) => s.spectrumModule);
  const runs = useAppStore((s) => s.runs);
  const demos = useAppStore((s) => s.demos);
  const name = moduleName(layer, module);
  const points = history.history[name] ?? NO_POINTS;
  const rounds = history.roundSteps.length;
  const trained = trainsModule(option, module);
  const note = trained ? missingRoundsNote(points.length, rounds) : null;
  const run = runs.find((r) => r.runId === option?.runId);
  const notes = [run ? runSettingsLine(run, demos) : (option?.label ?? ''), name].filter(Boolean);
  return (
    <>
      {points.length === 0 ? (
        <p className="empty" data-testid="spectra-history-empty">
          {trained && rounds > 0
            ? `No point for ${name} yet.`
            : 'No spectra rounds for this module yet: train it (full fine-tuning, or an adapter targeting it).'}
        </p>
      ) : (
        <div className="spectrum-history" data-rounds={rounds} data-points={points.length}>
          <LinePlot
            title={`ΔW rank90 of ${name} over steps`}
            series={[{ key: 'rank90', label: 'rank90(ΔW)', color: '#dc2626', points: points.map((p) => ({ x: p.step, y: p.delta_rank90 })) }]}
            xLabel="step"
            yLabel="rank90"
            width={300}
            height={180}
            testId="rank90-chart"
            notes={notes}
          />
          <LinePlot
            title={`Overlap of ΔW of ${name} with W₀'s principal and minor subspaces over steps`}
            series={[
              { key: 'principal', label: 'principal', color: '#2563eb', points: points.map((p) => ({ x: p.step, y: p.overlap_principal })) },
              { key: 'minor', label: 'minor', color: '#d97706', points: points.map((p) => ({ x: p.step, y: p.overlap_minor })) },
            ]}
            xLabel="step"
            yLabel="overlap"
            yDomain={[0, 1]}
            width={300}
            height={180}
            testId="overlap-chart"
            notes={notes}
          />
        </div>
      )}
      {note && (
        <p className="hint" data-testid="spectra-history-note">
          {name}: {note}.
        </p>
      )}
    </>
  );
}

/** A run picker: the options by label; those trained on another model are listed but disabled. */
function RunSelect({ id, value, options, onChange, testId, none }: {
  id: string; value: number | null; options: readonly SpectrumRunOption[]; onChange(runId: number | null): void; testId: string; none: string;
}) {
  return (
    <select id={id} value={value === null ? '' : String(value)} onChange={(e) => onChange(e.currentTarget.value === '' ? null : Number(e.currentTarget.value))} data-testid={testId}>
      <option value="">{none}</option>
      {options.map((o) => (
        <option key={o.runId} value={o.runId} disabled={o.unavailable !== null}>
          {o.unavailable ? `${o.label} (${o.unavailable})` : o.label}
        </option>
      ))}
    </select>
  );
}

export function SpectrumPanel() {
  const ids = { run: useId(), beside: useId(), layer: useId(), module: useId(), every: useId(), budget: useId() };
  const nLayers = useAppStore((s) => s.model?.config.nLayers ?? 0);
  const layer = useAppStore((s) => s.spectrumLayer);
  const module = useAppStore((s) => s.spectrumModule);
  const every = useAppStore((s) => s.spectraEvery);
  const budget = useAppStore((s) => s.spectraBudgetMs);
  const status = useAppStore((s) => s.spectrumStatus);
  const error = useAppStore((s) => s.spectrumError);
  const runStatus = useAppStore((s) => s.runStatus);
  const runPick = useAppStore((s) => s.spectrumRunId);
  const besidePick = useAppStore((s) => s.spectrumCompareRunId);
  const viewed = useAppStore(viewedRunId);
  const tuned = useAppStore((s) => s.tuned);
  const setLayer = useAppStore((s) => s.setSpectrumLayer);
  const setModule = useAppStore((s) => s.setSpectrumModule);
  const setRun = useAppStore((s) => s.setSpectrumRun);
  const setBeside = useAppStore((s) => s.setSpectrumCompareRun);
  const setEvery = useAppStore((s) => s.setSpectraEvery);
  const setBudget = useAppStore((s) => s.setSpectraBudget);
  const compute = useAppStore((s) => s.computeSpectrum);
  const watch = useAppStore((s) => s.watchSpectra);
  useEffect(() => watch(), [watch]);
  const options = useRunOptions();
  const shown = useMemo(() => shownRunIds({ tuned, spectrumRunId: runPick, spectrumCompareRunId: besidePick }), [tuned, runPick, besidePick]);
  const viewedOption = options.find((o) => o.runId === viewed);
  const history = useViewedHistory(viewed);
  const training = runBusy(runStatus);
  const latest = options.find((o) => o.runId === (tuned?.runId ?? 0))?.label ?? 'Base model';

  return (
    <section className="panel" aria-labelledby="spectrum-heading" data-testid="spectrum-panel">
      <h2 id="spectrum-heading">Spectrum</h2>
      {nLayers === 0 ? (
        <p className="empty">Load a model to see its spectra.</p>
      ) : (
        <>
          <div className="settings settings-narrow">
            <label className="field" htmlFor={ids.run}>
              Run
              <RunSelect id={ids.run} value={runPick} options={options} onChange={setRun} testId="spectrum-run-select" none={`Latest: ${latest}`} />
            </label>
            <label className="field" htmlFor={ids.beside}>
              Beside it
              <RunSelect
                id={ids.beside} value={besidePick} options={options.filter((o) => o.runId !== viewed)} onChange={setBeside}
                testId="spectrum-beside-select" none="No second run"
              />
            </label>
            <span />
            <label className="field" htmlFor={ids.layer}>
              Layer
              <select id={ids.layer} value={Math.min(layer, nLayers - 1)} onChange={(e) => setLayer(Number(e.currentTarget.value))} data-testid="spectrum-layer">
                {Array.from({ length: nLayers }, (_, l) => (
                  <option key={l} value={l}>{l}</option>
                ))}
              </select>
            </label>
            <label className="field" htmlFor={ids.module}>
              Module
              <select id={ids.module} value={module} onChange={(e) => setModule(e.currentTarget.value as LinearModule)} data-testid="spectrum-module">
                {LINEAR_MODULES.map((m) => (
                  <option key={m} value={m}>{m}</option>
                ))}
              </select>
            </label>
          </div>
          <div className="settings settings-narrow">
            <label className="field" htmlFor={ids.every}>
              Spectra every N steps
              <input
                id={ids.every} type="number" min={0} step={1} value={every} aria-describedby={`${ids.every}-hint`}
                onChange={(e) => {
                  const n = Number(e.currentTarget.value);
                  if (Number.isInteger(n) && n >= 0) void setEvery(n);
                }}
                data-testid="spectra-every"
              />
              <span id={`${ids.every}-hint`} className="field-hint">0 = off.</span>
            </label>
            <label className="field" htmlFor={ids.budget}>
              Round time budget (ms)
              <input
                id={ids.budget} type="number" min={0} step={50} value={budget} aria-describedby={`${ids.budget}-hint`}
                onChange={(e) => {
                  const n = Number(e.currentTarget.value);
                  if (Number.isFinite(n) && n >= 0 && e.currentTarget.value !== '') void setBudget(n);
                }}
                data-testid="spectra-budget"
              />
              <span id={`${ids.budget}-hint`} className="field-hint">
                Each round takes about this long between two steps; the module on screen is always in it, the others take turns.
              </span>
            </label>
          </div>
          <div className="actions">
            <button type="button" onClick={() => void compute(true)} disabled={status === 'computing'} data-testid="spectrum-compute">
              {status === 'computing' ? 'Computing…' : 'Show spectrum'}
            </button>
            {training && <span className="muted">While training, the spectrum is computed between two steps.</span>}
          </div>
          {error && (
            <p className="inline-error" role="alert" data-testid="spectrum-error">
              {error}
            </p>
          )}
          <SigmaViews runIds={shown} options={options} />
          <h3>ΔW over the run{viewedOption && viewed !== 0 ? ` (${viewedOption.label})` : ''}</h3>
          <HistoryPlots history={history} option={viewedOption} />
          <h3>rank90 of ΔW by layer and module</h3>
          <RankHeatmap nLayers={nLayers} history={history.history} />
          <h3>Intruder dimensions</h3>
          <IntrudersView runId={viewed} nLayers={nLayers} label={viewedOption?.label ?? `Run ${viewed}`} />
        </>
      )}
    </section>
  );
}
