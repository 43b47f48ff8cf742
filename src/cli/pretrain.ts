/**
 * `npm run pretrain`: trains the embedded default model from scratch with Subspace's own engine, on
 * the corpus the project generates (src/corpus) with a tokenizer it builds, and writes it to
 * public/models/<name>/ in Hugging Face layout with a model card.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { encodeWithDropout, tokenizerBin, trainBpe } from '../corpus/bpe.ts';
import { generateCorpus } from '../corpus/generate.ts';
import { Rng as CorpusRng } from '../corpus/rng.ts';
import { exportHfModel } from '../io/export-hf.ts';
import { writeFiles } from '../io/fs-node.ts';
import { llama2cToTokenizerJson, llama2cTokenizerConfig } from '../io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../io/tokenizer-llama2c.ts';
import type { LlamaConfig } from '../schema/llama-config.ts';
import { generate } from '../model/generate.ts';
import { initWeights } from '../model/init.ts';
import { LlamaModel } from '../model/llama.ts';
import { DEFAULT_TRAIN_CONFIG } from '../schema/train-config.ts';
import { packExamples, type Example } from '../train/packing.ts';
import { runTraining } from '../train/run-loop.ts';
import { Trainer } from '../train/trainer.ts';
import { optionalNumber, optionalString, type Values } from './args.ts';
import { openGpu } from '../kernels/node-gpu.ts';
import { ProgressBar } from './progress.ts';

const options = {
  out: { type: 'string' }, name: { type: 'string' }, dim: { type: 'string' }, layers: { type: 'string' },
  heads: { type: 'string' }, 'kv-heads': { type: 'string' }, hidden: { type: 'string' }, vocab: { type: 'string' },
  seq: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' }, steps: { type: 'string' },
  minutes: { type: 'string' }, documents: { type: 'string' }, seed: { type: 'string' }, 'eval-every': { type: 'string' },
} as const;

async function main(): Promise<void> {
  const v = parseArgs({ args: process.argv.slice(2), options, strict: true }).values as Values;
  const name = optionalString(v, 'name') ?? 'tinyworld';
  const out = optionalString(v, 'out') ?? path.join('public', 'models', name);
  const seed = optionalNumber(v, 'seed', { integer: true }) ?? 1;
  const dim = optionalNumber(v, 'dim', { min: 8, integer: true }) ?? 64;
  const nHeads = optionalNumber(v, 'heads', { min: 1, integer: true }) ?? 4;
  const config: LlamaConfig = {
    dim,
    hiddenDim: optionalNumber(v, 'hidden', { min: 8, integer: true }) ?? 172,
    nLayers: optionalNumber(v, 'layers', { min: 1, integer: true }) ?? 4,
    nHeads,
    nKvHeads: optionalNumber(v, 'kv-heads', { min: 1, integer: true }) ?? nHeads,
    vocabSize: optionalNumber(v, 'vocab', { min: 300, integer: true }) ?? 1024,
    maxSeqLen: 256,
    normEps: 1e-5,
    ropeTheta: 10000,
    tiedEmbeddings: true,
    bosId: 1,
    eosId: 2,
  };
  const seq = optionalNumber(v, 'seq', { min: 8, integer: true }) ?? 128;
  const batch = optionalNumber(v, 'batch', { min: 1, integer: true }) ?? 8;
  const maxSteps = optionalNumber(v, 'steps', { min: 1, integer: true }) ?? 100_000;
  const minutes = optionalNumber(v, 'minutes', { min: 0 }) ?? 55;
  const documents = optionalNumber(v, 'documents', { min: 100, integer: true }) ?? 20_000;
  const evalEvery = optionalNumber(v, 'eval-every', { min: 1, integer: true }) ?? 100;
  const log = (s: string) => process.stderr.write(`${s}\n`);

  // ---- corpus and tokenizer ----
  const docs = generateCorpus({ seed, documents });
  const bpe = trainBpe(docs, { vocabSize: config.vocabSize });
  const tokBytes = tokenizerBin(bpe);
  const tokenizer = Llama2cTokenizer.fromBytes(tokBytes, 'tokenizer.bin', config.vocabSize);
  const nEval = Math.max(20, Math.round(docs.length * 0.02));
  const dropRng = new CorpusRng(seed + 17);
  // BPE-dropout on the training text reaches every piece, so no embedding is left untrained.
  const trainExamples: Example[] = docs.slice(nEval).map((d, i) => {
    const ids = encodeWithDropout(bpe, d, 0.1, dropRng, { bos: true, eos: true });
    return { ids, mask: ids.map(() => 1), line: i + 1 };
  });
  const evalExamples: Example[] = docs.slice(0, nEval).map((d, i) => {
    const ids = tokenizer.encode(d, { bos: true, eos: true });
    return { ids, mask: ids.map(() => 1), line: i + 1 };
  });
  const train = packExamples(trainExamples, seq, { padId: config.eosId }).windows;
  const evalWindows = packExamples(evalExamples, seq, { padId: config.eosId }).windows;
  const corpusTokens = trainExamples.reduce((n, e) => n + e.ids.length, 0);
  log(`corpus: ${docs.length} documents, ${corpusTokens} training tokens, vocabulary ${bpe.vocabSize} (${bpe.mergeCount} merges)`);

  // ---- model and training ----
  const gpu = await openGpu();
  const model = LlamaModel.upload(gpu, initWeights(config, seed));
  const lr = optionalNumber(v, 'lr', { min: 0 }) ?? 4e-3;
  const trainer = Trainer.create(model, {
    ...DEFAULT_TRAIN_CONFIG, method: 'full', lr, steps: maxSteps, batch, seq, warmup: 100, schedule: 'cosine',
    minLrRatio: 0.1, weightDecay: 0.1, beta2: 0.95, maxGradNorm: 1, seed, evalEvery, evalBatches: 8,
  });
  log(`model: ${model.parameterCount} parameters; batch ${batch}×${seq}; lr ${lr}; budget ${minutes} min`);
  const start = performance.now();
  const budgetMs = minutes * 60_000;
  const progress = new ProgressBar(maxSteps);
  let lastLoss = NaN, evalLoss = NaN, lastSave = 0;
  const history: { step: number; loss: number; eval_loss?: number }[] = [];
  // The same run loop as fine-tuning; metrics are read every 10 steps, when the budget is re-estimated.
  await runTraining({ trainer, train, eval: evalWindows, padId: config.eosId, readEvery: 10 }, {
    async steps(points) {
      for (const p of points) {
        const step = p.step;
        lastLoss = p.loss;
        if (step % 10 !== 0 && step !== trainer.config.steps) continue;
        const elapsed = performance.now() - start;
        if (step >= 20 && step < trainer.config.steps) {
          // Turn the time budget into a step count so the cosine schedule ends on time; re-estimated
          // as the run goes, since a shared machine's speed drifts.
          const estimate = Math.floor((budgetMs / elapsed) * step);
          const next = Math.max(step + 1, Math.min(maxSteps, estimate));
          if (step === 20) log(`\n${(elapsed / step).toFixed(0)} ms/step: about ${next} steps in the budget`);
          trainer.setTotalSteps(next);
          progress.total = next;
        }
        history.push({ step, loss: lastLoss });
        if (elapsed - lastSave > 10 * 60_000 && step < trainer.config.steps) {
          lastSave = elapsed;
          await save(step, false);
        }
        progress.update(step, lastLoss, (step * batch * seq) / (elapsed / 1000), elapsed / 1000);
      }
    },
    eval(point) {
      evalLoss = point.loss;
      const entry = history.find((h) => h.step === point.step);
      if (entry) entry.eval_loss = point.loss;
      else history.push({ step: point.step, loss: lastLoss, eval_loss: point.loss });
    },
  });
  const totalSteps = trainer.step;
  const minutesUsed = (performance.now() - start) / 60_000;
  progress.done(`trained ${totalSteps} steps in ${minutesUsed.toFixed(1)} min; train loss ${lastLoss.toFixed(3)}, eval loss ${evalLoss.toFixed(3)}`);
  await save(totalSteps, true);
  gpu.destroy();

  /** Write the model, tokenizer and card to `out` (also every few minutes, so a long run keeps its progress). */
  async function save(steps: number, final: boolean): Promise<void> {
    const sample = await generate(model, tokenizer, { prompt: '', maxTokens: 120, temperature: 0 });
    if (final) log(`greedy sample: ${sample.text}`);
    const weights = await model.readWeights();
    const files = exportHfModel(weights, llama2cToTokenizerJson(tokenizer), llama2cTokenizerConfig({ modelMaxLength: config.maxSeqLen }));
    files.set('tokenizer.bin', tokBytes);
    const minutesSoFar = (performance.now() - start) / 60_000;
    const card = {
      name,
      description:
        `A ${(model.parameterCount / 1e6).toFixed(2)}M-parameter LLaMA that Subspace trained from scratch on TinyWorld, ` +
        'its own generated corpus of short stories about 12 characters, their pets, homes and 8 places.',
      parameters: model.parameterCount,
      complete: final,
      corpus: { generator: 'src/corpus', seed, documents, training_tokens: corpusTokens, eval_documents: nEval, bpe_dropout: 0.1 },
      training: {
        steps, tokens: steps * batch * seq, batch, seq, lr, schedule: 'cosine (warmup 100, floor 0.1)',
        weight_decay: 0.1, minutes: Number(minutesSoFar.toFixed(1)), adapter: `${gpu.adapterInfo.vendor} ${gpu.adapterInfo.architecture}`.trim(),
      },
      eval_loss: Number(evalLoss.toFixed(4)),
      train_loss: Number(lastLoss.toFixed(4)),
      greedy_sample: sample.text,
      history,
    };
    files.set('model-card.json', new TextEncoder().encode(`${JSON.stringify(card, null, 2)}\n`));
    await mkdir(out, { recursive: true });
    await writeFiles(out, files);
    await writeFile(path.join(out, 'README.md'), modelReadme(card));
    log(`${final ? '' : '\n'}wrote ${out} (${final ? 'final' : `checkpoint at step ${steps}`})`);
  }
}

function modelReadme(card: { name: string; description: string; eval_loss: number; training: { steps: number; tokens: number; minutes: number }; greedy_sample: string }): string {
  return `# ${card.name}\n\n${card.description}\n\nTrained with \`npm run pretrain\`: ${card.training.steps} steps, ` +
    `${card.training.tokens} tokens, ${card.training.minutes} minutes. Eval loss ${card.eval_loss} (nats per token on held-out ` +
    `TinyWorld documents).\n\nGreedy sample from BOS:\n\n> ${card.greedy_sample.replace(/\n/g, '\n> ')}\n`;
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(1);
  },
);
