/**
 * MoRA vs LoRA training-step time at the same r on stories260K (the MoRA paper claims no extra
 * cost; target: MoRA step ≤ 1.10 × LoRA step). Both train every linear module (all-linear) on the
 * same fixed batch with the same optimizer; a step is forward + backward + clipping + AdamW, recorded
 * as one submission. Here "peer" is LoRA on our own engine, not tfjs; ratio = LoRA time / MoRA time.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseLlama2c } from '../src/io/llama2c.ts';
import { LlamaModel } from '../src/model/llama.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../src/schema/train-config.ts';
import { Trainer } from '../src/train/trainer.ts';
import { timeCases, type BenchContext, type BenchRow, type TimedCase } from './harness.ts';

const STORIES_BIN = fileURLToPath(new URL('../../shared/fixtures/stories260K/stories260K.bin', import.meta.url));
const B = 4, T = 64, RANK = 8;

export async function moraBench(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const wanted = ([1, 6] as const).filter((t) => ctx.wanted(rowName(t)));
  if (wanted.length === 0) return rows;
  const weights = parseLlama2c(new Uint8Array(readFileSync(STORIES_BIN)), 'stories260K.bin');
  const n = B * T;
  const inputs = Uint32Array.from({ length: n }, (_, i) => (i * 7919 + 13) % weights.config.vocabSize);
  const targets = Int32Array.from({ length: n }, (_, i) => inputs[(i + 1) % n]!);
  const batch = { inputs, targets, batchSize: B, seqLen: T, epoch: 0 };

  const stepCase = (label: string, c: TrainConfig): TimedCase & { dispose(): void } => {
    const model = LlamaModel.upload(ctx.gpu, weights);
    const trainer = Trainer.create(model, c);
    return {
      label,
      record: (reps) => { for (let i = 0; i < reps; i++) trainer.recordStep([batch]); },
      finish: async () => { await trainer.readMetrics(); }, // reads the metrics ring: waits for every step
      dispose: () => { trainer.dispose(); model.dispose(); },
    };
  };
  const base: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG, rank: RANK, alpha: 2 * RANK, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], batch: B, seq: T, lr: 1e-3,
  };
  const lora = stepCase('lora', { ...base, method: 'lora' });
  for (const type of wanted) {
    const mora = stepCase(`mora-${type}`, { ...base, method: 'mora', moraType: type });
    ctx.log(`${rowName(type)}: timing`);
    const [msMora, msLora] = await timeCases([mora, lora], ctx.samples);
    rows.push({
      name: rowName(type),
      ours: 1000 / msMora!,
      peer: 1000 / msLora!,
      unit: 'steps/s',
      ratio: msLora! / msMora!,
      target: '≥ 0.91 (MoRA ≤ 1.10× LoRA time)',
    });
    mora.dispose();
  }
  lora.dispose();
  return rows;
}

function rowName(type: 1 | 6): string {
  return `train step MoRA type ${type} (peer: LoRA) r=${RANK}, stories260K all-linear, ${B}×${T}`;
}
