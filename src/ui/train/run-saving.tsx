/** How often the run is checkpointed in the browser, the last checkpoint saved, and any storage problem. */
import { runActive } from '../../store/run-status.ts';
import { useAppStore } from '../../store/store.ts';
import { SPECTRAL_METHODS } from '../../schema/train-config.ts';
import { FIELD_LABELS } from '../method/config-problem.ts';
import { formatBytes, trainableParams } from '../../schema/estimate.ts';
import { NumberField } from '../shared/number-field.tsx';

/**
 * Bytes of one checkpoint for the current settings: each trainable value with its two Adam moments
 * (3 × 4 bytes), plus PiSSA/MiLoRA's initial A₀, B₀ (4 bytes per adapter value).
 */
function useCheckpointBytes(): number | null {
  const config = useAppStore((s) => s.trainConfig);
  const model = useAppStore((s) => s.model);
  if (!model) return null;
  const n = trainableParams(config, model.config, model.paramCount);
  return n * 12 + (SPECTRAL_METHODS.includes(config.method) ? n * 4 : 0);
}

export function RunSaving() {
  const every = useAppStore((s) => s.checkpointEvery);
  const setEvery = useAppStore((s) => s.setCheckpointEvery);
  const setDraft = useAppStore((s) => s.setFieldDraft);
  const runId = useAppStore((s) => s.runInfo?.runId ?? null);
  const saved = useAppStore((s) => s.lastSaved);
  const problem = useAppStore((s) => s.storageProblem);
  const status = useAppStore((s) => s.runStatus);
  const active = runActive(status);
  const checkpointBytes = useCheckpointBytes();
  return (
    <div className="run-saving">
      <NumberField
        label="Checkpoint every (steps)"
        value={every}
        min={0}
        step={1}
        integer
        hint={`Saved in this browser: a reload loses at most these steps. 0 = only on pause, stop and end.${
          checkpointBytes ? ` Each checkpoint ≈ ${formatBytes(checkpointBytes)}.` : ''
        }`}
        testId="checkpoint-every"
        onCommit={setEvery}
        onDraft={(d) => setDraft('checkpointEvery', d && { label: FIELD_LABELS.checkpointEvery!, ...d })}
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
