/**
 * The spectrum view: pick a layer and module, see the singular values of W₀, W₀+ΔW and ΔW (log
 * scale), ΔW's rank90 and its principal vs minor overlap over the run's steps, and the layer × module
 * heatmap of rank90. Spectra rounds come every N training steps (set here; 0 = off).
 */
import { useEffect, useId } from 'react';
import { LINEAR_MODULES, moduleName, type LinearModule } from '../../model/weights.ts';
import { useAppStore } from '../../store/store.ts';
import { LinePlot, type PlotSeries } from './line-plot.tsx';
import { RankHeatmap } from './rank-heatmap.tsx';

const NO_POINTS: never[] = [];
const seq = (values: readonly number[] | undefined) => (values ?? []).map((y, i) => ({ x: i + 1, y }));

function SigmaPlot() {
  const record = useAppStore((s) => s.spectrumRecord);
  const step = useAppStore((s) => s.spectrumStep);
  if (!record) return null;
  const series: PlotSeries[] = [
    { key: 'base', label: 'σ(W₀)', color: '#64748b', points: seq(record.sigma) },
    { key: 'merged', label: 'σ(W₀+ΔW)', color: '#2563eb', points: seq(record.sigma_merged) },
    { key: 'delta', label: 'σ(ΔW)', color: '#dc2626', points: seq(record.delta_sigma) },
  ];
  const [out, inF] = record.shape;
  return (
    <>
      <p className="hint" data-testid="spectrum-caption">
        {record.name} ({out} × {inF}), {step > 0 ? `after step ${step}` : 'base model'}
        {record.delta_rank90 !== undefined && (
          <>
            {' '}· ΔW rank90 <strong data-testid="spectrum-rank90">{record.delta_rank90}</strong> · overlap principal{' '}
            {record.overlap_principal?.toFixed(3)} / minor {record.overlap_minor?.toFixed(3)} (r = {record.overlap_r})
          </>
        )}
      </p>
      <LinePlot title={`Singular values of ${record.name}`} series={series} xLabel="index i" yLabel="σᵢ (log)" log testId="sigma-chart" />
    </>
  );
}

function HistoryPlots() {
  const layer = useAppStore((s) => s.spectrumLayer);
  const module = useAppStore((s) => s.spectrumModule);
  const points = useAppStore((s) => s.spectraHistory[moduleName(layer, module)] ?? NO_POINTS);
  if (points.length === 0) return <p className="empty" data-testid="spectra-history-empty">No spectra rounds for this module yet: train it (full fine-tuning, or an adapter targeting it).</p>;
  return (
    <div className="spectrum-history">
      <LinePlot
        title="ΔW rank90 over steps"
        series={[{ key: 'rank90', label: 'rank90(ΔW)', color: '#dc2626', points: points.map((p) => ({ x: p.step, y: p.delta_rank90 })) }]}
        xLabel="step"
        yLabel="rank90"
        width={300}
        height={180}
        testId="rank90-chart"
      />
      <LinePlot
        title="Overlap of ΔW with W₀'s principal and minor subspaces over steps"
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
      />
    </div>
  );
}

export function SpectrumPanel() {
  const ids = { layer: useId(), module: useId(), every: useId() };
  const nLayers = useAppStore((s) => s.model?.config.nLayers ?? 0);
  const layer = useAppStore((s) => s.spectrumLayer);
  const module = useAppStore((s) => s.spectrumModule);
  const every = useAppStore((s) => s.spectraEvery);
  const status = useAppStore((s) => s.spectrumStatus);
  const error = useAppStore((s) => s.spectrumError);
  const runStatus = useAppStore((s) => s.runStatus);
  const setLayer = useAppStore((s) => s.setSpectrumLayer);
  const setModule = useAppStore((s) => s.setSpectrumModule);
  const setEvery = useAppStore((s) => s.setSpectraEvery);
  const compute = useAppStore((s) => s.computeSpectrum);
  const watch = useAppStore((s) => s.watchSpectra);
  useEffect(() => watch(), [watch]);
  const training = runStatus === 'starting' || runStatus === 'running' || runStatus === 'stopping';

  return (
    <section className="panel" aria-labelledby="spectrum-heading" data-testid="spectrum-panel">
      <h2 id="spectrum-heading">Spectrum</h2>
      {nLayers === 0 ? (
        <p className="empty">Load a model to see its spectra.</p>
      ) : (
        <>
          <div className="settings settings-narrow">
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
            <label className="field" htmlFor={ids.every}>
              Spectra every N steps
              <input
                id={ids.every}
                type="number"
                min={0}
                step={1}
                value={every}
                onChange={(e) => {
                  const n = Number(e.currentTarget.value);
                  if (Number.isInteger(n) && n >= 0) void setEvery(n);
                }}
                data-testid="spectra-every"
              />
              <span className="field-hint">0 = off; each round takes at most ~0.3 s between steps.</span>
            </label>
          </div>
          <div className="actions">
            <button type="button" onClick={() => void compute()} disabled={status === 'computing'} data-testid="spectrum-compute">
              {status === 'computing' ? 'Computing…' : 'Show spectrum'}
            </button>
            {training && <span className="muted">While training, the spectrum is computed between two steps.</span>}
          </div>
          {error && (
            <p className="inline-error" role="alert" data-testid="spectrum-error">
              {error}
            </p>
          )}
          <SigmaPlot />
          <h3>ΔW over the run</h3>
          <HistoryPlots />
          <h3>rank90 of ΔW by layer and module</h3>
          <RankHeatmap nLayers={nLayers} />
        </>
      )}
    </section>
  );
}
