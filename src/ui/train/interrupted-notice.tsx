/** In the Train panel after a reload or a lost device: the newest interrupted or failed run, with Resume at hand. */
import { resumable } from '../../schema/stored-run.ts';
import { isMethodId } from '../../store/methods.ts';
import { runLabel } from '../../store/runs-slice.ts';
import { useAppStore } from '../../store/store.ts';

export function InterruptedNotice() {
  const status = useAppStore((s) => s.runStatus);
  const runs = useAppStore((s) => s.savedRuns);
  const resume = useAppStore((s) => s.resumeSavedRun);
  const ready = useAppStore((s) => s.engineStatus === 'ready');
  if (status !== 'idle' && status !== 'failed') return null;
  const run = [...(runs ?? [])].reverse().find((r) => (r.interrupted || r.status === 'failed') && resumable(r));
  if (!run) return null;
  const label = isMethodId(run.methodId) ? runLabel(run.runId, run.methodId, run.config) : `Run ${run.runId}`;
  const what = run.interrupted ? 'stopped when the page went away' : 'failed';
  return (
    <div className="inline-warning interrupted-notice" role="status" data-testid="interrupted-notice" data-run-id={run.runId}>
      <p>
        {label} on {run.model.name} {what}; its checkpoint at step {run.checkpointStep} of {run.config.steps} is saved.
      </p>
      <button type="button" disabled={!ready} onClick={() => void resume(run.runId)} data-testid="resume-interrupted">
        Resume {label.split(' · ')[0]}
      </button>
    </div>
  );
}
