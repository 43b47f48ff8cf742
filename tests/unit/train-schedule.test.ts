import { describe, expect, it } from 'vitest';
import { learningRate, type ScheduleConfig } from '../../src/schema/schedule.ts';

// lr 1, 10 warmup steps, decay over steps 10..110 to 0.1.
const base: ScheduleConfig = { lr: 1, schedule: 'cosine', warmup: 10, totalSteps: 110, minLrRatio: 0.1 };
const at = (step: number, over: Partial<ScheduleConfig> = {}): number => learningRate(step, { ...base, ...over });

describe('learningRate', () => {
  it('warms up linearly: lr·(step+1)/warmup, reaching lr at step warmup-1', () => {
    for (const schedule of ['constant', 'cosine', 'linear'] as const) {
      expect(at(0, { schedule })).toBeCloseTo(0.1, 12);
      expect(at(4, { schedule })).toBeCloseTo(0.5, 12);
      expect(at(9, { schedule })).toBeCloseTo(1, 12);
      expect(at(10, { schedule })).toBeCloseTo(1, 12); // first decay step: p = 0
    }
  });

  it('constant stays at lr after warmup, also past totalSteps', () => {
    expect(at(60, { schedule: 'constant' })).toBe(1);
    expect(at(1000, { schedule: 'constant' })).toBe(1);
  });

  it('cosine: minLr + (lr-minLr)·½(1+cos πp)', () => {
    expect(at(35)).toBeCloseTo(0.1 + 0.45 * (1 + Math.SQRT1_2), 12); // p = 0.25 → 0.868198
    expect(at(35)).toBeCloseTo(0.8681980515, 9);
    expect(at(60)).toBeCloseTo(0.55, 12); // p = 0.5
    expect(at(109)).toBeCloseTo(0.1 + 0.45 * (1 + Math.cos(Math.PI * 0.99)), 12); // last step that runs
    expect(at(110)).toBeCloseTo(0.1, 12);
    expect(at(500)).toBeCloseTo(0.1, 12);
  });

  it('linear: lr - (lr-minLr)·p', () => {
    expect(at(35, { schedule: 'linear' })).toBeCloseTo(0.775, 12);
    expect(at(60, { schedule: 'linear' })).toBeCloseTo(0.55, 12);
    expect(at(100, { schedule: 'linear' })).toBeCloseTo(0.19, 12);
    expect(at(110, { schedule: 'linear' })).toBeCloseTo(0.1, 12);
    expect(at(111, { schedule: 'linear' })).toBeCloseTo(0.1, 12);
  });

  it('defaults to decaying to 0, scales with lr, and handles no warmup / no decay span', () => {
    expect(at(110, { minLrRatio: undefined })).toBe(0);
    expect(at(60, { minLrRatio: undefined, schedule: 'linear' })).toBeCloseTo(0.5, 12);
    expect(at(60, { lr: 3e-4 })).toBeCloseTo(0.55 * 3e-4, 16);
    expect(at(0, { warmup: 0 })).toBe(1);
    expect(at(50, { warmup: 0, totalSteps: 100 })).toBeCloseTo(0.55, 12);
    expect(at(10, { totalSteps: 10 })).toBeCloseTo(0.1, 12); // nothing to decay over: at minLr
    expect(at(5, { totalSteps: 5 })).toBeCloseTo(0.6, 12); // still warming up
  });

  it('rejects nonsense', () => {
    expect(() => at(-1)).toThrow(/step/);
    expect(() => at(1.5)).toThrow(/step/);
    expect(() => at(0, { minLrRatio: 2 })).toThrow(/minLrRatio/);
    expect(() => at(0, { warmup: -1 })).toThrow(/warmup/);
    expect(() => at(0, { lr: NaN })).toThrow(/lr/);
  });
});
