/**
 * `train`'s GPU memory before it starts: the estimate (src/schema/estimate.ts) for the settings, and with
 * --gpu-budget MiB the recompute choice — on when the stored-activation estimate exceeds the budget and
 * recomputing brings it lower — and a warning when even that does not fit.
 */
import type { LlamaConfig } from '../schema/llama-config.ts';
import { chooseRecompute, formatBytes, memoryEstimate, type MemoryEstimate, type WeightStorage } from '../schema/estimate.ts';
import type { TrainConfig } from '../schema/train-config.ts';

export interface MemoryPlan {
  recompute: boolean;
  estimate: MemoryEstimate;
  /** What to tell the user (stderr), one line each. */
  lines: string[];
}

/**
 * `recompute`: --recompute was given (always on). `budgetBytes`: --gpu-budget, or undefined (no automatic choice).
 */
export function planMemory(
  settings: TrainConfig, c: LlamaConfig, paramCount: number, storage: WeightStorage, recompute: boolean, budgetBytes?: number,
): MemoryPlan {
  const auto = !recompute && budgetBytes !== undefined && chooseRecompute(settings, c, paramCount, storage, budgetBytes);
  const on = recompute || auto;
  const estimate = memoryEstimate({ ...settings, recompute: on }, c, paramCount, storage);
  const parts = (['weights', 'adapters', 'gradients', 'adam', 'activations', 'transients'] as const)
    .filter((k) => estimate[k] > 0).map((k) => `${k} ${formatBytes(estimate[k])}`).join(' + ');
  const lines = [`memory: about ${formatBytes(estimate.total)} of GPU memory (${parts})${on ? ', recomputing activations' : ''}`];
  if (auto) {
    const stored = memoryEstimate({ ...settings, recompute: false }, c, paramCount, storage).total;
    lines.push(`memory: recompute on: storing every layer's activations would take ${formatBytes(stored)}, over --gpu-budget ${formatBytes(budgetBytes!)}`);
  }
  if (budgetBytes !== undefined && estimate.total > budgetBytes) {
    lines.push(
      `warning: the estimate ${formatBytes(estimate.total)} is over --gpu-budget ${formatBytes(budgetBytes)}: ` +
        `lower --batch or --seq${on ? '' : ', add --recompute'}${settings.method === 'full' ? ', or train an adapter instead of --method full' : ', or lower --rank'}`,
    );
  }
  return { recompute: on, estimate, lines };
}
