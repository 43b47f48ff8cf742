/** Start, pause, resume and stop a run; its exact status, progress, result and the live loss chart. */
import { useId } from 'react';
import { runActive } from '../../store/run-status.ts';
import { useAppStore } from '../../store/store.ts';
import { LossChart } from '../charts/loss-chart.tsx';
import { formatMs } from '../shared/format.ts';
import { RunMemory } from './run-memory.tsx';
import { RunProgressView } from './run-progress.tsx';
import { statusState, statusText } from './run-status.ts';
import { InterruptedNotice } from './interrupted-notice.tsx';
import { RunSaving } from './run-saving.tsx';
import { StartButton } from './start-button.tsx';
import { useStartBlocker } from './start-blocker.ts';

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
  const blockerId = useId();
  const status = useAppStore((s) => s.runStatus);
  const stage = useAppStore((s) => s.runStage);
  const finishing = useAppStore((s) => s.runFinishing);
  const result = useAppStore((s) => s.runResult);
  const error = useAppStore((s) => s.runError);
  const pause = useAppStore((s) => s.pauseRun);
  const resume = useAppStore((s) => s.resumeRun);
  const stop = useAppStore((s) => s.stopRun);
  const blocker = useStartBlocker();
  const active = runActive(status);
  const state = statusState(status, finishing);

  return (
    <section className="panel" aria-labelledby="run-title" data-testid="run-panel">
      <h2 id="run-title">Train</h2>
      <div className="actions">
        <StartButton blocker={blocker} blockerId={blockerId} testId="train-start" />
        {status === 'paused' ? (
          <button type="button" onClick={() => void resume()} data-testid="train-resume">
            Resume
          </button>
        ) : (
          <button type="button" disabled={status !== 'running' || finishing !== null} onClick={() => void pause()} data-testid="train-pause">
            Pause
          </button>
        )}
        <button type="button" disabled={(status !== 'running' && status !== 'paused') || finishing !== null} onClick={() => void stop()} data-testid="train-stop">
          Stop
        </button>
        <span className="run-status" role="status" data-testid="run-status" data-state={state}>
          {statusText(status, stage, finishing, result)}
        </span>
      </div>
      {!active && blocker && (
        <p id={blockerId} className="hint" data-testid="train-blocker">
          {blocker}
        </p>
      )}
      <InterruptedNotice />
      <StageProgress />
      <RunProgressView />
      <RunMemory />
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
