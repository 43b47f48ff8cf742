/** Prompt and sampling settings, Generate / Stop, and the streamed output. */
import { useId, useState, type FormEvent, type KeyboardEvent } from 'react';
import { importIsCurrent } from '../../store/import-slice.ts';
import { methodRow } from '../../store/methods.ts';
import { useAppStore } from '../../store/store.ts';
import { runBusy } from '../../store/run-status.ts';
import { NumberField } from '../shared/number-field.tsx';
import { CompareView } from '../compare/compare-view.tsx';
import { OutputView } from './output-view.tsx';

export function GeneratePanel() {
  const promptId = useId();
  const settings = useAppStore((s) => s.settings);
  const setSetting = useAppStore((s) => s.setSetting);
  const status = useAppStore((s) => s.generateStatus);
  const start = useAppStore((s) => s.startGenerate);
  const stop = useAppStore((s) => s.stopGenerate);
  const hasModel = useAppStore((s) => s.model !== null);
  const hasTokenizer = useAppStore((s) => s.model?.hasTokenizer ?? false);
  const contextLength = useAppStore((s) => s.model?.config.maxSeqLen);
  const loading = useAppStore((s) => s.modelLoading);
  const tunedSteps = useAppStore((s) => s.tuned?.steps ?? 0);
  const importedMethod = useAppStore((s) => (s.tuned && importIsCurrent(s) ? methodRow(s.tuned.methodId).label : null));
  const trainingBusy = useAppStore((s) => runBusy(s.runStatus));
  const comparing = useAppStore((s) => s.compareStatus !== 'idle');
  const [invalid, setInvalid] = useState<ReadonlySet<string>>(new Set());

  const validity = (field: string) => (valid: boolean) =>
    setInvalid((prev) => {
      const next = new Set(prev);
      if (valid) next.delete(field);
      else next.add(field);
      return next;
    });

  const canRun = hasModel && hasTokenizer && !loading && !trainingBusy && !comparing;
  const running = status !== 'idle';
  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    if (canRun && !running && invalid.size === 0) void start();
  };
  const onPromptKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit();
  };

  return (
    <section className="panel" aria-labelledby="generate-title" data-testid="generate-panel">
      <h2 id="generate-title">Generate</h2>
      {!canRun && (
        <p className="hint" data-testid="generate-disabled-reason">
          {!hasModel
            ? 'Load a model to generate text.'
            : !hasTokenizer
              ? 'The loaded model has no tokenizer.'
              : loading
                ? 'Loading a model…'
                : trainingBusy
                  ? 'Training is running: pause it to generate.'
                  : 'Comparing base and fine-tuned…'}
        </p>
      )}
      <form onSubmit={submit} noValidate>
        <fieldset disabled={!canRun || running} className="settings">
          <legend className="visually-hidden">Generation settings</legend>
          <div className="field field-wide">
            <label htmlFor={promptId}>Prompt</label>
            <textarea
              id={promptId}
              rows={3}
              value={settings.prompt}
              placeholder="Empty: start from the beginning-of-text token"
              data-testid="prompt"
              onChange={(e) => setSetting('prompt', e.currentTarget.value)}
              onKeyDown={onPromptKey}
            />
          </div>
          <NumberField
            label="Max new tokens"
            value={settings.maxTokens}
            min={1}
            max={contextLength}
            step={1}
            integer
            testId="max-tokens"
            onCommit={(v) => setSetting('maxTokens', v)}
            onValidity={validity('maxTokens')}
          />
          <NumberField
            label="Temperature"
            value={settings.temperature}
            min={0}
            step={0.1}
            hint="0 = greedy"
            testId="temperature"
            onCommit={(v) => setSetting('temperature', v)}
            onValidity={validity('temperature')}
          />
          <NumberField
            label="Top-p"
            value={settings.topP}
            min={0}
            minExclusive
            max={1}
            step={0.05}
            hint="1 = off"
            testId="top-p"
            onCommit={(v) => setSetting('topP', v)}
            onValidity={validity('topP')}
          />
          <NumberField
            label="Seed"
            value={settings.seed}
            min={0}
            max={2 ** 32 - 1}
            step={1}
            integer
            testId="seed"
            onCommit={(v) => setSetting('seed', v)}
            onValidity={validity('seed')}
          />
        </fieldset>
        <div className="actions">
          <button type="submit" className="primary" disabled={!canRun || running || invalid.size > 0} data-testid="generate">
            Generate
          </button>
          <button type="button" onClick={stop} disabled={status !== 'running'} data-testid="stop">
            Stop
          </button>
          <span className="hint" data-testid="generate-model">
            {importedMethod
              ? `With the imported ${importedMethod} adapter.`
              : tunedSteps > 0
                ? `With the fine-tuned model (${tunedSteps} steps).`
                : 'With the base model.'}{' '}
            Ctrl+Enter in the prompt also generates.
          </span>
        </div>
      </form>
      <OutputView />
      <CompareView />
    </section>
  );
}
