/**
 * Training on stories260K: whole optimizer steps for full fine-tuning and LoRA, the LoRA step against
 * a frozen-base forward+backward (what any adapter must pay), and the fused low-rank matmul against
 * the unfused two-matmul path. Peers are our own alternative paths, measured side by side.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../src/gpu/tensor.ts';
import { parseLlama2c } from '../src/io/llama2c.ts';
import { loraMatmul } from '../src/kernels/lora-matmul.ts';
import { matmul } from '../src/kernels/matmul.ts';
import { LlamaModel } from '../src/model/llama.ts';
import { recordTrainPass } from '../src/model/llama-train.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../src/schema/train-config.ts';
import type { Batch } from '../src/train/packing.ts';
import { Trainer } from '../src/train/trainer.ts';
import { randomValues, timeCases, type BenchContext, type BenchRow, type TimedCase } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('../../shared/fixtures/stories260K/stories260K.bin', import.meta.url));
const B = 4, T = 128;

function batchOf(V: number): Batch {
  const inputs = Uint32Array.from({ length: B * T }, (_, i) => (i * 37 + 11) % V);
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 48) % V);
  return { inputs, targets, batchSize: B, seqLen: T, epoch: 0 };
}

export async function trainingBench(ctx: BenchContext): Promise<BenchRow[]> {
  const { gpu } = ctx;
  const rows: BenchRow[] = [];
  const weights = parseLlama2c(new Uint8Array(readFileSync(FIXTURE)), 'stories260K.bin');
  const batch = batchOf(weights.config.vocabSize);
  const tokens = B * T;

  const stepCase = (label: string, cfg: Partial<TrainConfig>): { c: TimedCase; done: () => void } => {
    const model = LlamaModel.upload(gpu, weights);
    const trainer = Trainer.create(model, { ...DEFAULT_TRAIN_CONFIG, batch: B, seq: T, steps: 1_000_000, ...cfg });
    return {
      c: {
        label,
        record: (reps) => {
          for (let i = 0; i < reps; i++) trainer.recordStep([batch]);
        },
        finish: async () => void (await trainer.readMetrics()),
      },
      done: () => {
        trainer.dispose();
        model.dispose();
      },
    };
  };

  // Frozen base: forward, loss and the full backward for activations, no parameter gradients.
  const frozenModel = LlamaModel.upload(gpu, weights);
  const ids = gpu.upload('bench.inputs', [tokens], batch.inputs);
  const tg = gpu.upload('bench.targets', [tokens], batch.targets);
  const loss = gpu.tensor('bench.loss', [1]);
  const frozen: TimedCase = {
    label: 'frozen forward+backward',
    record: (reps) => {
      for (let i = 0; i < reps; i++) recordTrainPass(frozenModel, new Map(), ids, tg, loss, { B, T, gradScale: 1 });
      gpu.submit();
    },
    finish: () => gpu.sync(),
  };

  const name = {
    lora: `train step LoRA r=8 q,v vs frozen fwd+bwd (stories260K ${B}x${T})`,
    full: `train tokens/s full fine-tuning vs LoRA (stories260K ${B}x${T})`,
  };
  if (ctx.wanted(name.lora) || ctx.wanted(name.full)) {
    const lora = stepCase('lora', { method: 'lora', rank: 8, alpha: 16, targets: ['q', 'v'] });
    const full = stepCase('full', { method: 'full', lr: 1e-4 });
    ctx.log('training steps: frozen, LoRA, full');
    const [msFrozen, msLora, msFull] = await timeCases([frozen, lora.c, full.c], Math.min(ctx.samples, 5), 200);
    lora.done();
    full.done();
    if (ctx.wanted(name.lora)) {
      rows.push({ name: name.lora, ours: msLora!, peer: msFrozen!, unit: 'ms/step', ratio: msLora! / msFrozen!, target: '<= 1.15 (lower is better)' });
    }
    if (ctx.wanted(name.full)) {
      const tpsFull = tokens / (msFull! / 1000), tpsLora = tokens / (msLora! / 1000);
      rows.push({ name: name.full, ours: tpsFull, peer: tpsLora, unit: 'tokens/s', ratio: tpsFull / tpsLora, target: 'report' });
    }
  }
  gpu.release(ids, tg, loss);
  frozenModel.dispose();

  // Fused x·Wᵀ + s·(x·Aᵀ)·Bᵀ vs the base matmul followed by an accumulating low-rank matmul.
  for (const [M, N, K, r] of [[512, 172, 64, 8], [512, 768, 288, 16]] as const) {
    const label = `fused low-rank matmul vs two matmuls ${M}x${N}x${K} r=${r}`;
    if (!ctx.wanted(label)) continue;
    const t = (n: string, shape: number[], seed: number): Tensor => gpu.upload(n, shape, randomValues(shape.reduce((a, b) => a * b, 1), seed));
    const x = t('x', [M, K], 1), W = t('W', [N, K], 2), xa = t('xa', [M, r], 3), Bl = t('B', [N, r], 4);
    const y = gpu.tensor('y', [M, N]);
    const fused: TimedCase = {
      label: 'fused',
      record: (reps) => {
        for (let i = 0; i < reps; i++) loraMatmul(gpu, x, W, xa, Bl, y, M, N, K, r, 2);
        gpu.submit();
      },
      finish: () => gpu.sync(),
    };
    const unfused: TimedCase = {
      label: 'unfused',
      record: (reps) => {
        for (let i = 0; i < reps; i++) {
          matmul(gpu, x, W, y, M, N, K);
          matmul(gpu, xa, Bl, y, M, N, r, { alpha: 2, accumulate: true });
        }
        gpu.submit();
      },
      finish: () => gpu.sync(),
    };
    ctx.log(label);
    const [msFused, msUnfused] = await timeCases([fused, unfused], ctx.samples);
    rows.push({ name: label, ours: msFused!, peer: msUnfused!, unit: 'ms', ratio: msUnfused! / msFused!, target: '> 1 (speed-up of fused)' });
    gpu.release(x, W, xa, Bl, y);
  }
  return rows;
}
