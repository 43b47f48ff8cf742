/** Training data: a built-in demo, pasted text or an uploaded .txt/.jsonl, tokenised by the engine; what it shows is what trains. */
import { useId } from 'react';
import { useAppStore } from '../../store/store.ts';
import type { DataMode } from '../../store/data-slice.ts';
import { runActive } from '../../store/run-status.ts';
import { FIELD_LABELS } from '../method/config-problem.ts';
import { NumberField } from '../shared/number-field.tsx';
import { DataErrorView } from './data-error.tsx';
import { DataSummaryView } from './data-summary.tsx';
import { DemoPicker } from './demo-picker.tsx';
import { PasteData } from './paste-data.tsx';
import { ProbePicker } from './probe-picker.tsx';
import { UploadData } from './upload-data.tsx';

const MODES: { mode: DataMode; label: string }[] = [
  { mode: 'demo', label: 'Demo dataset' },
  { mode: 'paste', label: 'Paste text' },
  { mode: 'file', label: 'Upload a file' },
];

export function DataPanel() {
  const name = useId();
  const mode = useAppStore((s) => s.dataMode);
  const setMode = useAppStore((s) => s.setDataMode);
  const canTokenise = useAppStore((s) => s.model?.hasTokenizer ?? false);
  const training = useAppStore((s) => runActive(s.runStatus));
  // What the engine holds is shown only under the mode it came from: another mode's data never passes for this one's.
  const ours = useAppStore((s) => s.dataSourceMode === s.dataMode);
  const preparing = useAppStore((s) => s.dataPreparing) && ours;
  const orphanError = useAppStore((s) => s.dataError !== null && s.dataSource === null);
  const evalFraction = useAppStore((s) => s.evalFraction);
  const setEvalFraction = useAppStore((s) => s.setEvalFraction);
  const setDraft = useAppStore((s) => s.setFieldDraft);
  const disabled = !canTokenise || training;
  return (
    <section className="panel" aria-labelledby="data-title" data-testid="data-panel">
      <h2 id="data-title">Data</h2>
      {!canTokenise && <p className="hint">Load a model with its tokenizer to tokenise training data.</p>}
      <fieldset className="segmented" disabled={disabled}>
        <legend className="visually-hidden">Where the training data comes from</legend>
        {MODES.map((m) => (
          <label key={m.mode} className={mode === m.mode ? 'selected' : ''}>
            <input type="radio" name={name} value={m.mode} checked={mode === m.mode} onChange={() => setMode(m.mode)} data-testid={`data-mode-${m.mode}`} />
            {m.label}
          </label>
        ))}
      </fieldset>
      <fieldset className="plain" disabled={disabled}>
        <legend className="visually-hidden">Data source</legend>
        {mode === 'demo' && <DemoPicker />}
        {mode === 'paste' && <PasteData />}
        {mode === 'file' && <UploadData />}
        <div className="settings settings-narrow">
          <NumberField
            label="Eval fraction"
            value={evalFraction}
            min={0}
            max={0.9}
            step={0.05}
            hint="windows held out"
            testId="eval-fraction"
            onCommit={setEvalFraction}
            onDraft={(d) => setDraft('evalFraction', d && { label: FIELD_LABELS.evalFraction!, ...d })}
          />
          <ProbePicker />
        </div>
      </fieldset>
      {preparing && (
        <p className="status" role="status" data-testid="data-preparing">
          <span className="spinner" aria-hidden="true" /> Tokenising…
        </p>
      )}
      {(ours || orphanError) && <DataErrorView />}
      {ours && <DataSummaryView />}
    </section>
  );
}
