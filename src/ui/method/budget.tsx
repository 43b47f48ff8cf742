/** Live trainable-parameter count and GPU memory estimate for the settings (formula in estimate.ts). */
import { useMemo } from 'react';
import { useAppStore } from '../../store/store.ts';
import { formatCompact, formatInt } from '../shared/format.ts';
import { formatBytes, memoryEstimate, trainableParams } from './estimate.ts';

export function Budget() {
  const config = useAppStore((s) => s.trainConfig);
  const model = useAppStore((s) => s.model);
  const numbers = useMemo(() => {
    if (!model) return null;
    const trainable = trainableParams(config, model.config, model.paramCount);
    return { trainable, memory: memoryEstimate(config, model.config, model.paramCount), share: trainable / model.paramCount };
  }, [config, model]);
  if (!numbers) return null;
  const { trainable, memory, share } = numbers;
  const parts: [string, number][] = [
    ['weights', memory.weights],
    ['adapter', memory.adapters],
    ['gradients', memory.gradients],
    ['Adam m, v', memory.adam],
    ['activations', memory.activations],
  ];
  return (
    <div className="budget" data-testid="budget" aria-live="polite">
      <p>
        Trains <strong data-testid="trainable-count">{formatInt(trainable)}</strong> parameters{' '}
        <span className="muted">
          ({formatCompact(trainable)}, {(share * 100).toFixed(share < 0.01 ? 2 : 1)}% of the model)
        </span>
      </p>
      <p>
        GPU memory ≈ <strong data-testid="memory-estimate">{formatBytes(memory.total)}</strong>{' '}
        <span className="muted">
          = {parts.filter(([, b]) => b > 0).map(([label, b]) => `${label} ${formatBytes(b)}`).join(' + ')}
        </span>
      </p>
    </div>
  );
}
