/**
 * The memory estimate (src/schema/estimate.ts) against the buffer pool's measured peak: real-width BF16
 * checkpoints (SmolLM2-135M and TinyLlama-1.1B widths, few layers) trained one step with every method,
 * with and without recomputation and dropout, and the LM-head loss in row chunks. Within 15% of the measured peak, as the issue requires
 * (it agrees within 1–2% here); the 16-bit base also goes through every path that reads or rewrites W
 * (full fine-tuning, DoRA, PiSSA, the spectra, merging).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMOLLM2_135M, TINYLLAMA_1_1B, writeSyntheticCheckpoint } from '../../scripts/synthetic-checkpoint.ts';
import { mergeAdapters } from '../../src/adapters/merge.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { openFileSource } from '../../src/io/fs-node.ts';
import { checkpointWeights, openHfCheckpoint, type HfCheckpoint } from '../../src/io/hf-checkpoint.ts';
import { loadModel } from '../../src/model/load-checkpoint.ts';
import type { LlamaModel } from '../../src/model/llama.ts';
import { recordTrainPass } from '../../src/model/llama-train.ts';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';
import { chooseRecompute, logitsChunkRows, memoryEstimate } from '../../src/schema/estimate.ts';
import { DEFAULT_TRAIN_CONFIG, type Method, type TrainConfig } from '../../src/schema/train-config.ts';
import { LINEAR_MODULES, type LinearModule } from '../../src/schema/tensors.ts';
import { moduleSpectrum } from '../../src/spectra/module-spectrum.ts';
import { Trainer } from '../../src/train/trainer.ts';
import { testGpu } from '../helpers/gpu.ts';

/** The estimate may differ from the measured peak by this fraction (the bound). */
const TOLERANCE = 0.15;

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function synthetic(base: LlamaConfig, nLayers: number): Promise<{ config: LlamaConfig; ck: HfCheckpoint; close: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'subspace-mem-'));
  dirs.push(dir);
  const config = { ...base, nLayers };
  const written = await writeSyntheticCheckpoint(dir, config, { seed: 3 });
  const src = await openFileSource(written.files[0]!);
  const ck = await openHfCheckpoint({ name: 'config.json', text: await readFile(path.join(dir, 'config.json'), 'utf8') }, [src]);
  return { config, ck, close: () => src.close() };
}

interface Case {
  method: Method;
  B: number;
  T: number;
  recompute?: boolean;
  dropout?: number;
  targets?: LinearModule[];
}

/** Train one step of `cs` on a fresh load of `ck`; the pool's peak from the trainer's creation on, and the estimate. */
async function measure(gpu: Gpu, ck: HfCheckpoint, config: LlamaConfig, cs: Case): Promise<{ peak: number; estimate: number; trainer: Trainer }> {
  const { model } = await loadModel(gpu, checkpointWeights(ck));
  const cfg: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG, method: cs.method, rank: 16, alpha: 32, batch: cs.B, seq: cs.T, steps: 10,
    recompute: cs.recompute ?? false, dropout: cs.dropout ?? 0, targets: cs.targets ?? [...LINEAR_MODULES], pissaNiter: cs.method === 'pissa' ? 2 : 0,
  };
  gpu.pool.resetPeak();
  const trainer = await Trainer.init(model, cfg);
  const batch = evalBatch(config, cs);
  trainer.recordStep([batch]); // the peak is reached within the first step
  const metrics = await trainer.readMetrics();
  for (const m of metrics) expect(Number.isFinite(m.loss)).toBe(true);
  return { peak: gpu.pool.stats().peakBytes, estimate: memoryEstimate(cfg, config, model.parameterCount, '16-bit').total, trainer };
}

const MiB = 2 ** 20;

/** The model's mean loss on `b` (no dropout, no gradients). */
async function evalLoss(gpu: Gpu, model: LlamaModel, b: ReturnType<typeof evalBatch>): Promise<number> {
  const inputs = gpu.upload('eval.inputs', [b.inputs.length], b.inputs);
  const targets = gpu.upload('eval.targets', [b.targets.length], b.targets);
  const loss = gpu.tensor('eval.loss', [1]);
  recordTrainPass(model, new Map(), inputs, targets, loss, { B: b.batchSize, T: b.seqLen, gradScale: 1, backward: false });
  const [v] = await gpu.read(loss);
  gpu.release(inputs, targets, loss);
  return v!;
}

/** A fixed batch of `cs`'s shape. */
function evalBatch(config: LlamaConfig, cs: Case) {
  const V = config.vocabSize;
  const n = cs.B * cs.T;
  return {
    inputs: Uint32Array.from({ length: n }, (_, i) => (i * 37 + 5) % V), targets: Int32Array.from({ length: n }, (_, i) => (i * 91 + 7) % V),
    batchSize: cs.B, seqLen: cs.T, epoch: 0,
  };
}

describe('memory estimate vs the buffer pool, on BF16 checkpoints with real widths', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  let smol: Awaited<ReturnType<typeof synthetic>>;
  beforeAll(async () => {
    smol = await synthetic(SMOLLM2_135M, 2);
  });
  afterAll(() => smol.close());

  const smolCases: Case[] = [
    { method: 'lora', B: 2, T: 8 },
    { method: 'lora', B: 2, T: 8, dropout: 0.1, targets: ['q', 'v'] },
    { method: 'dora', B: 2, T: 8 },
    { method: 'mora', B: 2, T: 8 },
    { method: 'pissa', B: 2, T: 8, recompute: true },
    { method: 'full', B: 1, T: 16 },
  ];
  it.each(smolCases)('SmolLM2-135M widths (2 layers): $method $B×$T recompute $recompute dropout $dropout within 15%', async (cs) => {
    const { config, ck } = smol;
    const { peak, estimate, trainer } = await measure(gpu, ck, config, cs);
    const model = trainer.model;
    console.log(`${cs.method} ${cs.B}×${cs.T}${cs.recompute ? ' recompute' : ''}: peak ${(peak / MiB).toFixed(1)} MiB, estimate ${(estimate / MiB).toFixed(1)} MiB`);
    try {
      expect(Math.abs(estimate / peak - 1)).toBeLessThanOrEqual(TOLERANCE);
      if (cs.method === 'dora') {
        // A path that reads a 16-bit W in f32 (DoRA keeps W frozen in 16 bits): the spectrum of a module.
        const s = await moduleSpectrum(gpu, model, 1, 'k', { merged: false });
        expect(s.sigma.length).toBe(192);
        expect(s.sigma.every(Number.isFinite)).toBe(true);
      }
      if (cs.dropout) {
        // Merging rewrites the 16-bit weights in f32: the merged model gives the adapted model's loss.
        const before = await evalLoss(gpu, trainer.model, evalBatch(config, cs));
        mergeAdapters(model);
        expect(model.adapters.size).toBe(0);
        expect(await evalLoss(gpu, model, evalBatch(config, cs))).toBeCloseTo(before, 4);
      }
    } finally {
      trainer.dispose();
      model.dispose();
    }
  });

  it('the LM-head loss in two row chunks (SmolLM2-135M vocabulary, 64 wide, 1 layer): LoRA 1×384 within 15%', async () => {
    // 384 rows: two chunks, as 341 rows fit 64 MiB of logits at V = 49152. At this width the chunk is most of the peak.
    const { config, ck, close } = await synthetic({ ...SMOLLM2_135M, dim: 64, hiddenDim: 172, nHeads: 4, nKvHeads: 2 }, 1);
    try {
      const { peak, estimate, trainer } = await measure(gpu, ck, config, { method: 'lora', B: 1, T: 384 });
      console.log(`vocabulary 49152, 64 wide, lora 1×384: peak ${(peak / MiB).toFixed(1)} MiB, estimate ${(estimate / MiB).toFixed(1)} MiB`);
      expect(logitsChunkRows(384, config.vocabSize)).toBe(341);
      expect(Math.abs(estimate / peak - 1)).toBeLessThanOrEqual(TOLERANCE);
      trainer.model.dispose();
      trainer.dispose();
    } finally {
      await close();
    }
  });

  it('TinyLlama-1.1B widths (1 layer): LoRA within 15%', async () => {
    const { config, ck, close } = await synthetic(TINYLLAMA_1_1B, 1);
    try {
      const { peak, estimate, trainer } = await measure(gpu, ck, config, { method: 'lora', B: 1, T: 16 });
      console.log(`TinyLlama lora 1×16: peak ${(peak / MiB).toFixed(1)} MiB, estimate ${(estimate / MiB).toFixed(1)} MiB`);
      expect(Math.abs(estimate / peak - 1)).toBeLessThanOrEqual(TOLERANCE);
      trainer.model.dispose();
      trainer.dispose();
    } finally {
      await close();
    }
  });

  it('recomputation is chosen only when the stored-activation estimate is over the budget', () => {
    const c = SMOLLM2_135M;
    const cfg: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, method: 'lora', rank: 16, alpha: 32, batch: 8, seq: 256, targets: [...LINEAR_MODULES] };
    const P = 134_515_008;
    const stored = memoryEstimate(cfg, c, P, '16-bit').total;
    expect(chooseRecompute(cfg, c, P, '16-bit', stored)).toBe(false);
    expect(chooseRecompute(cfg, c, P, '16-bit', stored - 1)).toBe(true);
  });
});
