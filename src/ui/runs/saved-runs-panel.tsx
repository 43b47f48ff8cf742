/**
 * The runs kept in this browser: each with its model, progress, losses and size; an interrupted or
 * stopped run resumes from its checkpoint, a finished one loads as the fine-tuned model (for
 * generation and export), any can be deleted. Shows how much of the site's storage they use.
 */
import type { SavedRunSummary } from '../../schema/stored-run.ts';
import { resumable } from '../../schema/stored-run.ts';
import { isMethodId } from '../../store/methods.ts';
import { runLabel } from '../../store/runs-slice.ts';
import { useAppStore } from '../../store/store.ts';
import { runActive } from '../../store/run-status.ts';
import { formatBytes } from '../../schema/estimate.ts';

/** "interrupted at step 23, checkpoint at step 20" and the like. */
function statusText(r: SavedRunSummary): string {
  const at = `checkpoint at step ${r.checkpointStep} of ${r.config.steps}`;
  if (r.elsewhere) return `Training in another tab; ${at}`;
  if (r.interrupted) return r.checkpointStep > 0 ? `Interrupted; ${at}` : 'Interrupted before its first checkpoint';
  switch (r.status) {
    case 'running':
      return 'Training now';
    case 'paused':
      return `Paused; ${at}`;
    case 'completed':
      return `Completed, ${r.checkpointStep} steps`;
    case 'stopped':
      return `Stopped; ${at}`;
    case 'failed':
      return `Failed: ${(r.error ?? 'unknown error').replace(/\.$/, '')}; ${r.checkpointStep > 0 ? at : 'no checkpoint'}`;
  }
}

function label(r: SavedRunSummary): string {
  return isMethodId(r.methodId) ? runLabel(r.runId, r.methodId, r.config) : `Run ${r.runId} · ${r.methodId}`;
}

export function SavedRunsPanel() {
  const runs = useAppStore((s) => s.savedRuns);
  const use = useAppStore((s) => s.storageUse);
  const error = useAppStore((s) => s.savedRunsError);
  const status = useAppStore((s) => s.runStatus);
  const currentRun = useAppStore((s) => s.runInfo?.runId ?? null);
  const resume = useAppStore((s) => s.resumeSavedRun);
  const remove = useAppStore((s) => s.deleteSavedRun);
  const busy = runActive(status);
  if (runs === null && !error) return null;

  return (
    <section className="panel" aria-labelledby="saved-runs-title" data-testid="saved-runs-panel">
      <h2 id="saved-runs-title">Saved runs</h2>
      {error && (
        <p className="inline-error" role="alert" data-testid="saved-runs-error">
          {error}
        </p>
      )}
      {runs && runs.length === 0 && <p className="hint">Runs are saved in this browser as they train; none yet.</p>}
      {runs && runs.length > 0 && (
        <table className="saved-runs">
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Model</th>
              <th scope="col">State</th>
              <th scope="col">Loss</th>
              <th scope="col">Size</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {[...runs].reverse().map((r) => {
              const live = (r.runId === currentRun && busy) || r.elsewhere;
              const canResume = !live && resumable(r);
              const canLoad = !live && r.status === 'completed' && r.checkpointStep > 0;
              return (
                <tr key={r.runId} data-testid="saved-run" data-run-id={r.runId} data-status={r.elsewhere ? 'elsewhere' : r.interrupted ? 'interrupted' : r.status}>
                  <td>{label(r)}</td>
                  <td>{r.model.name}</td>
                  <td data-testid="saved-run-state">{statusText(r)}</td>
                  <td>{r.train.at(-1)?.loss.toFixed(3) ?? '–'}</td>
                  <td>{formatBytes(r.checkpointBytes + r.data.bytes)}</td>
                  <td className="actions">
                    {(canResume || canLoad) && (
                      <button type="button" disabled={busy} onClick={() => void resume(r.runId)} data-testid={`resume-run-${r.runId}`}>
                        {canResume ? 'Resume' : 'Load'}
                        <span className="visually-hidden"> {label(r)}</span>
                      </button>
                    )}
                    <button type="button" disabled={live} onClick={() => void remove(r.runId)} data-testid={`delete-run-${r.runId}`}>
                      Delete<span className="visually-hidden"> {label(r)}</span>
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {use && (
        <p className="muted" data-testid="storage-use">
          This site uses {formatBytes(use.usage)} of the {formatBytes(use.quota)} the browser allows it.
        </p>
      )}
    </section>
  );
}
