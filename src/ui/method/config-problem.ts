/** The first thing wrong with a run's settings for the loaded model and its GPU. */
import { useMemo } from 'react';
import { FieldError } from '../../schema/field-error.ts';
import { validateTrainConfig } from '../../schema/train-config.ts';
import { useAppStore } from '../../store/store.ts';
import { stepBufferProblem } from '../../schema/estimate.ts';

export interface ConfigProblem {
  /** The TrainConfig field at fault ('betas' for beta1/beta2), or '' when the message names none. */
  field: string;
  message: string;
}

/**
 * validateTrainConfig's verdict, then whether a step's largest buffer fits the device (a problem of
 * the batch): null when the settings can train the model.
 */
export function useConfigProblem(): ConfigProblem | null {
  const config = useAppStore((s) => s.trainConfig);
  const model = useAppStore((s) => s.model?.config);
  const limits = useAppStore((s) => s.adapter?.limits);
  return useMemo(() => {
    if (!model) return null;
    try {
      validateTrainConfig(config, model);
    } catch (e) {
      if (e instanceof FieldError) return { field: e.field, message: e.problem };
      return { field: '', message: (e as Error).message };
    }
    const tooBig = limits ? stepBufferProblem(config, model, limits) : null;
    return tooBig ? { field: 'batch', message: tooBig } : null;
  }, [config, model, limits]);
}

/** Field labels, to say which field a problem is about away from the field. */
export const FIELD_LABELS: Record<string, string> = {
  method: 'Method', rank: 'Rank', alpha: 'Alpha', dropout: 'Dropout', targets: 'Target modules', lr: 'Learning rate',
  steps: 'Steps', batch: 'Batch', seq: 'Sequence length', warmup: 'Warmup', seed: 'Seed', gradAccum: 'Gradient accumulation',
  evalEvery: 'Eval every', evalBatches: 'Eval batches', weightDecay: 'Weight decay', maxGradNorm: 'Max grad norm',
  minLrRatio: 'Min lr ratio', betas: 'Adam betas', eps: 'Adam eps', moraType: 'MoRA type',
  evalFraction: 'Eval fraction', checkpointEvery: 'Checkpoint every',
};
