/**
 * The model card's "Memory to train" rows on stories260K's shapes (dim 64, FFN 172, 5 layers,
 * 8 heads / 4 kv heads, vocabulary 512, 260,032 parameters), numbers worked out by hand from the
 * formulas in src/ui/method/estimate.ts.
 */
import { describe, expect, test } from 'vitest';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';
import { METHOD_ROWS, type MethodRow } from '../../src/store/methods.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../src/schema/train-config.ts';
import { largestStepBuffer, stepBufferProblem } from '../../src/ui/method/estimate.ts';
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

  test('GPU memory totals: weights + adapters + gradients + Adam + activations', () => {
    const r = byId(methodMemoryRows(CONFIG, MODEL, 'lora'));
    // Per token: 5·(7·64 + 2·32 + 3·172 + 8 + a·r) + 64 + 2·512; B·T = 64 tokens, 4 bytes each.
    // LoRA (a·r = 16): 6348 per token → 1,625,088 B activations; 4·260032 weights; 16·8960 for adapter, grad, m, v.
    expect(r.lora!.bytes).toBe(1_040_128 + 16 * 8960 + 1_625_088);
    expect(r.milora!.bytes).toBe(r.lora!.bytes);
    // Full: no adapter activations (6268 per token → 1,604,608 B); gradients and Adam for all 260,032.
    expect(r.full!.bytes).toBe(1_040_128 + 12 * 260_032 + 1_604_608);
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
  // The built-in model's shapes: vocabulary 1024 is wider than its FFN (172), so the logits are the largest buffer.
  const TINY: LlamaConfig = { ...STORIES, dim: 64, hiddenDim: 172, nLayers: 4, nHeads: 4, nKvHeads: 4, vocabSize: 1024, maxSeqLen: 256 };

  test('the largest buffer is the logits, 4 · B · T · V bytes', () => {
    expect(largestStepBuffer({ ...CONFIG, batch: 4, seq: 64 }, TINY)).toEqual({ name: 'logits', bytes: 4 * 4 * 64 * 1024, bytesPerToken: 4096 });
    // An FFN wider than the vocabulary: one (B·T, H) activation is.
    expect(largestStepBuffer({ ...CONFIG, batch: 1, seq: 8 }, { ...TINY, hiddenDim: 4096 }).name).toBe('FFN activation');
  });

  test('a batch whose logits exceed the binding limit is refused with the largest batch that fits', () => {
    // 512 × 64 tokens × 4 KiB = 128 MiB exactly: fits; 513 does not.
    expect(stepBufferProblem({ ...CONFIG, batch: 512, seq: 64 }, TINY, SWIFTSHADER)).toBeNull();
    expect(stepBufferProblem({ ...CONFIG, batch: 600, seq: 64 }, TINY, SWIFTSHADER)).toBe(
      'a step of 600 × 64 tokens needs a 150.0 MiB logits buffer, more than this GPU allows in one buffer (128.0 MiB): use a batch of at most 512.',
    );
    // The smaller of the two limits counts.
    expect(stepBufferProblem({ ...CONFIG, batch: 512, seq: 64 }, TINY, { maxBufferSize: 64 * MiB, maxStorageBufferBindingSize: 128 * MiB })).toContain(
      'use a batch of at most 256.',
    );
  });

  test('when even batch 1 is too long, the sequence length is what to shorten', () => {
    const tiny = { maxBufferSize: 64 * 1024, maxStorageBufferBindingSize: 64 * 1024 };
    expect(stepBufferProblem({ ...CONFIG, batch: 1, seq: 32 }, TINY, tiny)).toBe(
      'a step of 1 × 32 tokens needs a 128.0 KiB logits buffer, more than this GPU allows in one buffer (64.0 KiB): shorten the sequence length to at most 16.',
    );
  });
});
