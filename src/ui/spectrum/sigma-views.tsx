/**
 * The σ plots on screen: the viewed run's singular values of W₀, W₀+ΔW and ΔW for the chosen module,
 * with its headline (which run, which module, after which step, ΔW's rank90 and overlaps), and
 * optionally a second run's beside it on the same y range (LoRA vs MoRA: ΔW of rank ≤ r vs high rank).
 */
import { moduleName } from '../../schema/tensors.ts';
import { spectrumKey, type SpectrumView } from '../../store/spectrum-slice.ts';
import { useAppStore } from '../../store/store.ts';
import { runSettingsLine } from '../shared/run-caption.ts';
import { LinePlot, type PlotSeries } from './line-plot.tsx';
import type { SpectrumRunOption } from './spectrum-runs.ts';

const seq = (values: readonly number[] | undefined) => (values ?? []).map((y, i) => ({ x: i + 1, y }));

/** The series of one record. */
function sigmaSeries(record: SpectrumView['record']): PlotSeries[] {
  return [
    { key: 'base', label: 'σ(W₀)', color: '#64748b', points: seq(record.sigma) },
    { key: 'merged', label: 'σ(W₀+ΔW)', color: '#2563eb', points: seq(record.sigma_merged) },
    { key: 'delta', label: 'σ(ΔW)', color: '#dc2626', points: seq(record.delta_sigma) },
  ];
}

/** [min, max] of the positive values of `views`' series (a shared log-scale range). */
function positiveRange(views: readonly SpectrumView[]): [number, number] | undefined {
  const ys = views.flatMap((v) => [...v.record.sigma, ...(v.record.sigma_merged ?? []), ...(v.record.delta_sigma ?? [])]).filter((y) => y > 0);
  return ys.length ? [Math.min(...ys), Math.max(...ys)] : undefined;
}

interface ViewProps {
  view: SpectrumView;
  option: SpectrumRunOption | undefined;
  /** '' for the main view; '-beside' for the second one (test ids). */
  suffix: string;
  yDomain?: [number, number];
}

function SigmaView({ view, option, suffix, yDomain }: ViewProps) {
  const demos = useAppStore((s) => s.demos);
  const runs = useAppStore((s) => s.runs);
  const { record, step, runId } = view;
  const [out, inF] = record.shape;
  const label = option?.label ?? (runId === 0 ? 'Base model' : `Run ${runId}`);
  const run = runs.find((r) => r.runId === runId);
  const notes = [run ? runSettingsLine(run, demos) : label, `${record.name} (${out} × ${inF}), ${step > 0 ? `after step ${step}` : 'base model'}`];
  return (
    <div className="sigma-view" data-testid={`spectrum-view${suffix}`} data-run-id={runId}>
      <p className="sigma-run">
        <strong data-testid={`spectrum-run${suffix}`}>{label}</strong>
      </p>
      <p className="hint" data-testid={`spectrum-caption${suffix}`}>
        {record.name} ({out} × {inF}), {step > 0 ? `after step ${step}` : 'base model'}
        {record.delta_rank90 !== undefined && (
          <>
            {' '}· ΔW rank90 <strong data-testid={`spectrum-rank90${suffix}`}>{record.delta_rank90}</strong> · overlap principal{' '}
            {record.overlap_principal?.toFixed(3)} / minor {record.overlap_minor?.toFixed(3)} (r = {record.overlap_r})
          </>
        )}
      </p>
      <LinePlot
        title={`Singular values of ${record.name} — ${label}`}
        series={sigmaSeries(record)}
        xLabel="index i"
        yLabel="σᵢ (log)"
        log
        yDomain={yDomain}
        testId={`sigma-chart${suffix}`}
        notes={notes}
      />
    </div>
  );
}

export function SigmaViews({ runIds, options }: { runIds: readonly number[]; options: readonly SpectrumRunOption[] }) {
  const layer = useAppStore((s) => s.spectrumLayer);
  const module = useAppStore((s) => s.spectrumModule);
  const records = useAppStore((s) => s.spectrumRecords);
  const status = useAppStore((s) => s.spectrumStatus);
  const name = moduleName(layer, module);
  const views = runIds.map((id) => records[spectrumKey(id, name)]);
  const shown = views.filter((v): v is SpectrumView => v !== undefined);
  if (shown.length === 0) {
    return status === 'computing' ? <p className="hint" data-testid="spectrum-computing">Computing the spectrum of {name}…</p> : null;
  }
  const yDomain = runIds.length > 1 ? positiveRange(shown) : undefined;
  return (
    <div className={runIds.length > 1 ? 'sigma-views sigma-views-2' : 'sigma-views'}>
      {views.map((v, i) =>
        v ? (
          <SigmaView key={runIds[i]} view={v} option={options.find((o) => o.runId === runIds[i])} suffix={i === 0 ? '' : '-beside'} yDomain={yDomain} />
        ) : (
          <p key={runIds[i]} className="hint">Computing the spectrum of {name} for {options.find((o) => o.runId === runIds[i])?.label ?? `run ${runIds[i]}`}…</p>
        ),
      )}
    </div>
  );
}
