/**
 * Resuming from a checkpoint continues a run exactly: for every method, 2 steps + checkpoint +
 * a fresh upload of the base weights + restore + 2 more steps gives bit-identical losses, gradient
 * norms and final trainable tensors to 4 uninterrupted steps (dropout on, gradient accumulation 2,
 * a schedule with warmup), including PiSSA/MiLoRA, whose residual weights are rebuilt without an SVD.
 */
import { describe, expect, it } from 'vitest';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { batchesServed, checkCheckpoint, checkpointBytes, type TrainerCheckpoint } from '../../src/train/checkpoint.ts';
import { DEFAULT_TRAIN_CONFIG, type Method, type TrainConfig } from '../../src/schema/train-config.ts';
import { prepareData } from '../../src/train/data.ts';
import { BatchIterator } from '../../src/train/packing.ts';
import { Trainer, type StepMetrics } from '../../src/train/trainer.ts';
import { GOLDEN_TEXT, readFixture, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';
import { testGpu } from '../helpers/gpu.ts';

const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
const tokenizer = Llama2cTokenizer.fromBytes(readFixture(TOK512_BIN), 'tok512.bin');
const data = prepareData('golden.txt', `${GOLDEN_TEXT}\n${GOLDEN_TEXT.replaceAll('Lily', 'Zorbo')}`, tokenizer, { seqLen: 16, evalFraction: 0, seed: 3 });

function config(method: Method): TrainConfig {
  return {
    ...DEFAULT_TRAIN_CONFIG, method, rank: 4, alpha: 8, dropout: method === 'full' ? 0 : 0.1, targets: ['q', 'v', 'down'],
    batch: 2, seq: 16, gradAccum: 2, steps: 4, lr: 5e-3, schedule: 'cosine', warmup: 1, seed: 7, moraType: 6,
  };
}

/** `n` steps on `trainer` drawing from `batches`; the metrics of each. */
async function steps(trainer: Trainer, batches: BatchIterator, n: number): Promise<StepMetrics[]> {
  const out: StepMetrics[] = [];
  for (let i = 0; i < n; i++) {
    trainer.recordStep(Array.from({ length: trainer.config.gradAccum }, () => batches.next()));
    out.push(...(await trainer.readMetrics()));
  }
  return out;
}

async function trainedTensors(trainer: Trainer): Promise<Map<string, Float32Array>> {
  return new Map((await trainer.checkpoint()).params.map((p) => [p.name, p.value]));
}

describe('checkpoint and resume', () => {
  for (const method of ['lora', 'dora', 'mora', 'pissa', 'milora', 'full'] as const) {
    it(`${method}: 2 steps + checkpoint + restore + 2 steps equals 4 steps bit for bit`, async () => {
      const gpu = await testGpu();
      const c = config(method);

      const straightModel = LlamaModel.upload(gpu, weights);
      const straight = await Trainer.init(straightModel, { ...c, targets: [...c.targets] });
      const all = await steps(straight, new BatchIterator(data.train, c.batch, c.seed), 4);
      const expected = await trainedTensors(straight);
      straight.dispose();
      straightModel.dispose();

      let model = LlamaModel.upload(gpu, weights);
      let trainer = await Trainer.init(model, { ...c, targets: [...c.targets] });
      const first = await steps(trainer, new BatchIterator(data.train, c.batch, c.seed), 2);
      const checkpoint: TrainerCheckpoint = structuredClone(await trainer.checkpoint()); // as IndexedDB stores it
      trainer.dispose();
      model.dispose();

      model = LlamaModel.upload(gpu, weights);
      trainer = await Trainer.restore(model, checkpoint);
      const batches = new BatchIterator(data.train, c.batch, c.seed);
      for (let i = 0; i < batchesServed(checkpoint); i++) batches.next();
      const rest = await steps(trainer, batches, 2);
      const resumed = await trainedTensors(trainer);
      trainer.dispose();
      model.dispose();

      expect([...first, ...rest]).toEqual(all); // step, loss, grad norm, lr: exactly equal
      expect([...resumed.keys()]).toEqual([...expected.keys()]);
      for (const [name, value] of expected) expect(resumed.get(name), name).toEqual(value); // bit for bit
      if (method !== 'full') expect(checkpoint.dropoutCalls['model.layers.0.self_attn.q_proj']).toBe(4); // 2 steps × 2 micro-batches
      console.log(`${method}: checkpoint ${(checkpointBytes(checkpoint) / 1024).toFixed(0)} KiB, losses ${all.map((m) => m.loss.toFixed(4)).join(' ')}`);
    });
  }

  it('refuses a checkpoint that does not fit, naming the field or tensor', async () => {
    const gpu = await testGpu();
    const model = LlamaModel.upload(gpu, weights);
    const trainer = Trainer.create(model, config('lora'));
    const good = await trainer.checkpoint();
    trainer.dispose();
    model.dispose();
    expect(() => checkCheckpoint({ ...good, version: 2 })).toThrow(/version 2 is not supported/);
    expect(() => checkCheckpoint({ ...good, step: -1 })).toThrow(/"step"/);
    const cut = { ...good, params: good.params.map((p, i) => (i === 1 ? { ...p, m: p.m.subarray(1) } : p)) };
    expect(() => checkCheckpoint(cut)).toThrow(new RegExp(`${good.params[1]!.name.replaceAll('.', '\\.')}\\.m`));
    const fresh = LlamaModel.upload(gpu, weights);
    const fewer = { ...good, params: good.params.slice(1) };
    await expect(Trainer.restore(fresh, fewer)).rejects.toThrow(/holds \d+ tensors, the run trains \d+/);
    fresh.dispose();
  });
});
