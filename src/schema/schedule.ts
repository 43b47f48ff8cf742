/**
 * Learning-rate schedule as a pure function of the optimizer step (0-based, the step about to run).
 *
 *   warmup (step < warmup):  lr · (step + 1) / warmup          — step 0 gets lr/warmup, step warmup-1 gets lr
 *   after warmup, with p = (step − warmup) / (totalSteps − warmup) clamped to [0, 1]
 *   (p = 1 when totalSteps ≤ warmup) and minLr = lr · minLrRatio:
 *     constant:  lr
 *     linear:    lr − (lr − minLr) · p
 *     cosine:    minLr + (lr − minLr) · ½ (1 + cos(π p))
 * so the decay reaches minLr exactly at step = totalSteps and stays there afterwards; the last step
 * that runs (totalSteps − 1) is one decay step above it. warmup = 0 starts at lr.
 */

export type ScheduleKind = 'constant' | 'cosine' | 'linear';
export const SCHEDULES: readonly ScheduleKind[] = ['constant', 'cosine', 'linear'];

/** Whether `s` names a schedule. */
export const isSchedule = (s: string): s is ScheduleKind => (SCHEDULES as readonly string[]).includes(s);

export interface ScheduleConfig {
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  schedule: ScheduleKind;
  /** Steps of linear warmup from 0 (0 = none). */
  warmup: number;
  /** Step at which the decay reaches minLr (usually the number of training steps). */
  totalSteps: number;
  /** minLr = lr · minLrRatio, in [0, 1]; default 0 (decay to zero). Ignored by 'constant'. */
  minLrRatio?: number;
}

/** Learning rate for optimizer step `step` (0-based) under `cfg`; see the module comment for the formulas. */
export function learningRate(step: number, cfg: ScheduleConfig): number {
  const { lr, schedule, warmup, totalSteps } = cfg;
  const minLrRatio = cfg.minLrRatio ?? 0;
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be an integer ≥ 0, got ${step}`);
  if (!(Number.isFinite(lr) && lr >= 0)) throw new RangeError(`lr must be finite and ≥ 0, got ${lr}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`warmup must be an integer ≥ 0, got ${warmup}`);
  if (!Number.isInteger(totalSteps) || totalSteps < 0) {
    throw new RangeError(`totalSteps must be an integer ≥ 0, got ${totalSteps}`);
  }
  if (!(minLrRatio >= 0 && minLrRatio <= 1)) throw new RangeError(`minLrRatio must be in [0, 1], got ${minLrRatio}`);

  if (step < warmup) return (lr * (step + 1)) / warmup;
  if (schedule === 'constant') return lr;
  const minLr = lr * minLrRatio;
  const span = totalSteps - warmup;
  const p = span <= 0 ? 1 : Math.min(1, (step - warmup) / span);
  switch (schedule) {
    case 'linear':
      return lr - (lr - minLr) * p;
    case 'cosine':
      return minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * p));
    default:
      throw new RangeError(`unknown schedule ${String(schedule satisfies never)}`);
  }
}
