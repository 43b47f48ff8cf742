/**
 * Intruder dimensions of the run on screen (arXiv 2410.21228; ../shared/design/METHODS.md): for the
 * module picked above, each of the fine-tuned W's top-k left singular vectors with its largest
 * |cosine| with W₀'s left singular vectors — below ε it is an intruder, marked in red — and the
 * intruder count of every trained module at that ε. Computed in the worker on request.
 */
import { useId, useState } from 'react';
import { moduleName, LINEAR_MODULES, type LinearModule } from '../../schema/tensors.ts';
import { useAppStore } from '../../store/store.ts';
import { runBusy } from '../../store/run-status.ts';
import { formatMs } from '../shared/format.ts';
import { LinePlot } from './line-plot.tsx';

export function IntrudersView({ runId, nLayers, label }: { runId: number; nLayers: number; label: string }) {
  const epsId = useId();
  const layer = useAppStore((s) => s.spectrumLayer);
  const module = useAppStore((s) => s.spectrumModule);
  const data = useAppStore((s) => s.intruders);
  const status = useAppStore((s) => s.intrudersStatus);
  const error = useAppStore((s) => s.intrudersError);
  const compute = useAppStore((s) => s.computeIntruders);
  const training = useAppStore((s) => runBusy(s.runStatus) || s.labStatus !== 'idle');
  const mine = data && data.runId === runId ? data : null;
  const epsilons = Object.keys(mine?.modules[0]?.intruders ?? {}).sort();
  const [epsPick, setEps] = useState<string | null>(null);
  const eps = epsPick !== null && epsilons.includes(epsPick) ? epsPick : (epsilons.at(-1) ?? '0.9');
  const name = moduleName(layer, module);
  const record = mine?.modules.find((m) => m.name === name);
  const cos = record?.max_cos ?? [];
  const below = cos.map((c, i) => ({ x: i + 1, y: c })).filter((p) => p.y < Number(eps));
  const total = mine?.modules.reduce((a, m) => a + (m.intruders[eps] ?? 0), 0) ?? 0;
  const countOf = (l: number, m: LinearModule) => mine?.modules.find((r) => r.name === moduleName(l, m))?.intruders[eps];
  return (
    <div className="intruders" data-testid="intruders-view">
      <div className="actions">
        <button type="button" onClick={() => void compute(runId)} disabled={status === 'computing' || training || runId === 0} data-testid="intruders-compute">
          {status === 'computing' ? 'Computing…' : 'Find intruder dimensions'}
        </button>
        {runId === 0 && <span className="muted">Pick a run: the base model has no fine-tuned weights.</span>}
        {training && <span className="muted">Available between runs.</span>}
        {mine && (
          <label className="field-inline" htmlFor={epsId}>
            ε{' '}
            <select id={epsId} value={eps} onChange={(e) => setEps(e.currentTarget.value)} data-testid="intruders-eps">
              {epsilons.map((e) => <option key={e} value={e}>{e}</option>)}
            </select>
          </label>
        )}
      </div>
      {error && <p className="inline-error" role="alert" data-testid="intruders-error">{error}</p>}
      {mine && (
        <>
          <p className="hint" data-testid="intruders-summary">
            {`${label}, after step ${mine.step}: ${mine.modules.length} trained modules, ${total} intruder${total === 1 ? '' : 's'} among their top ${cos.length || 10} singular vectors at ε ${eps} (${formatMs(mine.ms)}).`}
          </p>
          {record ? (
            <LinePlot
              title={`Top singular vectors of the fine-tuned ${name}: largest |cos| with W₀'s`}
              series={[
                { key: 'maxcos', label: 'max |cos| with W₀', color: '#2563eb', points: cos.map((c, i) => ({ x: i + 1, y: c })) },
                { key: 'intruder', label: `intruder (< ε ${eps})`, color: '#dc2626', points: below },
                { key: 'eps', label: `ε ${eps}`, color: '#6b7280', points: [{ x: 1, y: Number(eps) }, { x: Math.max(2, cos.length), y: Number(eps) }] },
              ]}
              xLabel="singular vector i (by σ)"
              yLabel="max |cos|"
              yDomain={[0, 1]}
              width={420}
              height={200}
              testId="intruders-chart"
              notes={[label, name]}
            />
          ) : (
            <p className="empty" data-testid="intruders-untrained">{name} is not trained by this run: no intruders to find.</p>
          )}
          <table className="intruders-table" data-testid="intruders-table">
            <caption>Intruders per module at ε {eps} (top {cos.length || 10})</caption>
            <thead>
              <tr><th>layer</th>{LINEAR_MODULES.map((m) => <th key={m}>{m}</th>)}</tr>
            </thead>
            <tbody>
              {Array.from({ length: nLayers }, (_, l) => (
                <tr key={l}>
                  <th>{l}</th>
                  {LINEAR_MODULES.map((m) => {
                    const n = countOf(l, m);
                    return <td key={m} data-testid="intruder-count" data-module={moduleName(l, m)} data-count={n ?? ''}>{n ?? '–'}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
