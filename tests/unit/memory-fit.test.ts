/**
 * The studio's warning before Start (src/schema/memory-fit.ts): how far a run's estimate is over the
 * GPU memory budget and which single change (batch, sequence, recompute, rank) brings it under, on
 * SmolLM2-135M's shapes with 16-bit weights.
 */
import { describe, expect, test } from 'vitest';
import { DEFAULT_GPU_BUDGET_BYTES, formatBytes, llamaParamCount, memoryEstimate, chooseRecompute } from '../../src/schema/estimate.ts';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';
import { memoryFit, memoryFitWarning, type FitModel } from '../../src/schema/memory-fit.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../src/schema/train-config.ts';

const SMOLLM2: LlamaConfig = {
  dim: 576, hiddenDim: 1536, nLayers: 30, nHeads: 9, nKvHeads: 3, vocabSize: 49152, maxSeqLen: 2048,
  normEps: 1e-5, ropeTheta: 100000, tiedEmbeddings: true, bosId: 1, eosId: 2,
};
const MODEL: FitModel = { config: SMOLLM2, paramCount: llamaParamCount(SMOLLM2), weightStorage: '16-bit' };
const LORA: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, method: 'lora', rank: 16, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], batch: 8, seq: 256 };
const GiB = 1024 ** 3;
const est = (c: TrainConfig) => memoryEstimate(c, MODEL.config, MODEL.paramCount, MODEL.weightStorage).total;

describe('memoryFit', () => {
  test('SmolLM2-135M, LoRA r16 all-linear, 8 × 256 fits the 4 GiB default budget: no warning', () => {
    expect(MODEL.paramCount).toBe(134_515_008);
    const fit = memoryFit(LORA, MODEL, DEFAULT_GPU_BUDGET_BYTES, true);
    expect(fit.bytes).toBe(est(LORA));
    expect(fit.bytes).toBeLessThan(2 * GiB);
    expect(fit.overBytes).toBe(0);
    expect(fit.fixes).toEqual([]);
    expect(memoryFitWarning(fit)).toBeNull();
  });

  test('over a 1 GiB budget: by how much, and each single change is the largest that fits', () => {
    const budget = 1 * GiB;
    const fit = memoryFit(LORA, MODEL, budget, true);
    expect(fit.overBytes).toBe(fit.bytes - budget);
    expect(fit.overBytes).toBeGreaterThan(0);
    expect(fit.fixes.map((f) => f.kind)).toEqual(['batch', 'seq', 'recompute', 'rank'].filter((k) => fit.fixes.some((f) => f.kind === k)));
    for (const f of fit.fixes) {
      expect(f.bytes, f.kind).toBeLessThanOrEqual(budget);
      if (f.kind === 'recompute') {
        expect(f.bytes).toBe(est({ ...LORA, recompute: true }));
        continue;
      }
      // One more does not fit (the search found the edge), and the number is the estimate at that value.
      expect(f.value).toBeLessThan(LORA[f.kind]);
      expect(f.bytes).toBe(est({ ...LORA, [f.kind]: f.value }));
      expect(est({ ...LORA, [f.kind]: f.value + 1 }), f.kind).toBeGreaterThan(budget);
    }
    expect(fit.fixes.some((f) => f.kind === 'batch')).toBe(true);
    expect(fit.fixes.some((f) => f.kind === 'recompute')).toBe(true);
    // The studio turns recompute on by itself here: it alone brings the run under.
    expect(chooseRecompute(LORA, MODEL.config, MODEL.paramCount, MODEL.weightStorage, budget)).toBe(true);
    const warning = memoryFitWarning(fit)!;
    expect(warning).toContain(`This run needs ≈ ${formatBytes(fit.bytes)} of GPU memory, ${formatBytes(fit.overBytes)} more than the 1.0 GiB budget.`);
    expect(warning).toContain('activation recomputation ("Save memory")');
    const batch = fit.fixes[0]!;
    expect(batch.kind === 'batch' && warning.includes(`To fit, use a batch of ${batch.value} (≈ ${formatBytes(batch.bytes)})`)).toBe(true);
  });

  test('full fine-tuning has no rank to lower; a budget under the weights alone has no single fix', () => {
    const full = memoryFit({ ...LORA, method: 'full' }, MODEL, 1 * GiB, false);
    expect(full.fixes.some((f) => f.kind === 'rank')).toBe(false);
    const tiny = memoryFit(LORA, MODEL, 100 * 1024 * 1024, true); // the 16-bit weights alone are ≈ 257 MiB
    expect(tiny.fixes).toEqual([]);
    expect(memoryFitWarning(tiny)).toContain('No single change of batch, sequence length, recompute or rank brings it under');
  });

  test('a budget of 0 or less is refused by name', () => {
    expect(() => memoryFit(LORA, MODEL, 0, true)).toThrow('GPU memory budget must be more than 0 bytes, got 0');
  });
});
