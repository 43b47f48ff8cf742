/** Live trainable-parameter count and GPU memory estimate for the settings (formula in src/schema/estimate.ts), and which values they are for. */
import { useMemo } from 'react';
import type { FieldDraft } from '../../store/run-slice.ts';
import { useAppStore } from '../../store/store.ts';
import type { TrainConfig } from '../../schema/train-config.ts';
import { FIELD_LABELS } from './config-problem.ts';
import { formatCompact, formatInt } from '../shared/format.ts';
import { formatBytes, memoryEstimate, trainableParams } from '../../schema/estimate.ts';

/** The fields the numbers depend on (besides the method and targets, which cannot be invalid). */
const BUDGET_FIELDS = ['rank', 'batch', 'seq'] as const;

/** "rank 8 and batch 4": the last valid values of the budget's fields now in error, or null when none is. */
function staleValues(config: TrainConfig, drafts: Record<string, FieldDraft>): string | null {
  const stale = BUDGET_FIELDS.filter((k) => drafts[k]).map((k) => `${(FIELD_LABELS[k] ?? k).toLowerCase()} ${config[k]}`);
  if (stale.length === 0) return null;
  return stale.length === 1 ? stale[0]! : `${stale.slice(0, -1).join(', ')} and ${stale.at(-1)}`;
}

export function Budget() {
  const config = useAppStore((s) => s.trainConfig);
  const model = useAppStore((s) => s.model);
  const drafts = useAppStore((s) => s.fieldDrafts);
  const stale = staleValues(config, drafts);
  const numbers = useMemo(() => {
    if (!model) return null;
    const trainable = trainableParams(config, model.config, model.paramCount);
    return { trainable, memory: memoryEstimate(config, model.config, model.paramCount, model.weightStorage), share: trainable / model.paramCount };
  }, [config, model]);
  if (!numbers) return null;
  const { trainable, memory, share } = numbers;
  const parts: [string, number][] = [
    ['weights', memory.weights],
    ['adapter', memory.adapters],
    ['gradients', memory.gradients],
    ['Adam m, v', memory.adam],
    ['activations', memory.activations],
    ['transients', memory.transients],
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
      {stale && (
        <p className="field-error" data-testid="budget-stale">
          These numbers are for {stale}, the last valid value{stale.includes(' and ') ? 's' : ''}.
        </p>
      )}
    </div>
  );
}
