/**
 * The Lab panel (issue 14): the four seed papers' findings, each a preset of runs — a sentence, the
 * paper, every run's settings, a time estimate measured on this GPU, and Run (full or quick). While
 * a preset runs: which run, overall progress and live charts; at the end the result card. A preset a
 * reload interrupted is offered for resume. The experiments' settings are listed at once; the
 * estimates are measured when the list is opened (each trains a few steps of every run).
 */
import { useEffect } from 'react';
import { labEstimateKey } from '../../store/lab-slice.ts';
import { runActive } from '../../store/run-status.ts';
import { useAppStore } from '../../store/store.ts';
import type { LabExperimentSummary } from '../../workers/protocol.ts';
import { NumberField } from '../shared/number-field.tsx';
import { estimateText, runSettingsText } from './lab-format.ts';
import { LabLive } from './lab-live.tsx';
import { LabResult } from './lab-result.tsx';

function Experiment({ exp }: { exp: LabExperimentSummary }) {
  const quick = useAppStore((s) => s.labQuick);
  const estimate = useAppStore((s) => s.labEstimates[labEstimateKey(exp.id, quick)]);
  const status = useAppStore((s) => s.labStatus);
  const running = useAppStore((s) => s.labExperiment);
  const trainBusy = useAppStore((s) => runActive(s.runStatus));
  const hasModel = useAppStore((s) => s.model !== null);
  const run = useAppStore((s) => s.runLab);
  const size = exp[quick ? 'quick' : 'full'];
  const disabled = status !== 'idle' || trainBusy || !hasModel;
  return (
    <article className="lab-experiment" data-testid={`lab-exp-${exp.id}`}>
      <h3>{exp.question}</h3>
      <p>{exp.sentence}</p>
      <p className="hint">
        <a href={exp.paper.url} target="_blank" rel="noreferrer">{exp.paper.title}</a> (arXiv {exp.paper.arxiv}); the paper ran {exp.paper.model}.
      </p>
      <details className="lab-settings">
        <summary>Settings ({quick ? 'quick' : 'full'} version: {size.runs.length} runs, measured every {size.every} steps)</summary>
        <p>Data: {size.data}.</p>
        <ul>
          {size.runs.map((r) => (
            <li key={r.name}><strong>{r.name}</strong>: {runSettingsText(r)}</li>
          ))}
        </ul>
        <p>Measured before the first step, every {size.every} steps and after the last: {size.measures.join('; ')}.</p>
      </details>
      <p className="hint" data-testid={`lab-estimate-${exp.id}`} data-state={estimate?.state ?? 'none'}>
        {estimate?.state === 'done'
          ? estimateText(estimate.estimate)
          : estimate?.state === 'failed'
            ? `No time estimate: ${estimate.message}`
            : estimate?.state === 'measuring'
              ? 'Measuring a few steps of each run for the time estimate…'
              : 'The time estimate is measured when the preset list is open and the engine is free.'}
      </p>
      <button type="button" onClick={() => void run(exp.id)} disabled={disabled} data-testid={`lab-run-${exp.id}`}>
        {status !== 'idle' && running === exp.id ? 'Running…' : `Run${quick ? ' (quick)' : ''}`}
      </button>
    </article>
  );
}

function ResumeNotice() {
  const pending = useAppStore((s) => s.labPending);
  const status = useAppStore((s) => s.labStatus);
  const exp = useAppStore((s) => s.labExperiments?.find((e) => e.id === s.labPending?.experiment));
  const run = useAppStore((s) => s.runLab);
  const discard = useAppStore((s) => s.discardLabPending);
  const trainBusy = useAppStore((s) => runActive(s.runStatus));
  if (!pending || status !== 'idle') return null;
  const at = pending.current ? ` Run ${pending.current.run + 1} (${pending.current.name}) was at step ${pending.current.step} of ${pending.current.steps}; it starts again.` : '';
  return (
    <div className="panel-warning lab-resume" role="status" data-testid="lab-resume-notice" data-experiment={pending.experiment} data-done={pending.done.length}>
      <p>
        {`Interrupted: "${exp?.question ?? pending.experiment}"${pending.quick ? ' (quick)' : ''}, seed ${pending.seed}, on ${pending.modelName}: ` +
          `${pending.done.length} of ${pending.runs} runs finished (kept in Saved runs).${at}`}
      </p>
      <button type="button" onClick={() => void run(pending.experiment, true)} disabled={trainBusy} data-testid="lab-resume">
        Resume
      </button>
      <button type="button" onClick={() => void discard()} data-testid="lab-discard">
        Discard
      </button>
    </div>
  );
}

export function LabPanel() {
  const experiments = useAppStore((s) => s.labExperiments);
  const hasModel = useAppStore((s) => s.model !== null);
  const load = useAppStore((s) => s.loadLab);
  const open = useAppStore((s) => s.labOpen);
  const setOpen = useAppStore((s) => s.setLabOpen);
  const quick = useAppStore((s) => s.labQuick);
  const setQuick = useAppStore((s) => s.setLabQuick);
  const seed = useAppStore((s) => s.labSeed);
  const setSeed = useAppStore((s) => s.setLabSeed);
  const status = useAppStore((s) => s.labStatus);
  const result = useAppStore((s) => s.labResult);
  const message = useAppStore((s) => s.labMessage);
  const error = useAppStore((s) => s.labError);
  const estimateAll = useAppStore((s) => s.estimateLabAll);
  const engineFree = useAppStore((s) => s.labStatus === 'idle' && !runActive(s.runStatus));
  useEffect(() => {
    if (hasModel && experiments === null) void load();
  }, [hasModel, experiments, load]);
  // Estimates left out while the engine was busy are measured once it is free again.
  useEffect(() => {
    if (open && engineFree && experiments !== null) void estimateAll();
  }, [open, engineFree, experiments, estimateAll]);

  return (
    <section className="panel" aria-labelledby="lab-title" data-testid="lab-panel">
      <h2 id="lab-title">Lab: the seed papers, measured here</h2>
      <p className="hint">Each experiment runs a preset of runs on the loaded model and sets our numbers beside the paper's. Finished runs are kept in Saved runs and can be compared.</p>
      <ResumeNotice />
      {error && <p className="inline-error" role="alert" data-testid="lab-error">{error}</p>}
      {message && <p className="hint" role="status" data-testid="lab-message">{message}</p>}
      {status !== 'idle' && <LabLive />}
      {result && status === 'idle' && <LabResult outcome={result} />}
      <details open={open} onToggle={(e) => setOpen(e.currentTarget.open)} data-testid="lab-experiments">
        <summary>The experiments{experiments ? ` (${experiments.length})` : ''}</summary>
        <div className="lab-options">
          <label className="toggle">
            <input type="checkbox" checked={quick} onChange={(e) => setQuick(e.currentTarget.checked)} disabled={status !== 'idle'} data-testid="lab-quick" />
            Quick version (a few steps on tiny shapes: checks the pipeline, says little about the papers)
          </label>
          <NumberField label="Seed" value={seed} min={0} step={1} integer testId="lab-seed" onCommit={setSeed} />
        </div>
        {experiments === null ? <p className="hint">Listing the experiments…</p> : experiments.map((e) => <Experiment key={e.id} exp={e} />)}
      </details>
    </section>
  );
}
