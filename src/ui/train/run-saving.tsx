/** How often the run is checkpointed in the browser, the last checkpoint saved, and any storage problem. */
import { useAppStore } from '../../store/store.ts';
import { formatBytes } from '../method/estimate.ts';
import { NumberField } from '../shared/number-field.tsx';

export function RunSaving() {
  const every = useAppStore((s) => s.checkpointEvery);
  const setEvery = useAppStore((s) => s.setCheckpointEvery);
  const runId = useAppStore((s) => s.runInfo?.runId ?? null);
  const saved = useAppStore((s) => s.lastSaved);
  const problem = useAppStore((s) => s.storageProblem);
  const status = useAppStore((s) => s.runStatus);
  const active = status === 'starting' || status === 'running' || status === 'paused' || status === 'stopping';
  return (
    <div className="run-saving">
      <NumberField
        label="Checkpoint every (steps)"
        value={every}
        min={0}
        step={1}
        integer
        hint="Saved in this browser: a reload loses at most these steps. 0 = only on pause, stop and end."
        testId="checkpoint-every"
        onCommit={setEvery}
      />
      {saved && saved.runId === runId && (
        <p className="muted" role="status" data-testid="run-saved" data-step={saved.step}>
          Run {saved.runId} saved in this browser at step {saved.step} ({formatBytes(saved.bytes)}).
        </p>
      )}
      {problem && (active || problem.runId === runId) && (
        <p className="inline-error" role="alert" data-testid="storage-problem" data-code={problem.code}>
          {problem.message}
        </p>
      )}
    </div>
  );
}
