/** A progress bar with the step, tokens per second and, while it steps, the time left; and what the run trains on. */
import { useAppStore } from '../../store/store.ts';
import { formatInt, formatMs } from '../shared/format.ts';

export function RunProgressView() {
  const progress = useAppStore((s) => s.runProgress);
  const info = useAppStore((s) => s.runInfo);
  // No time left to show while nothing steps: paused, or finishing after the last step.
  const stepping = useAppStore((s) => s.runStatus === 'running' && s.runFinishing === null);
  if (!info) return null;
  const total = info.config.steps;
  const step = progress?.step ?? 0;
  return (
    <div className="run-progress" data-testid="run-progress">
      <progress max={total} value={step} aria-label="Training progress" data-testid="progress-bar" />
      <p className="progress-line">
        Step <strong data-testid="progress-step">{step}</strong> / {total}
        {progress && (
          <>
            {' · '}
            <span data-testid="progress-speed">{formatInt(Math.round(progress.tokensPerSec))}</span> tokens/s · loss {progress.loss.toFixed(4)}
            {step < total && stepping && (
              <>
                {' · ETA '}
                <span data-testid="progress-eta">{formatMs(progress.etaMs)}</span>
              </>
            )}
          </>
        )}
      </p>
      <p className="hint">
        Training <span data-testid="run-trainable">{formatInt(info.trainableCount)}</span> of {formatInt(info.paramCount)} parameters on{' '}
        <span data-testid="run-data">
          {info.data.stats.file} ({formatInt(info.data.stats.tokens)} tokens)
        </span>
        : {formatInt(info.data.stats.trainWindows)} windows of {info.config.seq} tokens ({formatInt(info.tokensPerStep)} tokens per step).
        {info.probe && (
          <span data-testid="run-probe">
            {' '}
            Forgetting probe: {info.probe.fileName} ({formatInt(info.probe.windows)} windows, {formatInt(info.probe.tokens)} tokens).
          </span>
        )}
      </p>
    </div>
  );
}
