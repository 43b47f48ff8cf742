/** Base vs fine-tuned, side by side: the generate panel's prompt and settings on both models. */
import { importIsCurrent } from '../../store/import-slice.ts';
import { useAppStore } from '../../store/store.ts';
import { runBusy } from '../../store/run-status.ts';

function Side({ title, text, testId, active }: { title: string; text: string; testId: string; active: boolean }) {
  return (
    <div className="compare-side">
      <h4>
        {title} {active && <span className="spinner" aria-label="generating" />}
      </h4>
      <div className="output output-small" role="log" aria-label={`${title} output`} tabIndex={0} data-testid={testId}>
        {text || <span className="muted">—</span>}
      </div>
    </div>
  );
}

export function CompareView() {
  // A run's steps, or an imported adapter (0 steps), make a fine-tuned model to compare.
  const hasTuned = useAppStore((s) => s.tuned !== null && (s.tuned.steps > 0 || importIsCurrent(s)));
  const runActive = useAppStore((s) => runBusy(s.runStatus));
  const status = useAppStore((s) => s.compareStatus);
  const side = useAppStore((s) => s.compareSide);
  const base = useAppStore((s) => s.compareBase);
  const tunedText = useAppStore((s) => s.compareTuned);
  const label = useAppStore((s) => s.compareLabel);
  const error = useAppStore((s) => s.compareError);
  const generating = useAppStore((s) => s.generateStatus !== 'idle');
  const start = useAppStore((s) => s.startCompare);
  const stop = useAppStore((s) => s.stopCompare);
  const hasOutput = base !== '' || tunedText !== '';
  return (
    <div className="compare" data-testid="compare">
      <h3>Base vs fine-tuned</h3>
      <div className="actions">
        <button
          type="button"
          disabled={!hasTuned || runActive || generating || status !== 'idle'}
          onClick={() => void start()}
          data-testid="compare-start"
        >
          Compare base and fine-tuned
        </button>
        <button type="button" disabled={status !== 'running'} onClick={stop} data-testid="compare-stop">
          Stop
        </button>
        <span className="hint">
          {!hasTuned
            ? 'Train a run to compare it with the base model.'
            : runActive
              ? 'Pause or finish the run to compare.'
              : 'Same prompt, seed and sampling on both.'}
        </span>
      </div>
      {(hasOutput || status !== 'idle') && (
        <div className="compare-grid" data-testid="compare-outputs" data-state={status}>
          <Side title="Base model" text={base} testId="compare-base" active={side === 'base'} />
          <Side title={`Fine-tuned${label ? ` (${label})` : ''}`} text={tunedText} testId="compare-tuned" active={side === 'tuned'} />
        </div>
      )}
      {error && (
        <p className="inline-error" role="alert" data-testid="compare-error">
          {error}
        </p>
      )}
    </div>
  );
}
