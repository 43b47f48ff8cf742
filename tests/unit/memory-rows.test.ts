/**
 * The model card's "Memory to train" rows on stories260K's shapes (dim 64, FFN 172, 5 layers,
 * 8 heads / 4 kv heads, vocabulary 512, 260,032 parameters), numbers worked out by hand from the
 * formulas in src/schema/estimate.ts.
 */
import { describe, expect, test } from 'vitest';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';
import { METHOD_ROWS, type MethodRow } from '../../src/store/methods.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../src/schema/train-config.ts';
import { largestStepBuffer, stepBufferProblem } from '../../src/schema/estimate.ts';
import { methodMemoryRows } from '../../src/ui/model/memory-rows.ts';

const STORIES: LlamaConfig = {
  dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 512, maxSeqLen: 512,
  normEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: true, bosId: 1, eosId: 2,
};
const MODEL = { config: STORIES, paramCount: 260_032 };
// LoRA r8 on q, v, batch 2 × 32 tokens; the current method (full) must not leak into the other rows.
const CONFIG: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, method: 'full', rank: 8, targets: ['q', 'v'], batch: 2, seq: 32, moraType: 6 };

const byId = (rows: ReturnType<typeof methodMemoryRows>) => Object.fromEntries(rows.map((r) => [r.id, r]));

describe('methodMemoryRows', () => {
  test('one row per picker method, in the picker order, with trainable parameters per method', () => {
    const rows = methodMemoryRows(CONFIG, MODEL, 'lora');
    expect(rows.map((r) => r.id)).toEqual(METHOD_ROWS.map((r) => r.id));
    const t = Object.fromEntries(rows.map((r) => [r.id, r.trainable]));
    // LoRA: 8·(64 + 64) for q + 8·(64 + 32) for v = 1792 per layer, × 5 layers.
    expect(t.lora).toBe(8960);
    expect(t.rslora).toBe(8960); // the scaling changes, not the shapes
    expect(t.pissa).toBe(8960);
    expect(t.milora).toBe(8960);
    expect(t.dora).toBe(8960 + 5 * (64 + 32)); // plus a magnitude per output row
    expect(t.mora).toBe(5 * (32 * 32 + 28 * 28)); // type 6: r̂ = even ⌊√(128·8) + ½⌋ = 32, ⌊√(96·8) + ½⌋ = 28
    expect(t.full).toBe(260_032);
  });

  test('GPU memory totals: weights + adapters + gradients + Adam + activations + transients', () => {
    const r = byId(methodMemoryRows(CONFIG, MODEL, 'lora'));
    // B·T = 64 rows, 4 bytes a float. LoRA: weights 4·260,032 = 1,040,128; adapter, gradients, m, v 16·8960 = 143,360;
    // activations 4·64·(5·(4·64 + 2·32 + 2·172 + 8 heads + 8 + 8 for x·Aᵀ of q, v) + 64) = 256·3504 = 897,024;
    // transients: one layer's backward 4·64·(3·172 + 5·64 + 2·32 + 8) = 232,448 beats the loss 4·(2·64·64 + 64·512) = 163,840.
    expect(r.lora!.bytes).toBe(1_040_128 + 143_360 + 897_024 + 232_448);
    expect(r.milora!.bytes).toBe(r.lora!.bytes);
    // Full: gradients and Adam for all 260,032; nothing saved by adapters (256·3424), no adapter backward (256·900).
    expect(r.full!.bytes).toBe(1_040_128 + 12 * 260_032 + 876_544 + 230_400);
  });

  test("the loaded model's weight storage: 16-bit matrices take 2 bytes, norms stay 4", () => {
    const r = byId(methodMemoryRows(CONFIG, { ...MODEL, weightStorage: '16-bit' }, 'lora'));
    // 11 norms of 64 (2 per layer + the final one) = 704 f32; the other 259,328 parameters 2 bytes each.
    expect(r.lora!.bytes).toBe(4 * 704 + 2 * 259_328 + 143_360 + 897_024 + 232_448);
  });

  test('recompute keeps only each layer input and recomputes one layer in its backward', () => {
    const r = byId(methodMemoryRows({ ...CONFIG, recompute: true }, MODEL, 'lora'));
    // Activations 4·64·(5 + 1)·64 = 98,304; the layer backward gains that layer's 4·64·688 = 176,128.
    expect(r.lora!.bytes).toBe(1_040_128 + 143_360 + 98_304 + 232_448 + 176_128);
  });

  test('marks the chosen row only', () => {
    const rows = methodMemoryRows(CONFIG, MODEL, 'milora');
    expect(rows.filter((r) => r.chosen).map((r) => r.id)).toEqual(['milora']);
  });

  test('settings follow the store: a larger batch and rank raise every row', () => {
    const small = byId(methodMemoryRows(CONFIG, MODEL, 'lora'));
    const big = byId(methodMemoryRows({ ...CONFIG, batch: 4, rank: 16 }, MODEL, 'lora'));
    expect(big.lora!.trainable).toBe(2 * 8960);
    for (const id of ['full', 'lora', 'dora', 'mora'] as const) expect(big[id]!.bytes!).toBeGreaterThan(small[id]!.bytes!);
  });

  test('a row whose method the engine lacks has no numbers instead of throwing', () => {
    const coming: MethodRow = { ...METHOD_ROWS[1]!, id: 'lora', engine: 'galore' };
    const [row] = methodMemoryRows(CONFIG, MODEL, 'lora', [coming]);
    expect(row).toEqual({ id: 'lora', label: 'LoRA', chosen: true, trainable: null, bytes: null });
  });
});

describe('a step against the device buffer limits', () => {
  const MiB = 1024 * 1024;
  const SWIFTSHADER = { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB };
  // The built-in model's shapes: vocabulary 1024, FFN 172.
  const TINY: LlamaConfig = { ...STORIES, dim: 64, hiddenDim: 172, nLayers: 4, nHeads: 4, nKvHeads: 4, vocabSize: 1024, maxSeqLen: 256 };

  test('the logits count while the batch fits one loss chunk; past it the FFN activation is the largest buffer', () => {
    expect(largestStepBuffer({ ...CONFIG, batch: 4, seq: 64 }, TINY)).toEqual({ name: 'logits', bytes: 4 * 4 * 64 * 1024, bytesPerToken: 4096 });
    // 4096 × 64 tokens: logits chunked to 64 MiB (16,384 rows of 4 KiB), the FFN activation 4·262,144·172 = 172 MiB.
    expect(largestStepBuffer({ ...CONFIG, batch: 4096, seq: 64 }, TINY)).toEqual({ name: 'FFN activation', bytes: 4 * 4096 * 64 * 172, bytesPerToken: 688 });
    expect(largestStepBuffer({ ...CONFIG, batch: 1, seq: 8 }, { ...TINY, hiddenDim: 4096 }).name).toBe('FFN activation');
  });

  test('a batch whose FFN activation exceeds the binding limit is refused with the largest batch that fits', () => {
    // 128 MiB / (64 tokens × 688 bytes) = 3048.2: batch 3048 fits, 3100 does not.
    expect(stepBufferProblem({ ...CONFIG, batch: 3048, seq: 64 }, TINY, SWIFTSHADER)).toBeNull();
    expect(stepBufferProblem({ ...CONFIG, batch: 3100, seq: 64 }, TINY, SWIFTSHADER)).toBe(
      'a step of 3100 × 64 tokens needs a 130.2 MiB FFN activation buffer, more than this GPU allows in one buffer (128.0 MiB): use a batch of at most 3048.',
    );
    // The smaller of the two limits counts.
    expect(stepBufferProblem({ ...CONFIG, batch: 3048, seq: 64 }, TINY, { maxBufferSize: 64 * MiB, maxStorageBufferBindingSize: 128 * MiB })).toContain(
      'use a batch of at most 1524.',
    );
  });

  test('under a limit smaller than a loss chunk the logits are what to fit; when even batch 1 is too long, the sequence length', () => {
    const tiny = { maxBufferSize: 64 * 1024, maxStorageBufferBindingSize: 64 * 1024 };
    expect(stepBufferProblem({ ...CONFIG, batch: 1, seq: 16 }, TINY, tiny)).toBeNull();
    expect(stepBufferProblem({ ...CONFIG, batch: 4, seq: 16 }, TINY, tiny)).toBe(
      'a step of 4 × 16 tokens needs a 256.0 KiB logits buffer, more than this GPU allows in one buffer (64.0 KiB): use a batch of at most 1.',
    );
    expect(stepBufferProblem({ ...CONFIG, batch: 1, seq: 32 }, TINY, tiny)).toBe(
      'a step of 1 × 32 tokens needs a 128.0 KiB logits buffer, more than this GPU allows in one buffer (64.0 KiB): shorten the sequence length to at most 16.',
    );
  });
});
