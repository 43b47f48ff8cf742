/**
 * The run loop on the built-in model: steps/s when the step metrics are read back every 16 steps (what
 * the CLI and the studio do) against reading them after every step (what they did before), measured
 * side by side as whole runs of LoRA r8 on q, v.
 */
import { loadModel } from '../src/model/load-checkpoint.ts';
import { fileURLToPath } from 'node:url';
import { readModelPath } from '../src/io/fs-node.ts';
import { DEFAULT_TRAIN_CONFIG } from '../src/schema/train-config.ts';
import { prepareData } from '../src/train/data.ts';
import { runTraining } from '../src/train/run-loop.ts';
import { Trainer } from '../src/train/trainer.ts';
import { median, type BenchContext, type BenchRow } from './harness.ts';

const BUILT_IN = fileURLToPath(new URL('../public/models/tinyworld/', import.meta.url));
const STEPS = 48;

export async function runLoopBench(ctx: BenchContext): Promise<BenchRow[]> {
  const name = `run loop steps/s, metrics read every 16 steps vs every step (built-in model, LoRA r8 q,v, ${STEPS} steps 4x64)`;
  if (!ctx.wanted(name)) return [];
  const { gpu } = ctx;
  const loaded = await readModelPath(BUILT_IN);
  const text = Array.from({ length: 40 }, (_, i) => `Lily has a red kite number ${i}. She flies it at the sunny beach with Rosa.`).join('\n\n');
  const data = prepareData('bench.txt', text, loaded.tokenizer!, { seqLen: 64, evalFraction: 0, seed: 0 });
  const config = { ...DEFAULT_TRAIN_CONFIG, method: 'lora' as const, rank: 8, alpha: 16, targets: ['q', 'v'] as ('q' | 'v')[], batch: 4, seq: 64, steps: STEPS };
  /** Steps per second of one whole run reading back every `readEvery` steps. */
  const run = async (readEvery: number): Promise<number> => {
    const { model } = await loadModel(gpu, loaded.base);
    const trainer = Trainer.create(model, { ...config, targets: [...config.targets] });
    const t0 = performance.now();
    await runTraining({ trainer, train: data.train, eval: [], padId: loaded.tokenizer!.eosId, readEvery }, { steps() {} });
    const stepsPerSec = (STEPS * 1000) / (performance.now() - t0);
    trainer.dispose();
    model.dispose();
    return stepsPerSec;
  };
  ctx.log('run loop: read every 16 steps vs every step');
  await run(16); // warm-up: pipelines compiled, RoPE tables uploaded
  const every16: number[] = [], every1: number[] = [];
  for (let i = 0; i < Math.min(ctx.samples, 3); i++) {
    every16.push(await run(16));
    every1.push(await run(1));
  }
  const ours = median(every16), peer = median(every1);
  return [{ name, ours, peer, unit: 'steps/s', ratio: ours / peer, target: '>= 1 (higher is better)' }];
}
