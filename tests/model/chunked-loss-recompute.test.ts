/**
 * The memory-saving forms of a training pass compute what the plain pass computes: the LM head +
 * cross-entropy in row chunks (forward and backward) equal the one-buffer logits within 1e-5, and
 * recomputing each layer from its kept input gives the stored-activation gradients within 1e-6
 * relative, dropout masks included, for LoRA, full fine-tuning, DoRA and MoRA.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { recordTrainPass, type TrainPassOptions } from '../../src/model/llama-train.ts';
import { recordHeadLoss } from '../../src/model/lm-head-loss.ts';
import { LOGITS_CHUNK_BYTES, logitsChunkRows } from '../../src/schema/estimate.ts';
import { DEFAULT_TRAIN_CONFIG, type Method } from '../../src/schema/train-config.ts';
import { Trainer } from '../../src/train/trainer.ts';
import { readFixture, STORIES_BIN } from '../helpers/fixtures.ts';
import { randn, relMax, testGpu } from '../helpers/gpu.ts';

const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
const V = weights.config.vocabSize; // 512
const B = 2, T = 13; // R = 26 rows: chunks of 5 leave a last chunk of 1
const R = B * T;
const inputs = Uint32Array.from({ length: R }, (_, i) => (i * 37 + 11) % V);
const targets = Int32Array.from({ length: R }, (_, i) => (i % 9 === 4 ? -1 : (i * 53 + 7) % V)); // some rows ignored

interface PassResult {
  loss: number;
  grads: Map<string, Float32Array>;
  peakBytes: number;
}

/** A trainer for `method` after two steps on the batch (so B ≠ 0), dropout 0.1 on adapters. */
async function trainedFor(method: Method) {
  const gpu = await testGpu();
  const model = LlamaModel.upload(gpu, weights);
  const config = {
    ...DEFAULT_TRAIN_CONFIG, method, batch: B, seq: T, rank: 4, alpha: 8, targets: ['q', 'v', 'down'] as const,
    dropout: method === 'full' ? 0 : 0.1, lr: method === 'full' ? 1e-3 : 1e-2, moraType: 6 as const,
  };
  const trainer = Trainer.create(model, { ...config, targets: [...config.targets] });
  const batch = { inputs, targets, batchSize: B, seqLen: T, epoch: 0 };
  trainer.recordStep([batch]);
  trainer.recordStep([batch]);
  await trainer.readMetrics();
  const ids = gpu.upload('inputs', [R], inputs), tg = gpu.upload('targets', [R], targets), loss = gpu.tensor('loss', [1]);
  const grads = new Map<string, Tensor>(trainer.params.map((p) => [p.name, p.grad])); // full: HF names; adapters: their own

  /** One pass with `o`, from the same dropout draws every time; its loss, gradients and pool peak. */
  const pass = async (o: Partial<TrainPassOptions>): Promise<PassResult> => {
    const calls = [...model.adapters].map(([name, a]) => [name, a.dropoutCalls] as const);
    for (const p of trainer.params) gpu.clear(p.grad);
    await gpu.sync();
    const live = gpu.pool.stats().liveBytes;
    gpu.pool.resetPeak();
    recordTrainPass(model, grads, ids, tg, loss, { B, T, gradScale: 0.5, ...o });
    const peakBytes = gpu.pool.stats().peakBytes - live;
    const read = await gpu.readMany([loss, ...trainer.params.map((p) => p.grad)]);
    for (const [name, n] of calls) model.adapters.get(name)!.dropoutCalls = n;
    return { loss: read[0]![0]!, grads: new Map(trainer.params.map((p, i) => [p.name, read[i + 1]!])), peakBytes };
  };
  const dispose = () => {
    gpu.release(ids, tg, loss);
    trainer.dispose();
    model.dispose();
  };
  return { pass, dispose };
}

/** The worst max|a − b| / max|b| over the tensors. */
function worstRel(a: PassResult, b: PassResult): { rel: number; name: string } {
  let rel = 0, name = '';
  for (const [n, g] of b.grads) {
    const r = relMax(a.grads.get(n)!, g);
    if (r > rel) [rel, name] = [r, n];
  }
  return { rel, name };
}

describe('chunked LM-head loss', () => {
  it('chunks of at most 64 MiB of logits whatever the batch: 341 rows at the SmolLM2 vocabulary', () => {
    expect(logitsChunkRows(8 * 256, 49152)).toBe(341); // ⌊64 MiB / (4 · 49152)⌋
    expect(logitsChunkRows(8 * 256, 49152) * 49152 * 4).toBeLessThanOrEqual(LOGITS_CHUNK_BYTES);
    expect(logitsChunkRows(100, 512)).toBe(100); // everything fits one chunk: the plain path
    expect(logitsChunkRows(26, 512, 4 * 512 * 5)).toBe(5);
    expect(logitsChunkRows(3, 40_000_000)).toBe(1); // a row wider than the bound is still one row
    expect(() => logitsChunkRows(3, 512, 0)).toThrow('logits chunk of 0 bytes cannot hold one logit');
  });

  it('loss and every gradient equal the one-buffer path within 1e-5 (LoRA, full)', async () => {
    for (const method of ['lora', 'full'] as const) {
      const t = await trainedFor(method);
      try {
        const plain = await t.pass({});
        for (const rows of [5, 13, 1]) {
          const chunked = await t.pass({ logitsChunkBytes: 4 * V * rows });
          expect(Math.abs(chunked.loss - plain.loss), `${method} loss, chunks of ${rows}`).toBeLessThan(1e-5 * plain.loss);
          const w = worstRel(chunked, plain);
          console.log(`${method}, chunks of ${rows} rows: worst gradient difference ${w.rel.toExponential(2)} of max |grad| (${w.name})`);
          expect(w.rel, `${method}, chunks of ${rows}: ${w.name}`).toBeLessThan(1e-5); // max |diff| ≤ 1e-5 · max |grad|
        }
        const evalPlain = await t.pass({ backward: false });
        const evalChunked = await t.pass({ backward: false, logitsChunkBytes: 4 * V * 5 });
        expect(Math.abs(evalChunked.loss - evalPlain.loss)).toBeLessThan(1e-5 * evalPlain.loss);
      } finally {
        t.dispose();
      }
    }
  });

  it('holds one chunk of logits at a time: the pool peak of the head and loss is bounded by the chunk, not by B·T·V', async () => {
    const gpu = await testGpu();
    const Rn = 300, Vn = 4000, D = 64; // the whole batch's logits: 4.8 MB
    const hidden = gpu.upload('hidden', [Rn, D], randn(Rn * D, 1));
    const head = gpu.upload('head', [Vn, D], randn(Vn * D, 2, 0.1));
    const tg = gpu.upload('targets', [Rn], Int32Array.from({ length: Rn }, (_, i) => (i * 7) % Vn));
    const loss = gpu.tensor('loss', [1]), dHidden = gpu.tensor('dHidden', [Rn, D]), dHead = gpu.tensor('dHead', [Vn, D]);
    const peakOf = async (chunkBytes?: number) => {
      gpu.clear(dHead);
      await gpu.sync();
      const live = gpu.pool.stats().liveBytes;
      gpu.pool.resetPeak();
      recordHeadLoss(gpu, hidden, head, tg, loss, dHidden, dHead, { rows: Rn, vocab: Vn, dim: D, gradScale: 1, chunkBytes });
      const peak = gpu.pool.stats().peakBytes - live;
      const [l, dh, dw] = await gpu.readMany([loss, dHidden, dHead]);
      return { peak, loss: l![0]!, dh: dh!, dw: dw! };
    };
    try {
      const plain = await peakOf();
      const chunkBytes = 4 * Vn * 32; // 32 rows, 512 KB
      const chunked = await peakOf(chunkBytes);
      expect(plain.peak).toBeGreaterThanOrEqual(4 * Rn * Vn);
      // One chunk of logits, its rows of hidden and dhidden (2·32·D floats), targets and losses (2·32), all rows' losses (Rn).
      expect(chunked.peak).toBeLessThanOrEqual(chunkBytes + 4 * (2 * 32 * D + 2 * 32 + Rn) + 6 * 16);
      expect(Math.abs(chunked.loss - plain.loss)).toBeLessThan(1e-5 * plain.loss);
      expect(relMax(chunked.dh, plain.dh)).toBeLessThan(1e-5);
      expect(relMax(chunked.dw, plain.dw)).toBeLessThan(1e-5);
    } finally {
      gpu.release(hidden, head, tg, loss, dHidden, dHead);
    }
  });
});

describe('activation recomputation', () => {
  it('gradients equal the stored-activation path within 1e-6 relative, dropout included (LoRA, full, DoRA, MoRA)', async () => {
    for (const method of ['lora', 'full', 'dora', 'mora'] as const) {
      const t = await trainedFor(method);
      try {
        const stored = await t.pass({});
        const recomputed = await t.pass({ recompute: true });
        const both = await t.pass({ recompute: true, logitsChunkBytes: 4 * V * 7 });
        expect(recomputed.loss, `${method} loss`).toBe(stored.loss); // the same kernels on the same inputs
        const w = worstRel(recomputed, stored), wb = worstRel(both, stored);
        console.log(`${method}: recompute ${w.rel.toExponential(2)}, recompute + chunks ${wb.rel.toExponential(2)} of max |grad|; peak ${stored.peakBytes} → ${recomputed.peakBytes} bytes`);
        expect(w.rel, `${method} recompute: ${w.name}`).toBeLessThanOrEqual(1e-6);
        expect(wb.rel, `${method} recompute + chunks: ${wb.name}`).toBeLessThan(1e-5);
        expect(recomputed.peakBytes, `${method} peak`).toBeLessThan(stored.peakBytes);
      } finally {
        t.dispose();
      }
    }
  });
});
