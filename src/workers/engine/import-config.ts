/**
 * The TrainConfig an imported adapter stands for: what a run would have been set to in order to
 * leave that adapter behind. Exports read rank, α, dropout and rsLoRA from it, so a re-export of an
 * imported adapter writes the same adapter_config.json. Pure (no worker state), for unit tests.
 */
import type { ImportedAdapter } from '../../schema/imported-adapter.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../schema/train-config.ts';

/** DEFAULT_TRAIN_CONFIG with the adapter's method, rank, α, rsLoRA, dropout, targets and MoRA type. */
export function importedTrainConfig(adapter: ImportedAdapter, defaults: TrainConfig = DEFAULT_TRAIN_CONFIG): TrainConfig {
  return {
    ...defaults,
    method: adapter.method,
    rank: adapter.rank,
    alpha: adapter.alpha ?? defaults.alpha, // MoRA has no α: the default stays (unused)
    rslora: adapter.rslora,
    dropout: adapter.dropout,
    targets: [...adapter.targets],
    moraType: adapter.moraType ?? defaults.moraType,
  };
}
