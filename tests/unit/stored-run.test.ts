/** The pure parts of saved runs: listing state, what can resume, metrics kept on resume, the model fingerprint. */
import { describe, expect, test } from 'vitest';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { modelFingerprint } from '../../src/model/fingerprint.ts';
import { metricsUpTo, resumable, summarizeRun, type StoredRun } from '../../src/schema/stored-run.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../src/schema/train-config.ts';
import { readFixture, STORIES_BIN } from '../helpers/fixtures.ts';

const point = (step: number) => ({ step, loss: 3 - step / 10, lr: 1e-3, gradNorm: 1, tokensPerSec: 100, elapsedMs: step * 10, epoch: step / 5, peakGpuBytes: 1 << 20 });

function run(o: Partial<StoredRun>): StoredRun {
  return {
    runId: 3, methodId: 'milora', config: { ...DEFAULT_TRAIN_CONFIG, steps: 20 },
    model: { name: 'tinyworld', origin: { kind: 'builtin', name: 'tinyworld' }, paramCount: 264_000, fingerprint: 'abcd0123' },
    data: { fileName: 'facts.txt', text: 'Zara lives in Orin. ✓', format: 'text', source: 'text', split: { seqLen: 32, evalFraction: 0.1, seed: 0 } },
    trainableCount: 8192, tokensPerStep: 64, createdAt: 1, updatedAt: 2, status: 'running',
    train: [1, 2, 3, 4, 5, 6, 7].map(point), eval: [{ step: 5, loss: 2.5 }, { step: 7, loss: 2.4 }],
    spectra: [{ step: 5, entries: [] }, { step: 7, entries: [] }],
    checkpointStep: 5, checkpointBytes: 1000, activeMs: 50, finalLoss: null, evalLoss: null,
    ...o,
  };
}

describe('saved runs', () => {
  test('a running or paused record is interrupted unless it is the engine\'s live run; the list drops the text but keeps its size', () => {
    expect(summarizeRun(run({}), null).interrupted).toBe(true);
    expect(summarizeRun(run({ status: 'paused' }), 9).interrupted).toBe(true);
    expect(summarizeRun(run({}), 3).interrupted).toBe(false);
    expect(summarizeRun(run({ status: 'stopped' }), null).interrupted).toBe(false);
    // Live in another tab (its engine holds the run's lock): neither interrupted nor resumable.
    const elsewhere = summarizeRun(run({}), null, new Set([3]));
    expect([elsewhere.interrupted, elsewhere.elsewhere, resumable(elsewhere)]).toEqual([false, true, false]);
    expect(summarizeRun(run({ status: 'stopped' }), null, new Set([3])).elsewhere).toBe(false);
    const s = summarizeRun(run({}), null);
    expect('text' in s.data).toBe(false);
    expect(s.data.bytes).toBe(new TextEncoder().encode('Zara lives in Orin. ✓').length); // bytes, not characters
  });

  test('resumable: interrupted, stopped or failed with a checkpoint and steps left; never without a checkpoint or when complete', () => {
    expect(resumable({ ...run({}), interrupted: true })).toBe(true);
    expect(resumable({ ...run({}), interrupted: false })).toBe(false); // the live run
    expect(resumable(run({ status: 'stopped' }))).toBe(true);
    expect(resumable(run({ status: 'failed' }))).toBe(true);
    expect(resumable(run({ status: 'stopped', checkpointStep: 0 }))).toBe(false);
    expect(resumable({ ...run({ checkpointStep: 0 }), interrupted: true })).toBe(false);
    expect(resumable(run({ status: 'completed', checkpointStep: 20 }))).toBe(false);
  });

  test('a resume keeps the metrics up to the checkpoint step only', () => {
    const kept = metricsUpTo(run({}), 5);
    expect(kept.train.map((p) => p.step)).toEqual([1, 2, 3, 4, 5]);
    expect(kept.eval.map((p) => p.step)).toEqual([5]);
    expect(kept.spectra.map((p) => p.step)).toEqual([5]);
  });

  test('the model fingerprint is stable for the same weights and changes with one weight or the config', () => {
    const a = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
    const b = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
    expect(modelFingerprint(a)).toMatch(/^[0-9a-f]{8}$/);
    expect(modelFingerprint(b)).toBe(modelFingerprint(a));
    b.tensors.get('model.layers.2.mlp.down_proj.weight')!.data[0]! += 1e-3; // index 0 is always sampled
    expect(modelFingerprint(b)).not.toBe(modelFingerprint(a));
    expect(modelFingerprint({ ...a, config: { ...a.config, normEps: 1e-6 } })).not.toBe(modelFingerprint(a));
  });
});
