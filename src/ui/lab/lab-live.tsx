/** A preset while it runs: which run, overall progress, Stop, and live charts of every run so far. */
import { useMemo } from 'react';
import { svgChart, type ChartSpec } from '../../schema/svg-chart.ts';
import type { CurvePoint } from '../../workers/protocol.ts';
import type { LabLiveRun } from '../../store/lab-slice.ts';
import { useAppStore } from '../../store/store.ts';
import { LabChart } from './lab-charts.tsx';

const curve = (runs: readonly LabLiveRun[], key: keyof CurvePoint, scale = 1) =>
  runs.map((r) => ({
    name: r.name,
    points: [...r.points].sort((a, b) => a.step - b.step).filter((p) => typeof p[key] === 'number').map((p): [number, number] => [p.step, (p[key] as number) * scale]),
  }));

/** The live charts: training loss, and the experiment's own measure as it is taken. */
function liveSpecs(experiment: string, runs: readonly LabLiveRun[]): ChartSpec[] {
  const specs: ChartSpec[] = [{ title: 'Training loss (live)', xLabel: 'step', yLabel: 'loss (nats/token)', series: runs.map((r) => ({ name: r.name, points: r.losses })) }];
  if (experiment === 'mora-memory') {
    specs.push({ title: 'Character accuracy of the generated values (live)', xLabel: 'step', yLabel: 'character accuracy (%)', series: curve(runs, 'char_accuracy', 100) });
  } else {
    specs.push({ title: 'Forgetting probe loss (live)', xLabel: 'step', yLabel: 'probe loss (nats/token)', series: curve(runs, 'probe_loss') });
  }
  return specs;
}

export function LabLive() {
  const progress = useAppStore((s) => s.labProgress);
  const live = useAppStore((s) => s.labLive);
  const status = useAppStore((s) => s.labStatus);
  const experiment = useAppStore((s) => s.labExperiment);
  const stop = useAppStore((s) => s.stopLab);
  const charts = useMemo(() => liveSpecs(experiment ?? '', live).map((spec) => ({ spec, markup: svgChart(spec) })), [experiment, live]);
  return (
    <div className="lab-live" data-testid="lab-live" data-status={status}>
      <p className="progress-line" data-testid="lab-progress-line" data-run={progress?.run ?? ''} data-step={progress?.step ?? ''}>
        {progress
          ? `Run ${progress.run + 1} of ${progress.runs}: ${progress.name}, step ${progress.step} of ${progress.steps}` +
            (progress.resumed.length > 0 ? ` (runs ${progress.resumed.map((r) => r + 1).join(', ')} kept from before the reload)` : '')
          : 'Preparing the texts and the first run…'}
      </p>
      <progress max={1} value={progress?.fraction ?? 0} aria-label="Preset progress" data-testid="lab-progress" />
      <p className="hint">{`${Math.round(100 * (progress?.fraction ?? 0))}% of the preset's training steps`}</p>
      <button type="button" onClick={() => void stop()} disabled={status !== 'running'} data-testid="lab-stop">
        {status === 'stopping' ? 'Stopping…' : 'Stop'}
      </button>
      <div className="lab-charts">
        {charts.map((c) => (
          <LabChart key={c.spec.title} file={`${c.spec.title}.svg`} title={c.spec.title} markup={c.markup} downloads={false} />
        ))}
      </div>
    </div>
  );
}
