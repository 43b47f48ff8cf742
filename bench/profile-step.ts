/**
 * Per-kernel GPU time of one full fine-tuning step of a random LLaMA of a chosen size:
 *   node --import tsx --import ./scripts/wgsl-loader.mjs bench/profile-step.ts [dim] [layers] [seq] [batch]
 * Prints the step time and the kernels (with their grids) sorted by GPU milliseconds.
 */
import { openGpu } from '../src/kernels/node-gpu.ts';
import type { LlamaConfig } from '../src/schema/llama-config.ts';
import { initWeights } from '../src/model/init.ts';
import { LlamaModel } from '../src/model/llama.ts';
import { DEFAULT_TRAIN_CONFIG } from '../src/schema/train-config.ts';
import { Trainer } from '../src/train/trainer.ts';

const [dim = 128, nLayers = 4, T = 128, B = 8] = process.argv.slice(2).map(Number);
const V = 1024;
const config: LlamaConfig = {
  dim, hiddenDim: Math.round((dim * 8) / 3 / 8) * 8, nLayers, nHeads: Math.max(1, dim / 32), nKvHeads: Math.max(1, dim / 32),
  vocabSize: V, maxSeqLen: Math.max(256, T), normEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: true, bosId: 1, eosId: 2,
};
const gpu = await openGpu();
const model = LlamaModel.upload(gpu, initWeights(config, 1));
const trainer = Trainer.create(model, { ...DEFAULT_TRAIN_CONFIG, method: 'full', batch: B, seq: T, steps: 100 });
const batch = {
  inputs: Uint32Array.from({ length: B * T }, (_, i) => (i * 7) % V),
  targets: Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 1) % V),
  batchSize: B, seqLen: T, epoch: 0,
};
trainer.recordStep([batch]); // warm-up: pipeline compiles
await trainer.readMetrics();
const t0 = performance.now();
trainer.recordStep([batch]);
await trainer.readMetrics();
const ms = performance.now() - t0;
console.log(`${model.parameterCount} parameters; step ${ms.toFixed(0)} ms, ${((B * T) / ms * 1000).toFixed(0)} tokens/s`);
if (!gpu.startProfile()) throw new Error('this adapter has no timestamp queries');
trainer.recordStep([batch]);
const profile = await gpu.endProfile();
await trainer.readMetrics();
console.log(`profiled GPU total ${profile.reduce((a, p) => a + p.ms, 0).toFixed(0)} ms`);
for (const p of profile.slice(0, 30)) console.log(`${p.ms.toFixed(1).padStart(9)} ms ${String(p.count).padStart(4)}×  ${p.kernel}`);
process.exit(0);
