/**
 * Real-size models: random BF16 checkpoints with SmolLM2-135M's full shape (30 layers) and TinyLlama-1.1B's
 * widths, written at bench time (scripts/synthetic-checkpoint.ts) and streamed onto the GPU.
 *   - a LoRA r16 all-linear step: tokens/s with the 16-bit base against the same weights in f32;
 *   - the buffer pool's measured peak of that step against the estimate (src/schema/estimate.ts), stored
 *     activations and recomputed;
 *   - the memory targets at shapes too slow to run here, from the estimate the rows above validate;
 *   - the LM-head loss's peak in row chunks against the full logits.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SMOLLM2_135M, TINYLLAMA_1_1B, writeSyntheticCheckpoint } from '../scripts/synthetic-checkpoint.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import { openFileSource } from '../src/io/fs-node.ts';
import { checkpointWeights, openHfCheckpoint, type HfCheckpoint } from '../src/io/hf-checkpoint.ts';
import { loadModel } from '../src/model/load-checkpoint.ts';
import { recordHeadLoss } from '../src/model/lm-head-loss.ts';
import type { LlamaModel } from '../src/model/llama.ts';
import { llamaParamCount, memoryEstimate, type WeightStorage } from '../src/schema/estimate.ts';
import type { LlamaConfig } from '../src/schema/llama-config.ts';
import { LINEAR_MODULES } from '../src/schema/tensors.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../src/schema/train-config.ts';
import type { Batch } from '../src/train/packing.ts';
import { Trainer } from '../src/train/trainer.ts';
import type { BenchContext, BenchRow } from './harness.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** LoRA r16 on every linear module, the setting. */
function loraR16(batch: number, seq: number, recompute: boolean): TrainConfig {
  return { ...DEFAULT_TRAIN_CONFIG, method: 'lora', rank: 16, alpha: 32, batch, seq, steps: 1000, recompute, targets: [...LINEAR_MODULES] };
}

function batchOf(c: LlamaConfig, B: number, T: number): Batch {
  const V = c.vocabSize;
  const inputs = Uint32Array.from({ length: B * T }, (_, i) => (i * 37 + 11) % V);
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 91 + 5) % V);
  return { inputs, targets, batchSize: B, seqLen: T, epoch: 0 };
}

/** One warm-up step, then `steps` timed ones: tokens/s, and the pool's peak from the trainer's creation on. */
async function timeSteps(gpu: Gpu, model: LlamaModel, cfg: TrainConfig, steps: number): Promise<{ tokensPerSec: number; peak: number }> {
  gpu.pool.trim();
  gpu.pool.resetPeak();
  const trainer = Trainer.create(model, cfg);
  const batch = batchOf(model.config, cfg.batch, cfg.seq);
  trainer.recordStep([batch]);
  await trainer.readMetrics();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) trainer.recordStep([batch]);
  await trainer.readMetrics();
  const ms = (performance.now() - t0) / steps;
  const peak = gpu.pool.stats().peakBytes;
  trainer.dispose();
  return { tokensPerSec: (cfg.batch * cfg.seq * 1000) / ms, peak };
}

async function checkpointOf(dir: string, c: LlamaConfig): Promise<{ ck: HfCheckpoint; close: () => Promise<void> }> {
  const written = await writeSyntheticCheckpoint(dir, c, { seed: 5 });
  const src = await openFileSource(written.files[0]!);
  const ck = await openHfCheckpoint({ name: 'config.json', text: await readFile(path.join(dir, 'config.json'), 'utf8') }, [src]);
  return { ck, close: () => src.close() };
}

const memoryRow = (name: string, peak: number, estimate: number): BenchRow => ({
  name, ours: peak / MiB, peer: estimate / MiB, unit: 'MiB measured / estimated', ratio: peak / estimate, target: 'within 15%',
});

export async function realSizeBench(ctx: BenchContext): Promise<BenchRow[]> {
  const { gpu } = ctx;
  const rows: BenchRow[] = [];
  const smolStep = 'LoRA r16 step, SmolLM2-135M shape (30 layers) 1×128';
  const smolMemory = 'GPU peak, SmolLM2-135M LoRA r16 1×128';
  const headLoss = 'LM-head loss peak, 1024 rows × V 49152';
  const targets = 'GPU estimate vs target';
  if (ctx.wanted(smolStep) || ctx.wanted(smolMemory)) {
    const dir = await mkdtemp(path.join(tmpdir(), 'subspace-bench-'));
    try {
      const c = SMOLLM2_135M;
      const { ck, close } = await checkpointOf(dir, c);
      try {
        const runs: { storage: WeightStorage; f32: boolean }[] = [{ storage: '16-bit', f32: false }, { storage: 'f32', f32: true }];
        const measured: Record<string, { tokensPerSec: number; peak: number }> = {};
        for (const { storage, f32 } of runs) {
          const { model } = await loadModel(gpu, checkpointWeights(ck, { f32 }));
          for (const recompute of storage === '16-bit' ? [false, true] : [false]) {
            ctx.log(`${smolStep}: ${storage} base${recompute ? ', recompute' : ''}`);
            const cfg = loraR16(1, 128, recompute);
            const m = await timeSteps(gpu, model, cfg, 1);
            measured[`${storage}${recompute ? ' recompute' : ''}`] = m;
            const estimate = memoryEstimate(cfg, c, model.parameterCount, storage).total;
            if (ctx.wanted(smolMemory)) rows.push(memoryRow(`${smolMemory}, ${storage} base${recompute ? ', recompute' : ''}`, m.peak, estimate));
          }
          model.dispose();
        }
        if (ctx.wanted(smolStep)) {
          const [b16, b32] = [measured['16-bit']!, measured.f32!];
          rows.push({ name: `${smolStep}, 16-bit vs f32 base`, ours: b16.tokensPerSec, peer: b32.tokensPerSec, unit: 'tokens/s', ratio: b16.tokensPerSec / b32.tokensPerSec, target: '≥ 0.9 (half the weight bytes)' });
        }
      } finally {
        await close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  if (ctx.wanted(headLoss)) rows.push(await headLossRow(gpu, SMOLLM2_135M, headLoss));
  if (ctx.wanted(targets)) {
    // The targets, from the estimate the rows above hold to the measured peak (not run here: too slow on SwiftShader).
    const cases: [string, LlamaConfig, TrainConfig, number][] = [
      ['SmolLM2-135M LoRA r16 8×256, recompute', SMOLLM2_135M, loraR16(8, 256, true), 1 * GiB],
      ['SmolLM2-135M LoRA r16 8×256, stored', SMOLLM2_135M, loraR16(8, 256, false), 2 * GiB],
      ['TinyLlama-1.1B LoRA r16 4×256, recompute', TINYLLAMA_1_1B, loraR16(4, 256, true), 3.5 * GiB],
    ];
    for (const [name, c, cfg, limit] of cases) {
      const estimate = memoryEstimate(cfg, c, llamaParamCount(c), '16-bit').total;
      rows.push({ name: `${targets}: ${name}`, ours: estimate / GiB, peer: limit / GiB, unit: 'GiB estimated / target', ratio: estimate / limit, target: '≤ 1' });
    }
  }
  return rows;
}

/** The LM-head loss with its gradients: the pool's peak in ≤ 64 MiB row chunks against the whole logits at once. */
async function headLossRow(gpu: Gpu, c: LlamaConfig, name: string): Promise<BenchRow> {
  const R = 1024, D = c.dim, V = c.vocabSize;
  const peaks: number[] = [];
  for (const chunkBytes of [undefined, Number.POSITIVE_INFINITY]) {
    gpu.pool.trim();
    const hidden = gpu.upload('bench.hidden', [R, D], Float32Array.from({ length: R * D }, (_, i) => Math.sin(i) * 0.1));
    const head = gpu.upload('bench.head', [V, D], Float32Array.from({ length: V * D }, (_, i) => Math.cos(i) * 0.05));
    const targets = gpu.upload('bench.targets', [R], Int32Array.from({ length: R }, (_, i) => (i * 31) % V));
    const loss = gpu.tensor('bench.loss', [1]);
    const dHidden = gpu.tensor('bench.dhidden', [R, D]);
    gpu.pool.resetPeak();
    const before = gpu.pool.stats().liveBytes;
    recordHeadLoss(gpu, hidden, head, targets, loss, dHidden, null, { rows: R, vocab: V, dim: D, gradScale: 1, chunkBytes });
    await gpu.read(loss);
    peaks.push(gpu.pool.stats().peakBytes - before);
    gpu.release(hidden, head, targets, loss, dHidden);
  }
  const [chunked, full] = peaks as [number, number];
  return { name: `${name}: chunked vs full logits (beyond inputs)`, ours: chunked / MiB, peer: full / MiB, unit: 'MiB', ratio: full / chunked, target: 'chunked ≤ 64 MiB + rows' };
}
