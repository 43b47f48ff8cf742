/**
 * The "Memory to train" table's numbers: for every method the picker offers, what the current
 * settings would train and how much GPU memory the run takes (src/schema/estimate.ts does the arithmetic,
 * for the weights' storage the loaded model has).
 */
import type { LlamaConfig } from '../../schema/llama-config.ts';
import { METHOD_ROWS, methodAvailable, withMethod, type MethodId, type MethodRow } from '../../store/methods.ts';
import type { TrainConfig } from '../../schema/train-config.ts';
import { memoryEstimate, trainableParams, type WeightStorage } from '../../schema/estimate.ts';

/** One method's row. `trainable` and `bytes` are null for a method the engine lacks ("coming"). */
export interface MethodMemoryRow {
  id: MethodId;
  label: string;
  trainable: number | null;
  bytes: number | null;
  /** The method the picker has chosen. */
  chosen: boolean;
}

/**
 * A row per method of `rows` (default: the picker's), each with `config` switched to that method
 * (its preset applied; rank, targets, batch and seq kept). WebGPU does not tell how much memory a
 * device has, so the numbers are for comparing methods, not a check against the GPU.
 */
export function methodMemoryRows(
  config: TrainConfig,
  model: { config: LlamaConfig; paramCount: number; weightStorage?: WeightStorage },
  chosen: MethodId,
  rows: readonly MethodRow[] = METHOD_ROWS,
): MethodMemoryRow[] {
  return rows.map((row) => {
    const base = { id: row.id, label: row.label, chosen: row.id === chosen };
    if (!methodAvailable(row)) return { ...base, trainable: null, bytes: null };
    const c = withMethod(config, row.id);
    return { ...base, trainable: trainableParams(c, model.config, model.paramCount), bytes: memoryEstimate(c, model.config, model.paramCount, model.weightStorage ?? 'f32').total };
  });
}
