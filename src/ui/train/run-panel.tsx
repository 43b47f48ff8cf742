/** Start, pause, resume and stop a run; its progress, result and the live loss chart. */
import { useAppStore } from '../../store/store.ts';
import { LossChart } from '../charts/loss-chart.tsx';
import { FIELD_LABELS, useConfigProblem } from '../method/config-problem.ts';
import { formatMs } from '../shared/format.ts';
import { RunProgressView } from './run-progress.tsx';
import { InterruptedNotice } from './interrupted-notice.tsx';
import { RunSaving } from './run-saving.tsx';

/** Why Start is disabled, or null when a run can start. */
function useStartBlocker(): string | null {
  const ready = useAppStore((s) => s.engineStatus === 'ready');
  const model = useAppStore((s) => s.model);
  const loading = useAppStore((s) => s.modelLoading);
  const data = useAppStore((s) => s.dataSummary);
  const preparing = useAppStore((s) => s.dataPreparing);
  const dataError = useAppStore((s) => s.dataError);
  const generating = useAppStore((s) => s.generateStatus !== 'idle' || s.compareStatus !== 'idle');
  const problem = useConfigProblem();
  if (!ready) return 'The engine is not ready.';
  if (!model || loading) return 'Load a model first.';
  if (!model.hasTokenizer) return 'The model has no tokenizer: load it with its tokenizer file.';
  if (preparing) return 'Tokenising the data…';
  if (dataError) return 'Fix the training data first.';
  if (!data) return 'Choose training data first.';
  if (problem) return `${FIELD_LABELS[problem.field] ?? 'Settings'}: ${problem.message}`;
  if (generating) return 'Wait for the generation to finish.';
  return null;
}

/** Before the first step: how far a counted stage (PiSSA/MiLoRA's SVDs) has got. */
function StageProgress() {
  const stage = useAppStore((s) => (s.runStatus === 'starting' ? s.runStageProgress : null));
  const message = useAppStore((s) => s.runStage);
  if (!stage) return null;
  return (
    <div className="run-progress" data-testid="init-progress" data-done={stage.done} data-total={stage.total}>
      <progress max={stage.total} value={stage.done} aria-label="Initialisation progress" />
      <p className="progress-line">{message}</p>
    </div>
  );
}

export function RunPanel() {
  const status = useAppStore((s) => s.runStatus);
  const stage = useAppStore((s) => s.runStage);
  const result = useAppStore((s) => s.runResult);
  const error = useAppStore((s) => s.runError);
  const start = useAppStore((s) => s.startRun);
  const pause = useAppStore((s) => s.pauseRun);
  const resume = useAppStore((s) => s.resumeRun);
  const stop = useAppStore((s) => s.stopRun);
  const blocker = useStartBlocker();
  const active = status === 'starting' || status === 'running' || status === 'paused' || status === 'stopping';

  return (
    <section className="panel" aria-labelledby="run-title" data-testid="run-panel">
      <h2 id="run-title">Train</h2>
      <div className="actions">
        <button type="button" className="primary" disabled={active || blocker !== null} onClick={() => void start()} data-testid="train-start">
          Start training
        </button>
        {status === 'paused' ? (
          <button type="button" onClick={() => void resume()} data-testid="train-resume">
            Resume
          </button>
        ) : (
          <button type="button" disabled={status !== 'running'} onClick={() => void pause()} data-testid="train-pause">
            Pause
          </button>
        )}
        <button type="button" disabled={status !== 'running' && status !== 'paused'} onClick={() => void stop()} data-testid="train-stop">
          Stop
        </button>
        <span className="run-status" role="status" data-testid="run-status" data-state={status}>
          {status === 'idle' ? 'Not started' : status === 'starting' ? (stage ?? 'Starting…') : status[0]!.toUpperCase() + status.slice(1)}
        </span>
      </div>
      {!active && blocker && (
        <p className="hint" data-testid="train-blocker">
          {blocker}
        </p>
      )}
      <InterruptedNotice />
      <StageProgress />
      <RunProgressView />
      <RunSaving />
      {status === 'finished' && result && (
        <p className="status" data-testid="run-result" data-reason={result.reason}>
          {result.reason === 'completed' ? 'Finished' : 'Stopped'} after {result.steps} step{result.steps === 1 ? '' : 's'} in {formatMs(result.ms)}
          {result.finalLoss !== null && `; last loss ${result.finalLoss.toFixed(4)}`}
          {result.evalLoss !== null && `, eval loss ${result.evalLoss.toFixed(4)}`}.
        </p>
      )}
      {error && (
        <p className="inline-error" role="alert" data-testid="run-error">
          {error}
        </p>
      )}
      <LossChart />
    </section>
  );
}
