/**
 * Import an adapter: a peft LoRA/DoRA adapter (a .zip, or adapter_config.json + adapter_model.safetensors)
 * or a MoRA adapter exported here, applied to the loaded model as its fine-tuned version. Shows what
 * was imported, or the file at fault.
 */
import { importedMethodId, importIsCurrent, type ImportedRun } from '../../store/import-slice.ts';
import { methodRow } from '../../store/methods.ts';
import { useAppStore } from '../../store/store.ts';
import { runActive } from '../../store/run-status.ts';
import { FileDropZone } from '../model/file-drop-zone.tsx';
import { formatInt } from '../shared/format.ts';

function ImportedSummary({ adapter }: { adapter: ImportedRun }) {
  const rows: [string, string, string][] = [
    ['method', 'Method', methodRow(importedMethodId(adapter)).label],
    ['rank', 'Rank r', formatInt(adapter.rank)],
    adapter.alpha === null ? ['mora-type', 'MoRA type', String(adapter.moraType)] : ['alpha', 'α', String(adapter.alpha)],
    ['targets', 'Targets', adapter.targets.map((m) => `${m}_proj`).join(', ')],
    ['modules', 'Adapted modules', formatInt(adapter.moduleCount)],
    ['trainable', 'Adapter parameters', formatInt(adapter.trainableCount)],
  ];
  return (
    <div className="imported-adapter" data-testid="imported-adapter" data-method={adapter.method}>
      <p className="status" role="status">
        Imported as run {adapter.runId}: generation, compare and export now use it.
      </p>
      <dl className="arch">
        {rows.map(([key, label, value]) => (
          <div key={key} className="arch-row">
            <dt>{label}</dt>
            <dd data-testid={`imported-${key}`}>{value}</dd>
          </div>
        ))}
      </dl>
      <p className="hint" data-testid="imported-files">
        From {adapter.files.join(', ')}
        {adapter.baseModelName && <> · saved for “{adapter.baseModelName}”</>}
      </p>
      {adapter.warnings.map((w) => (
        <p key={w} className="inline-warning" data-testid="imported-warning">
          {w}
        </p>
      ))}
    </div>
  );
}

export function ImportAdapter() {
  const hasModel = useAppStore((s) => s.model !== null);
  const loading = useAppStore((s) => s.modelLoading);
  const status = useAppStore((s) => s.importStatus);
  const error = useAppStore((s) => s.importError);
  const imported = useAppStore((s) => s.imported);
  const hasTuned = useAppStore((s) => s.tuned !== null);
  // An import stays the current model until a run or a model load replaces it.
  const current = useAppStore(importIsCurrent);
  const running = useAppStore((s) => runActive(s.runStatus));
  const generating = useAppStore((s) => s.generateStatus !== 'idle' || s.compareStatus !== 'idle');
  const importAdapter = useAppStore((s) => s.importAdapter);
  const disabled = !hasModel || loading || running || generating || status !== 'idle';
  const problem = error?.file && error.message.startsWith(`${error.file}: `) ? error.message.slice(error.file.length + 2) : error?.message;

  return (
    <div className="import-adapter" data-testid="import-adapter">
      <h3>Import an adapter</h3>
      <p className="hint">
        A peft LoRA/DoRA adapter (one .zip, or adapter_config.json with adapter_model.safetensors) or a MoRA adapter exported
        here, for the loaded model: it replaces the current fine-tuned model.
        {!hasModel ? ' Load its base model first.' : running ? ' Finish or stop the run first.' : ''}
      </p>
      <FileDropZone
        disabled={disabled}
        onFiles={(files) => void importAdapter(files)}
        label="Adapter files"
        accept=".zip,.json,.safetensors"
        testId="adapter-files"
        zoneTestId="adapter-drop-zone"
      />
      {status === 'importing' && (
        <p className="status" role="status">
          <span className="spinner" aria-hidden="true" /> Importing the adapter…
        </p>
      )}
      {error && (
        <div className="inline-error" role="alert" data-testid="import-error">
          <p>
            {error.file ? (
              <>
                Could not import <strong data-testid="import-error-file">{error.file}</strong>: {problem}
              </>
            ) : (
              <>Could not import the adapter: {problem}</>
            )}
          </p>
          {hasModel && <p className="hint">The {hasTuned ? 'current fine-tuned' : 'loaded'} model is unchanged.</p>}
        </div>
      )}
      {imported && current && <ImportedSummary adapter={imported} />}
    </div>
  );
}
