/** The run's status line in words, exact about what the engine does: starting, running, finishing, stopped. */
import type { RunResult, RunStatus } from '../../store/run-slice.ts';

/** The status as data-state shows it: the run's status, or 'finishing' after its last step. */
export function statusState(status: RunStatus, finishing: string | null): RunStatus | 'finishing' {
  return finishing && (status === 'running' || status === 'stopping') ? 'finishing' : status;
}

/** `stage`: what a starting run does; `finishing`: what the engine does after the last step (or a stop). */
export function statusText(status: RunStatus, stage: string | null, finishing: string | null, result: RunResult | null): string {
  if (statusState(status, finishing) === 'finishing') return finishing!;
  switch (status) {
    case 'idle':
      return 'Not started';
    case 'starting':
      return stage ?? 'Starting…';
    case 'finished':
      return result?.reason === 'stopped' ? 'Stopped' : 'Finished';
    default:
      return status[0]!.toUpperCase() + status.slice(1);
  }
}
