/**
 * The one run loop (src/train/run-loop.ts): a step is one GPU submission, metrics are read back every
 * k steps yet equal a step-by-step loop's, the eval/probe/checkpoint cadence, stop, and a resume that
 * replays the batch order.
 */
import { describe, expect, it } from 'vitest';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../src/schema/train-config.ts';
import { prepareData } from '../../src/train/data.ts';
import { BatchIterator, orderedBatches } from '../../src/train/packing.ts';
import { runTraining, type CheckpointReason, type RunEval } from '../../src/train/run-loop.ts';
import { type RunStep } from '../../src/schema/metrics.ts';
import { Trainer, type StepMetrics } from '../../src/train/trainer.ts';
import { GOLDEN_TEXT, readFixture, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';
import { testGpu } from '../helpers/gpu.ts';

const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
const tokenizer = Llama2cTokenizer.fromBytes(readFixture(TOK512_BIN), 'tok512.bin');
const text = Array.from({ length: 6 }, (_, i) => `${GOLDEN_TEXT.slice(i * 40, i * 40 + 300)}`).join('\n\n');
const config = (o: Partial<TrainConfig> = {}): TrainConfig => ({
  ...DEFAULT_TRAIN_CONFIG, rank: 4, alpha: 8, targets: ['q', 'v'], lr: 5e-3, steps: 10, batch: 2, seq: 16, dropout: 0.1, ...o,
});
const data = prepareData('golden.txt', text, tokenizer, { seqLen: 16, evalFraction: 0.2, seed: 0 });

/** What a sink heard, in order. */
function recorder() {
  const log: string[] = [];
  const steps: RunStep[] = [];
  const evals: RunEval[] = [];
  const checkpoints: [CheckpointReason, number][] = [];
  return {
    log, steps, evals, checkpoints,
    sink: {
      steps(points: readonly RunStep[]) {
        log.push(`steps ${points.map((p) => p.step).join(',')}`);
        steps.push(...points);
      },
      eval(point: RunEval) {
        log.push(`eval ${point.step}`);
        evals.push(point);
      },
      checkpoint(reason: CheckpointReason, step: number) {
        log.push(`checkpoint ${reason} ${step}`);
        checkpoints.push([reason, step]);
      },
    },
  };
}

describe('the run loop', () => {
  it('records a step with gradient accumulation in one submission', async () => {
    const gpu = await testGpu();
    const model = LlamaModel.upload(gpu, weights);
    const c = config({ gradAccum: 3 });
    const trainer = Trainer.create(model, c);
    const batches = new BatchIterator(data.train, c.batch, c.seed);
    const micro = [batches.next(), batches.next(), batches.next()];
    trainer.recordStep(micro); // the first step also uploads what kernels cache (RoPE tables)
    const before = gpu.submitCount;
    trainer.recordStep(micro);
    trainer.recordStep(micro);
    expect(gpu.submitCount - before).toBe(2); // one command buffer per optimizer step, writes included
    expect((await trainer.readMetrics()).map((m) => m.step)).toEqual([1, 2, 3]);
    trainer.dispose();
    model.dispose();
  });

  it('reads metrics back every k steps, with the numbers of a loop that reads every step', async () => {
    const gpu = await testGpu();
    // Step by step, reading after each step (the old loop).
    const model1 = LlamaModel.upload(gpu, weights);
    const c = config({ gradAccum: 2, evalEvery: 5 });
    const t1 = Trainer.create(model1, { ...c });
    const batches = new BatchIterator(data.train, c.batch, c.seed);
    const expected: StepMetrics[] = [];
    for (let s = 1; s <= c.steps; s++) {
      t1.recordStep([batches.next(), batches.next()]);
      expected.push(...(await t1.readMetrics())); // no evals: they draw no dropout, so they change nothing
    }
    t1.dispose();
    model1.dispose();

    const model2 = LlamaModel.upload(gpu, weights);
    const t2 = Trainer.create(model2, { ...c });
    const r = recorder();
    const outcome = await runTraining({ trainer: t2, train: data.train, eval: data.eval, padId: tokenizer.eosId, readEvery: 3 }, r.sink);
    // Read in threes, and at each eval step (5, 10); the eval follows its step's readback.
    expect(r.log).toEqual(['steps 1,2,3', 'steps 4,5', 'eval 5', 'steps 6,7,8', 'steps 9,10', 'eval 10', 'checkpoint end 10']);
    expect(r.steps.map((p) => [p.step, p.loss, p.lr, p.gradNorm])).toEqual(expected.map((m) => [m.step, m.loss, m.lr, m.gradNorm]));
    expect(r.steps.every((p) => p.tokensPerSec > 0 && Number.isFinite(p.tokensPerSec))).toBe(true);
    expect(r.steps.map((p) => p.elapsedMs)).toEqual([...r.steps.map((p) => p.elapsedMs)].sort((a, b) => a - b));
    expect(outcome).toMatchObject({ steps: 10, stopped: false, lastLoss: expected[9]!.loss, lastEval: r.evals[1] });
    t2.dispose();
    model2.dispose();
  });

  it('an evaluation draws no dropout and keeps nothing: with dropout 0.5 or 0, the same loss twice and no buffer left behind', async () => {
    const gpu = await testGpu();
    const evalBatches = [...orderedBatches(data.eval, 2, tokenizer.eosId)];
    const losses: number[] = [];
    for (const dropout of [0.5, 0]) {
      const model = LlamaModel.upload(gpu, weights);
      const trainer = Trainer.create(model, config({ dropout, lr: 5e-2 }));
      const batches = new BatchIterator(data.train, 2, 0);
      trainer.recordStep([batches.next()]); // B ≠ 0 after one step, so the adapter's branch counts
      const poolBefore = gpu.pool.stats().liveBytes;
      losses.push(await trainer.evaluate(evalBatches), await trainer.evaluate(evalBatches));
      expect(gpu.pool.stats().liveBytes).toBe(poolBefore);
      trainer.dispose();
      model.dispose();
    }
    expect(losses[0]).toBe(losses[1]);
    expect(losses[2]).toBe(losses[3]);
    expect(Number.isFinite(losses[0]!)).toBe(true);
  });

  it('evaluates the probe before the first step, checkpoints on its cadence, and stops with a final eval', async () => {
    const gpu = await testGpu();
    const model = LlamaModel.upload(gpu, weights);
    const trainer = Trainer.create(model, config({ steps: 20, evalEvery: 4 }));
    const r = recorder();
    let finishing = -1;
    const outcome = await runTraining(
      { trainer, train: data.train, eval: data.eval, probe: data.train.slice(0, 2), padId: tokenizer.eosId, evalAtStart: true, checkpointEvery: 3, readEvery: 100 },
      {
        ...r.sink,
        boundary: (step) => (step === 7 ? 'stop' : 'go'),
        finishing: (step) => {
          finishing = step;
        },
      },
    );
    expect(r.log).toEqual([
      'eval 0', 'steps 1,2,3', 'checkpoint due 3', 'steps 4', 'eval 4', 'steps 5,6', 'checkpoint due 6', 'steps 7', 'eval 7', 'checkpoint end 7',
    ]);
    expect(r.evals.every((e) => e.probe !== undefined && Number.isFinite(e.probe) && Number.isFinite(e.loss))).toBe(true);
    expect(outcome).toMatchObject({ steps: 7, stopped: true });
    expect(finishing).toBe(7);
    trainer.dispose();
    model.dispose();
  });

  it('resumes from a checkpoint with the batch order replayed: the same numbers as a run that never stopped', async () => {
    const gpu = await testGpu();
    const c = config({ steps: 8, gradAccum: 2 });
    const straightModel = LlamaModel.upload(gpu, weights);
    const straight = Trainer.create(straightModel, { ...c });
    const all = recorder();
    await runTraining({ trainer: straight, train: data.train, eval: [], padId: tokenizer.eosId }, all.sink);
    straight.dispose();
    straightModel.dispose();

    const firstModel = LlamaModel.upload(gpu, weights);
    const first = Trainer.create(firstModel, { ...c });
    let saved: Awaited<ReturnType<Trainer['checkpoint']>> | null = null;
    await runTraining(
      { trainer: first, train: data.train, eval: [], padId: tokenizer.eosId },
      {
        steps() {},
        boundary: async (step) => {
          if (step < 5) return 'go';
          saved = await first.checkpoint();
          return 'stop';
        },
      },
    );
    first.dispose();
    firstModel.dispose();
    const secondModel = LlamaModel.upload(gpu, weights);
    const second = await Trainer.restore(secondModel, saved!);
    const rest = recorder();
    await runTraining({ trainer: second, train: data.train, eval: [], padId: tokenizer.eosId }, rest.sink);
    expect(rest.steps.map((p) => [p.step, p.loss, p.gradNorm])).toEqual(all.steps.slice(5).map((p) => [p.step, p.loss, p.gradNorm]));
    second.dispose();
    secondModel.dispose();
  });
});
