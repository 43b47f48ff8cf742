/**
 * `node --import tsx scripts/memory-table.ts`: the README's table of estimated GPU memory per model family and
 * method (src/schema/estimate.ts, validated against the buffer pool in tests/model/memory-estimate.test.ts), as
 * Markdown. Batch 8 × 256 tokens; LoRA-family methods at r 16 on every linear module.
 */
import { llamaParamCount, memoryEstimate, type WeightStorage } from '../src/schema/estimate.ts';
import type { LlamaConfig } from '../src/schema/llama-config.ts';
import { LINEAR_MODULES } from '../src/schema/tensors.ts';
import { DEFAULT_TRAIN_CONFIG, type Method, type TrainConfig } from '../src/schema/train-config.ts';
import { SMOLLM2_135M, TINYLLAMA_1_1B } from './synthetic-checkpoint.ts';

const base = { maxSeqLen: 2048, normEps: 1e-5, bosId: 1, eosId: 2 };
const MODELS: [string, LlamaConfig, WeightStorage][] = [
  ['stories15M (llama2.c, f32)', { ...base, dim: 288, hiddenDim: 768, nLayers: 6, nHeads: 6, nKvHeads: 6, vocabSize: 32000, ropeTheta: 10000, tiedEmbeddings: true }, 'f32'],
  ['stories110M (llama2.c, f32)', { ...base, dim: 768, hiddenDim: 2048, nLayers: 12, nHeads: 12, nKvHeads: 12, vocabSize: 32000, ropeTheta: 10000, tiedEmbeddings: true }, 'f32'],
  ['SmolLM2-135M (BF16)', SMOLLM2_135M, '16-bit'],
  ['SmolLM2-360M (BF16)', { ...SMOLLM2_135M, dim: 960, hiddenDim: 2560, nLayers: 32, nHeads: 15, nKvHeads: 5 }, '16-bit'],
  ['TinyLlama-1.1B (BF16)', TINYLLAMA_1_1B, '16-bit'],
  ['Llama-3.2-1B (BF16)', { ...base, dim: 2048, hiddenDim: 8192, nLayers: 16, nHeads: 32, nKvHeads: 8, vocabSize: 128256, ropeTheta: 500000, tiedEmbeddings: true }, '16-bit'],
];
const METHODS: Method[] = ['lora', 'dora', 'mora', 'pissa', 'full'];
const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)}`;

const cell = (c: LlamaConfig, storage: WeightStorage, method: Method, recompute: boolean): string => {
  const cfg: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, method, rank: 16, alpha: 32, batch: 8, seq: 256, recompute, targets: [...LINEAR_MODULES] };
  return gib(memoryEstimate(cfg, c, llamaParamCount(c), storage).total);
};
const lines = [
  `| Model | Parameters | ${METHODS.map((m) => `${m} (recompute / stored)`).join(' | ')} |`,
  `|---|---|${METHODS.map(() => '---').join('|')}|`,
];
for (const [name, c, storage] of MODELS) {
  const cells = METHODS.map((m) => `${cell(c, storage, m, true)} / ${cell(c, storage, m, false)}`);
  lines.push(`| ${name} | ${(llamaParamCount(c) / 1e6).toFixed(0)}M | ${cells.join(' | ')} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
