/**
 * `cli train`: fine-tune a model on a text or JSONL file; writes metrics, the adapter and the merged model.
 * `cli init`: write a freshly initialised adapter (the state training starts from) without training.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { attachLoraTensors, readLoraTensors, adapterTargets } from '../adapters/lora-io.ts';
import { mergeAdapters } from '../adapters/merge.ts';
import { attachMoraTensors, moraConfigOf, readMoraTensors } from '../adapters/mora-io.ts';
import { exportHfModel } from '../io/export-hf.ts';
import { writeFiles, readModelPath } from '../io/fs-node.ts';
import { readMoraAdapter } from '../io/mora-file.ts';
import { adapterPeftType, convertPissaToLora, readPeftAdapter, writePeftAdapter, type AdapterTensors } from '../io/peft.ts';
import { readAdapterDirFiles, writeMoraAdapterDir } from '../io/peft-node.ts';
import { LlamaModel } from '../model/llama.ts';
import { prepareData } from '../train/data.ts';
import { DEFAULT_TRAIN_CONFIG, METHODS, parseTargets, SPECTRAL_METHODS, type Method, type TrainConfig } from '../train/config.ts';
import { BatchIterator, orderedBatches, type Batch } from '../train/packing.ts';
import { Trainer, type StepMetrics } from '../train/trainer.ts';
import type { ScheduleKind } from '../train/schedule.ts';
import { optionalNumber, optionalString, requireString, UsageError, type Values } from './args.ts';
import { openGpu } from './gpu.ts';
import { ProgressBar } from './progress.ts';
import { tokenizerFilesFor } from './tokenizer-files.ts';
import { spectraRound, type BaseSvd } from '../linalg/module-spectrum.ts';
import { parseLayers, parseModules } from './spectrum.ts';

export const TRAIN_OPTIONS = {
  model: { type: 'string' }, tokenizer: { type: 'string' }, data: { type: 'string' }, method: { type: 'string' },
  rank: { type: 'string' }, alpha: { type: 'string' }, rslora: { type: 'boolean' }, dropout: { type: 'string' },
  targets: { type: 'string' }, lr: { type: 'string' }, steps: { type: 'string' }, batch: { type: 'string' },
  seq: { type: 'string' }, warmup: { type: 'string' }, schedule: { type: 'string' }, seed: { type: 'string' },
  out: { type: 'string' }, adapter: { type: 'string' }, 'grad-accum': { type: 'string' },
  'weight-decay': { type: 'string' }, 'max-grad-norm': { type: 'string' }, 'eval-every': { type: 'string' },
  'eval-batches': { type: 'string' }, 'eval-fraction': { type: 'string' }, 'mora-type': { type: 'string' }, 'pissa-niter': { type: 'string' },
  'spectra-every': { type: 'string' }, 'spectra-modules': { type: 'string' }, 'spectra-layers': { type: 'string' },
  'spectra-budget-ms': { type: 'string' },
} as const;

export const INIT_OPTIONS = {
  model: { type: 'string' }, tokenizer: { type: 'string' }, method: { type: 'string' }, rank: { type: 'string' },
  alpha: { type: 'string' }, rslora: { type: 'boolean' }, dropout: { type: 'string' }, targets: { type: 'string' },
  seed: { type: 'string' }, 'mora-type': { type: 'string' }, 'pissa-niter': { type: 'string' }, out: { type: 'string' },
} as const;

/** TrainConfig from command-line values, defaults filled in. */
export function trainConfigFromArgs(v: Values): TrainConfig {
  const d = DEFAULT_TRAIN_CONFIG;
  const method = (optionalString(v, 'method') ?? 'lora') as Method;
  if (!METHODS.includes(method)) throw new UsageError(`--method must be one of ${METHODS.join(', ')}, got "${method}"`);
  const moraType = optionalNumber(v, 'mora-type', { integer: true });
  if (moraType !== undefined && moraType !== 1 && moraType !== 6) {
    throw new UsageError(`--mora-type must be 1 (sharing) or 6 (rotation), got "${String(v['mora-type'])}"`);
  }
  if (moraType !== undefined && method !== 'mora') throw new UsageError('--mora-type applies to --method mora');
  const schedule = (optionalString(v, 'schedule') ?? d.schedule) as ScheduleKind;
  if (!['constant', 'cosine', 'linear'].includes(schedule)) throw new UsageError(`--schedule must be cosine, linear or constant, got "${schedule}"`);
  let targets = d.targets;
  const spec = optionalString(v, 'targets');
  if (spec !== undefined) {
    try {
      targets = parseTargets(spec);
    } catch (e) {
      throw new UsageError(`--targets: ${(e as Error).message}`);
    }
  }
  const rank = optionalNumber(v, 'rank', { min: 1, integer: true }) ?? d.rank;
  return {
    ...d,
    method,
    rank,
    alpha: optionalNumber(v, 'alpha', { min: 0 }) ?? 2 * rank,
    rslora: v.rslora === true,
    dropout: optionalNumber(v, 'dropout', { min: 0, max: 0.99 }) ?? d.dropout,
    targets,
    moraType: moraType ?? d.moraType,
    pissaNiter: optionalNumber(v, 'pissa-niter', { min: 0, integer: true }) ?? d.pissaNiter,
    lr: optionalNumber(v, 'lr', { min: 0 }) ?? (method === 'full' ? 1e-4 : d.lr),
    steps: optionalNumber(v, 'steps', { min: 1, integer: true }) ?? d.steps,
    batch: optionalNumber(v, 'batch', { min: 1, integer: true }) ?? d.batch,
    seq: optionalNumber(v, 'seq', { min: 1, integer: true }) ?? d.seq,
    gradAccum: optionalNumber(v, 'grad-accum', { min: 1, integer: true }) ?? d.gradAccum,
    warmup: optionalNumber(v, 'warmup', { min: 0, integer: true }) ?? d.warmup,
    schedule,
    weightDecay: optionalNumber(v, 'weight-decay', { min: 0 }) ?? d.weightDecay,
    maxGradNorm: optionalNumber(v, 'max-grad-norm', { min: 0 }) ?? d.maxGradNorm,
    seed: optionalNumber(v, 'seed', { integer: true }) ?? d.seed,
    evalEvery: optionalNumber(v, 'eval-every', { min: 0, integer: true }) ?? d.evalEvery,
    evalBatches: optionalNumber(v, 'eval-batches', { min: 0, integer: true }) ?? d.evalBatches,
  };
}

export async function runTrain(v: Values): Promise<void> {
  const modelPath = requireString(v, 'model');
  const dataPath = requireString(v, 'data');
  const out = requireString(v, 'out');
  const config = trainConfigFromArgs(v);
  const evalFraction = optionalNumber(v, 'eval-fraction', { min: 0, max: 0.9 }) ?? 0.1;

  const loaded = await readModelPath(modelPath, optionalString(v, 'tokenizer'));
  const { tokenizer } = loaded;
  if (!tokenizer) throw new UsageError(`no tokenizer found for ${modelPath}: pass --tokenizer <tokenizer.bin or tokenizer.json>`);
  const text = await readFile(dataPath, 'utf8').catch((e: Error) => {
    throw new Error(`${dataPath}: cannot read (${e.message})`);
  });
  const data = prepareData(path.basename(dataPath), text, tokenizer, { seqLen: config.seq, evalFraction, seed: config.seed });
  for (const w of data.warnings.slice(0, 5)) process.stderr.write(`warning: ${dataPath}${w.line ? `:${w.line}` : ''}: ${w.message}\n`);
  const more = Object.entries(data.warningCounts).filter(([, n]) => n > 0).map(([kind, n]) => `${n} ${kind}`).join(', ');
  if (data.warnings.length > 5 || Object.values(data.warningCounts).reduce((a, b) => a + b, 0) > data.warnings.length) {
    process.stderr.write(`warnings in all: ${more}\n`);
  }
  const s = data.stats;
  process.stderr.write(
    `data: ${s.records} records, ${s.tokens} tokens (${s.lossTokens} with loss), ${s.trainWindows} train / ${s.evalWindows} eval windows of ${config.seq}\n`,
  );

  const gpu = await openGpu();
  const model = LlamaModel.upload(gpu, loaded.weights);
  const adapterDir = optionalString(v, 'adapter');
  if (adapterDir) {
    if (SPECTRAL_METHODS.includes(config.method)) {
      throw new UsageError(`--adapter with --method ${config.method}: the init rewrites the base; continue with --method lora on --model <init dir>/residual`);
    }
    if (config.method === 'full') throw new UsageError('--adapter continues training an adapter: use --method lora, dora or mora');
    const files = await readAdapterDirFiles(adapterDir);
    const kind = adapterPeftType(files);
    if (kind === 'MORA') {
      if (config.method !== 'mora') throw new UsageError(`${adapterDir} holds a MoRA adapter: use --method mora`);
      const adapter = readMoraAdapter(files, model.config);
      attachMoraTensors(model, adapter.config, adapter.tensors, config.seed, config.dropout);
      Object.assign(config, { rank: adapter.config.r, moraType: adapter.config.moraType, targets: adapter.config.targetModules });
    } else {
      if (config.method !== 'lora' && config.method !== 'dora') throw new UsageError(`${adapterDir} holds a ${kind} adapter: use --method lora or dora`);
      const adapter = readPeftAdapter(files, model.config);
      const want = adapter.config.useDora ? 'dora' : 'lora';
      if (config.method !== want) throw new UsageError(`${adapterDir} holds a ${adapter.config.useDora ? 'DoRA' : 'LoRA'} adapter: use --method ${want}`);
      attachLoraTensors(model, adapter.config, adapter.tensors, config.seed);
      Object.assign(config, {
        rank: adapter.config.r, alpha: adapter.config.loraAlpha, rslora: adapter.config.useRslora,
        dropout: adapter.config.loraDropout, targets: adapter.config.targetModules,
      });
    }
  }
  const trainer = await Trainer.init(model, config); // PiSSA/MiLoRA: SVD init, base → W_res
  // Spectra during training: every --spectra-every steps (and after the last step), between steps, for a
  // small subset (default: the adapted targets of the first and last layer); W₀'s SVDs are computed once.
  const spectraEvery = optionalNumber(v, 'spectra-every', { min: 0, integer: true }) ?? 0;
  if (spectraEvery > 0 && config.method === 'full') throw new UsageError('--spectra-every needs an adapter method, not full fine-tuning');
  const spectraLayers = parseLayers(optionalString(v, 'spectra-layers') ?? [...new Set([0, model.config.nLayers - 1])].join(','), model.config.nLayers, 'spectra-layers');
  const spectraModules = parseModules(optionalString(v, 'spectra-modules') ?? config.targets.join(','), 'spectra-modules');
  // --spectra-budget-ms caps a round; modules it did not reach come first in the next round.
  const spectraBudget = optionalNumber(v, 'spectra-budget-ms', { min: 0 }) ?? 2000;
  const baseCache = new Map<string, BaseSvd>();
  const spectraCursor = { cursor: 0 };
  const spectraRecord = async (step: number): Promise<string> => {
    const t0 = performance.now();
    const { spectra, pending } = await spectraRound(model, spectraLayers, spectraModules, spectraCursor, spectraBudget, {
      baseCache, initial: trainer.spectral?.initial,
    });
    return `${JSON.stringify({ step, spectra, spectra_ms: performance.now() - t0, ...(pending > 0 ? { spectra_pending: pending } : {}) })}\n`;
  };
  process.stderr.write(
    `model: ${loaded.source}; ${model.parameterCount} parameters, training ${trainer.trainableCount} (${config.method})\n`,
  );

  await mkdir(out, { recursive: true });
  const metricsFile = path.join(out, 'metrics.jsonl');
  await writeFile(metricsFile, '');
  await writeFile(path.join(out, 'run.json'), `${JSON.stringify({ model: modelPath, data: dataPath, config }, null, 2)}\n`);

  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write('\nstopping after this step and saving (Ctrl-C again to quit without saving)\n');
  };
  process.on('SIGINT', onSigint);

  const batches = new BatchIterator(data.train, config.batch, config.seed);
  const evalBatches = (): Batch[] => {
    const all = [...orderedBatches(data.eval, config.batch, tokenizer.eosId)];
    return config.evalBatches > 0 ? all.slice(0, config.evalBatches) : all;
  };
  const progress = new ProgressBar(config.steps);
  const tokensPerStep = config.batch * config.seq * config.gradAccum;
  const start = performance.now();
  let last: StepMetrics | undefined;
  let lastEval: number | undefined;
  let stepStart = start;
  for (let step = 1; step <= config.steps && !stopRequested; step++) {
    trainer.recordStep(Array.from({ length: config.gradAccum }, () => batches.next()));
    const [m] = await trainer.readMetrics();
    const now = performance.now();
    const record: Record<string, number> = {
      step: m!.step, loss: m!.loss, lr: m!.lr, grad_norm: m!.gradNorm,
      tokens_per_s: tokensPerStep / ((now - stepStart) / 1000),
    };
    stepStart = now;
    const evalNow = data.eval.length > 0 && ((config.evalEvery > 0 && step % config.evalEvery === 0) || step === config.steps);
    if (evalNow) record.eval_loss = lastEval = await trainer.evaluate(evalBatches());
    await appendFile(metricsFile, `${JSON.stringify(record)}\n`);
    if (spectraEvery > 0 && (step % spectraEvery === 0 || step === config.steps)) {
      await appendFile(metricsFile, await spectraRecord(m!.step));
      stepStart = performance.now(); // the spectra do not count against the next step's tokens/s
    }
    last = m;
    progress.update(step, m!.loss, (tokensPerStep * step) / ((now - start) / 1000), (now - start) / 1000);
  }
  if (stopRequested && data.eval.length > 0 && last) {
    lastEval = await trainer.evaluate(evalBatches());
    await appendFile(metricsFile, `${JSON.stringify({ step: last.step, eval_loss: lastEval })}\n`);
  }
  if (stopRequested && spectraEvery > 0 && last && last.step % spectraEvery !== 0) await appendFile(metricsFile, await spectraRecord(last.step));
  progress.done(
    `trained ${last?.step ?? 0} steps in ${((performance.now() - start) / 1000).toFixed(1)} s; final loss ${last?.loss.toFixed(4)}` +
      (lastEval !== undefined ? `, eval loss ${lastEval.toFixed(4)}` : ''),
  );

  // ---- outputs ------------------------------------------------------------------------------
  const tok = await tokenizerFilesFor(tokenizer, loaded.tokenizerFile, model.config.maxSeqLen);
  // PiSSA/MiLoRA: the adapter is converted ([A; A₀], [B, −B₀]) so it applies to the ORIGINAL base; merged/ is W_res + s·B·A.
  const wroteAdapter = await writeAdapterDir(model, config, path.resolve(modelPath), path.join(out, 'adapter'), trainer.spectral?.initial);
  mergeAdapters(model);
  await writeFiles(path.join(out, 'merged'), exportHfModel(await model.readWeights(), tok.json, tok.config));
  process.stderr.write(`wrote ${metricsFile}${wroteAdapter ? `, ${path.join(out, 'adapter')}` : ''}, ${path.join(out, 'merged')}\n`);
  process.off('SIGINT', onSigint);
  trainer.dispose();
  model.dispose();
  gpu.destroy();
}

/**
 * Write the model's adapters to `dir`: peft files for LoRA and DoRA (use_dora, lora_magnitude_vector), the project's MoRA adapter file for MoRA
 * (peft cannot load MoRA). PiSSA/MiLoRA: with `initial` (A₀, B₀) the adapter is converted by convertPissaToLora
 * (r → 2r) so it applies to the ORIGINAL base; without it the plain A, B are written (they apply to the residual
 * base W_res only), with init_lora_weights true either way. Returns false when the method has no adapter (full fine-tuning).
 */
export async function writeAdapterDir(
  model: LlamaModel, config: TrainConfig, baseModelName: string, dir: string, initial?: AdapterTensors,
): Promise<boolean> {
  if (config.method === 'lora' || config.method === 'dora' || SPECTRAL_METHODS.includes(config.method)) {
    let peftConfig = {
      r: config.rank, loraAlpha: config.alpha, loraDropout: config.dropout, targetModules: adapterTargets(model),
      useRslora: config.rslora, useDora: config.method === 'dora', baseModelName,
    };
    let tensors = await readLoraTensors(model);
    if (SPECTRAL_METHODS.includes(config.method) && initial) ({ config: peftConfig, tensors } = convertPissaToLora(peftConfig, tensors, initial));
    const files = writePeftAdapter(peftConfig, tensors, model.config);
    await writeFiles(dir, files);
    return true;
  }
  if (config.method === 'mora') {
    await writeMoraAdapterDir(dir, moraConfigOf(model, baseModelName), await readMoraTensors(model), model.config);
    return true;
  }
  return false;
}

/**
 * `cli init`: the adapter a training run of `--method` would start from, written to <out>/adapter.
 * PiSSA/MiLoRA: <out>/adapter holds the UNconverted A, B (init_lora_weights true, not "pissa": peft would
 * re-run the SVD and rewrite the base); it applies to <out>/residual (HF layout, targeted weights W − s·B·A).
 */
export async function runInit(v: Values): Promise<void> {
  const modelPath = requireString(v, 'model');
  const out = requireString(v, 'out');
  const config = trainConfigFromArgs(v);
  if (config.method === 'full') throw new UsageError('init writes a fresh adapter: use --method lora, dora, mora, pissa or milora');
  const loaded = await readModelPath(modelPath, optionalString(v, 'tokenizer'));
  config.seq = Math.min(config.seq, loaded.weights.config.maxSeqLen); // no data: only the adapters matter
  const gpu = await openGpu();
  const model = LlamaModel.upload(gpu, loaded.weights);
  const trainer = await Trainer.init(model, config); // creates the adapters exactly as training would
  const dir = path.join(out, 'adapter');
  await writeAdapterDir(model, config, path.resolve(modelPath), dir);
  let residual = '';
  if (SPECTRAL_METHODS.includes(config.method)) {
    const tok = await tokenizerFilesFor(loaded.tokenizer, loaded.tokenizerFile, model.config.maxSeqLen);
    residual = path.join(out, 'residual');
    await writeFiles(residual, exportHfModel(await model.readWeights(), tok.json, tok.config)); // base params hold W_res
    for (const r of trainer.spectral?.reports ?? []) if (!r.converged) process.stderr.write(`warning: ${r.name}: SVD hit the sweep cap (${r.sweeps} sweeps)\n`);
  }
  process.stderr.write(
    `wrote ${dir}${residual ? ` and ${residual} (use them together)` : ''}: ${config.method} adapter on ${config.targets.join(', ')}, ${trainer.trainableCount} trainable parameters\n`,
  );
  trainer.dispose();
  model.dispose();
  gpu.destroy();
}
