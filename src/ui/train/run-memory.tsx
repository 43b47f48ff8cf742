/**
 * The run's GPU memory: the buffer pool's measured peak (the last step's RunStep.peakGpuBytes) next
 * to the estimate for the run's settings (src/schema/estimate.ts), e.g.
 * "Peak GPU memory 157.8 MiB measured · 157.7 MiB estimated".
 */
import { useMemo } from 'react';
import { formatBytes, memoryEstimate } from '../../schema/estimate.ts';
import { useAppStore } from '../../store/store.ts';

export function RunMemory() {
  const info = useAppStore((s) => s.runInfo);
  const model = useAppStore((s) => s.model);
  // A number, so the panel re-renders when a new step's peak arrives (metrics.train grows in place).
  const measured = useAppStore((s) => (s.runInfo && s.metrics.runId === s.runInfo.runId ? s.metrics.train.at(-1)?.peakGpuBytes : undefined));
  const estimated = useMemo(
    () => (info && model ? memoryEstimate(info.config, model.config, info.paramCount, model.weightStorage).total : null),
    [info, model],
  );
  if (measured === undefined || estimated === null) return null;
  return (
    <p className="hint" data-testid="run-memory" data-measured={measured} data-estimated={estimated}>
      Peak GPU memory <strong data-testid="run-peak-measured">{formatBytes(measured)}</strong> measured ·{' '}
      <span data-testid="run-peak-estimated">{formatBytes(estimated)}</span> estimated
    </p>
  );
}
