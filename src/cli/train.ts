/**
 * `cli train`: fine-tune a model on a text or JSONL file; writes metrics, the adapter and the merged model.
 * With --out it also keeps <out>/checkpoint/ (see checkpoint-dir.ts), which `train --resume <out>` continues from.
 * `cli init`: write a freshly initialised adapter (the state training starts from) without training.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { attachLoraTensors, readLoraTensors, adapterTargets } from '../adapters/lora-io.ts';
import { mergeAdapters } from '../adapters/merge.ts';
import { attachMoraTensors, moraConfigOf, readMoraTensors } from '../adapters/mora-io.ts';
import { exportHfModel } from '../io/export-hf.ts';
import { writeFiles, readModelPath } from '../io/fs-node.ts';
import { planMemory } from './memory-plan.ts';
import { readMoraAdapter } from '../io/mora-file.ts';
import { adapterPeftType, convertPissaToLora, readPeftAdapter, writePeftAdapter, type AdapterTensors } from '../io/peft.ts';
import { readAdapterDirFiles, writeMoraAdapterDir } from '../io/peft-node.ts';
import type { LlamaModel } from '../model/llama.ts';
import { loadModel } from '../model/load-checkpoint.ts';
import { hasStored16 } from '../io/weight-source.ts';
import { formatOf, prepareData, type PreparedData } from '../train/data.ts';
import { decodeDataText } from '../train/utf8.ts';
import {
  DEFAULT_TRAIN_CONFIG, METHODS, parseTargets, SPECTRAL_METHODS, validateTrainConfig, type Method, type TrainConfig,
} from '../schema/train-config.ts';
import { methodDefaults } from '../schema/method-defaults.ts';
import { countTargets, type PackedWindow } from '../train/packing.ts';
import { runTraining } from '../train/run-loop.ts';
import { type RunStep } from '../schema/metrics.ts';
import { Trainer } from '../train/trainer.ts';
import { FieldError } from '../schema/field-error.ts';
import { isSchedule, SCHEDULES, type ScheduleKind } from '../schema/schedule.ts';
import { optionalNumber, optionalString, requireString, UsageError, type Values } from './args.ts';
import { readCheckpointDir, removeCheckpointDir, sha256Hex, TENSORS_FILE, writeCheckpointDir, writeFileAtomic, type RunState } from './checkpoint-dir.ts';
import { openGpu } from '../kernels/node-gpu.ts';
import { HUB_OPTIONS, modelName, resolveModelArg } from './model-arg.ts';
import { ProgressBar } from './progress.ts';
import { tokenizerFilesFor } from './tokenizer-files.ts';
import { spectraRound, type BaseSvd } from '../spectra/module-spectrum.ts';
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
  'spectra-budget-ms': { type: 'string' }, resume: { type: 'string' }, 'checkpoint-every': { type: 'string' },
  probe: { type: 'string' }, recompute: { type: 'boolean' }, 'gpu-budget': { type: 'string' }, 'merged-f32': { type: 'boolean' }, ...HUB_OPTIONS,
} as const;

export const INIT_OPTIONS = {
  model: { type: 'string' }, tokenizer: { type: 'string' }, method: { type: 'string' }, rank: { type: 'string' },
  alpha: { type: 'string' }, rslora: { type: 'boolean' }, dropout: { type: 'string' }, targets: { type: 'string' },
  seed: { type: 'string' }, 'mora-type': { type: 'string' }, 'pissa-niter': { type: 'string' }, out: { type: 'string' }, 'merged-f32': { type: 'boolean' }, ...HUB_OPTIONS,
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
  if (!isSchedule(schedule)) throw new UsageError(`--schedule must be one of ${SCHEDULES.join(', ')}, got "${schedule}"`);
  let targets = d.targets;
  const spec = optionalString(v, 'targets');
  if (spec !== undefined) {
    try {
      targets = parseTargets(spec);
    } catch (e) {
      throw new UsageError(`--targets: ${e instanceof FieldError ? e.problem : (e as Error).message}`);
    }
  }
  const rank = optionalNumber(v, 'rank', { min: 1, integer: true }) ?? d.rank;
  const rslora = v.rslora === true;
  const defaults = methodDefaults(method, rslora); // the studio's measured per-method lr and steps
  return {
    ...d,
    method,
    rank,
    alpha: optionalNumber(v, 'alpha', { min: 0 }) ?? 2 * rank,
    rslora,
    dropout: optionalNumber(v, 'dropout', { min: 0, max: 0.99 }) ?? d.dropout,
    targets,
    moraType: moraType ?? d.moraType,
    pissaNiter: optionalNumber(v, 'pissa-niter', { min: 0, integer: true }) ?? d.pissaNiter,
    lr: optionalNumber(v, 'lr', { min: 0 }) ?? defaults.lr,
    steps: optionalNumber(v, 'steps', { min: 1, integer: true }) ?? defaults.steps,
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
    recompute: v.recompute === true,
  };
}

/** Flags that set a TrainConfig field. A resumed run takes these from state.json: repeating a value is fine, changing it is not. */
const CONFIG_FLAGS: Record<string, keyof TrainConfig> = {
  method: 'method', rank: 'rank', alpha: 'alpha', rslora: 'rslora', dropout: 'dropout', targets: 'targets', lr: 'lr',
  batch: 'batch', seq: 'seq', warmup: 'warmup', schedule: 'schedule', seed: 'seed', 'grad-accum': 'gradAccum',
  'weight-decay': 'weightDecay', 'max-grad-norm': 'maxGradNorm', 'eval-every': 'evalEvery', 'eval-batches': 'evalBatches',
  'mora-type': 'moraType', 'pissa-niter': 'pissaNiter',
};

/** Refuse flags that would change a resumed run's settings (those in `state`, read from `stateFile`). */
function checkResumeFlags(v: Values, state: RunState, stateFile: string): void {
  if (optionalString(v, 'adapter') !== undefined) {
    throw new UsageError(`--adapter with --resume: the checkpoint (${stateFile}) already holds the adapter being trained`);
  }
  const keep = 'a resumed run keeps its settings; only --steps (and --checkpoint-every, --spectra-*) may be given anew';
  const given = Object.keys(CONFIG_FLAGS).filter((f) => v[f] !== undefined);
  if (given.length > 0) {
    const picked: Values = { method: state.config.method };
    for (const f of given) picked[f] = v[f];
    const parsed = trainConfigFromArgs(picked);
    for (const f of given) {
      const key = CONFIG_FLAGS[f]!;
      const a = parsed[key], b = state.config[key];
      const same = Array.isArray(a) && Array.isArray(b) ? [...a].sort().join() === [...b].sort().join() : a === b;
      if (!same) throw new UsageError(`--${f} ${String(v[f])} is not the resumed run's ${key} (${JSON.stringify(b)} in ${stateFile}): ${keep}`);
    }
  }
  const evalFraction = optionalNumber(v, 'eval-fraction', { min: 0, max: 0.9 });
  if (evalFraction !== undefined && evalFraction !== state.data.eval_fraction) {
    throw new UsageError(`--eval-fraction ${evalFraction} is not the resumed run's (${state.data.eval_fraction} in ${stateFile}): ${keep}`);
  }
  // The forgetting probe is part of the run: its step-0 loss is in metrics.jsonl, later evals continue it.
  const probe = optionalString(v, 'probe');
  if (state.probe && probe === undefined) {
    throw new UsageError(
      `the resumed run measured the forgetting probe ${state.probe.file} (field "probe" in ${stateFile}): pass --probe ${state.probe.file} (the same file) to resume it`,
    );
  }
  if (!state.probe && probe !== undefined) {
    throw new UsageError(`--probe ${probe} with --resume: the run had no forgetting probe (no field "probe" in ${stateFile}), so it has no step-0 probe loss to continue; ${keep}`);
  }
}

/** Warnings a run prints to the terminal; the others are counted. */
const PRINTED_WARNINGS = 5;

/** Print the first warnings of a prepared file (`file` as given), how many were left out, and the counts of them all (`what`: which file). */
function reportWarnings(file: string, data: PreparedData, what = ''): void {
  const printed = data.warnings.slice(0, PRINTED_WARNINGS);
  for (const w of printed) process.stderr.write(`warning: ${file}${w.line ? `:${w.line}` : ''}: ${w.message}\n`);
  const total = Object.values(data.warningCounts).reduce((a, b) => a + b, 0);
  if (total > printed.length) {
    const counts = Object.entries(data.warningCounts).filter(([, n]) => n > 0).map(([kind, n]) => `${n} ${kind}`).join(', ');
    process.stderr.write(`warning: … and ${total - printed.length} more warnings${what} (${counts} in all)\n`);
  }
}

/** The last value of `key` in the metrics lines `text` (a resumed run's kept lines), if any. */
function lastMetric(text: string, key: string, step?: number): number | undefined {
  let found: number | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const m = JSON.parse(line) as Record<string, unknown>;
      if (typeof m[key] === 'number' && (step === undefined || m.step === step)) found = m[key];
    } catch {
      // not ours to judge here
    }
  }
  return found;
}

/** The first `n` lines of `text` (each ending in a newline), or undefined when it has fewer. */
function firstLines(text: string, n: number): string | undefined {
  let end = 0;
  for (let i = 0; i < n; i++) {
    const nl = text.indexOf('\n', end);
    if (nl < 0) return undefined;
    end = nl + 1;
  }
  return text.slice(0, end);
}

export async function runTrain(v: Values): Promise<void> {
  const modelPath = requireString(v, 'model');
  const dataPath = requireString(v, 'data');
  const resumeFrom = optionalString(v, 'resume');
  if (resumeFrom === '') throw new UsageError('--resume takes the --out directory of the run to continue');
  const outFlag = optionalString(v, 'out');
  if (resumeFrom !== undefined && outFlag !== undefined && path.resolve(outFlag) !== path.resolve(resumeFrom)) {
    throw new UsageError(`--out ${outFlag} is not --resume ${resumeFrom}: a resumed run goes on writing to its own directory`);
  }
  const out = resumeFrom ?? requireString(v, 'out');
  const checkpointDir = path.join(out, 'checkpoint');
  const checkpointEvery = optionalNumber(v, 'checkpoint-every', { min: 0, integer: true }) ?? 0;
  const metricsFile = path.join(out, 'metrics.jsonl');

  // --resume: settings, tensors and position come from <out>/checkpoint. Everything is checked before any file is touched.
  const saved = resumeFrom !== undefined ? await readCheckpointDir(checkpointDir) : undefined;
  if (saved?.warning) process.stderr.write(`warning: ${saved.warning}\n`);
  let settings: TrainConfig;
  let evalFraction: number;
  if (saved) {
    checkResumeFlags(v, saved.state, saved.stateFile);
    settings = { ...saved.checkpoint.config, targets: [...saved.checkpoint.config.targets] };
    const steps = optionalNumber(v, 'steps', { min: 1, integer: true });
    if (steps !== undefined && steps < saved.state.step) {
      throw new UsageError(`--steps ${steps} is lower than the checkpoint's step ${saved.state.step} (${saved.stateFile}): a resumed run keeps or raises its total`);
    }
    settings.steps = steps ?? settings.steps;
    evalFraction = saved.state.data.eval_fraction;
  } else {
    settings = trainConfigFromArgs(v);
    evalFraction = optionalNumber(v, 'eval-fraction', { min: 0, max: 0.9 }) ?? 0.1;
  }

  const loaded = await readModelPath(await resolveModelArg(v), optionalString(v, 'tokenizer'));
  const { tokenizer } = loaded;
  if (!tokenizer) throw new UsageError(`no tokenizer found for ${modelPath}: pass --tokenizer <tokenizer.bin or tokenizer.json>`);
  if (saved) {
    try {
      validateTrainConfig(settings, loaded.base.config);
    } catch (e) {
      throw new Error(`${saved.stateFile}: config.${(e as Error).message}`);
    }
  }
  const dataBytes = await readFile(dataPath).catch((e: Error) => {
    throw new Error(`${dataPath}: cannot read (${e.message})`);
  });
  const dataSha = sha256Hex(dataBytes);
  // --probe: the forgetting probe, text the base model already knew; its loss is measured at step 0 and with every eval.
  const probePath = optionalString(v, 'probe');
  if (probePath === '') throw new UsageError('--probe takes a .txt or .jsonl file of text the base model already knew');
  const probeBytes = probePath === undefined ? undefined : await readFile(probePath).catch((e: Error) => {
    throw new Error(`${probePath}: cannot read (${e.message})`);
  });
  const probeSha = probeBytes && sha256Hex(probeBytes);
  let keptMetrics = '';
  if (saved) {
    const d = saved.state.data;
    if (dataSha !== d.sha256) {
      throw new Error(`${saved.stateFile}: data sha256 ${d.sha256} (${d.file}) is not that of --data ${dataPath} (${dataSha}): resume with the data the run trained on`);
    }
    if (formatOf(dataPath) !== formatOf(d.file)) {
      throw new Error(`--data ${dataPath} would be read as ${formatOf(dataPath)}, the run read ${d.file} as ${formatOf(d.file)} (${saved.stateFile}): give the file the same extension`);
    }
    const p = saved.state.probe;
    if (p && probePath !== undefined) { // one without the other was refused with the flags
      if (probeSha !== p.sha256) {
        throw new Error(`${saved.stateFile}: probe sha256 ${p.sha256} (${p.file}) is not that of --probe ${probePath} (${probeSha}): resume with the probe the run measured`);
      }
      if (formatOf(probePath) !== formatOf(p.file)) {
        throw new Error(`--probe ${probePath} would be read as ${formatOf(probePath)}, the run read ${p.file} as ${formatOf(p.file)} (${saved.stateFile}): give the file the same extension`);
      }
    }
    const lines = saved.state.metrics_lines;
    const text = await readFile(metricsFile, 'utf8').catch((e: Error) => {
      throw new Error(`${metricsFile}: cannot read (${e.message}); the checkpoint at step ${saved.state.step} continues its first ${lines} lines`);
    });
    const kept = firstLines(text, lines);
    if (kept === undefined) {
      throw new Error(`${metricsFile}: has fewer lines than the ${lines} the checkpoint at step ${saved.state.step} continues (${saved.stateFile}, metrics_lines)`);
    }
    keptMetrics = kept;
  }
  const text = decodeDataText(path.basename(dataPath), dataBytes);
  const data = prepareData(path.basename(dataPath), text, tokenizer, { seqLen: settings.seq, evalFraction, seed: settings.seed });
  reportWarnings(dataPath, data);
  const s = data.stats;
  process.stderr.write(
    `data: ${s.records} records, ${s.tokens} tokens (${s.lossTokens} with loss), ${s.trainWindows} train / ${s.evalWindows} eval windows of ${settings.seq}\n`,
  );
  // The probe is tokenised like the training data (same --seq), every window kept: nothing is held out.
  let probe: PackedWindow[] = [];
  let probeInfo: { file: string; windows: number; tokens: number } | undefined;
  if (probePath !== undefined) {
    const p = prepareData(path.basename(probePath), decodeDataText(path.basename(probePath), probeBytes!), tokenizer, { seqLen: settings.seq, evalFraction: 0, seed: 0 });
    reportWarnings(probePath, p, ' in the probe');
    probe = p.train;
    probeInfo = { file: probePath, windows: probe.length, tokens: countTargets(probe) };
    process.stderr.write(
      `probe: ${p.stats.records} records, ${probeInfo.tokens} tokens with loss in ${probeInfo.windows} windows of ${settings.seq}; ` +
        `its loss is measured at step 0 and with every eval\n`,
    );
  }

  const gpu = await openGpu();
  const { model, fingerprint } = await loadModel(gpu, loaded.base); // streamed from the files, one tensor at a time
  if (saved && fingerprint !== saved.state.model_fingerprint) {
    throw new Error(`${saved.stateFile}: model_fingerprint ${saved.state.model_fingerprint} is not the loaded model's ${fingerprint} (--model ${modelPath}): resume with the model the run trained`);
  }
  // --recompute (it changes memory, not results: a resumed run may turn it on) and --gpu-budget's automatic choice.
  const budgetMiB = optionalNumber(v, 'gpu-budget', { min: 1 });
  const memory = planMemory(settings, model.config, model.parameterCount, hasStored16(loaded.base) ? '16-bit' : 'f32', v.recompute === true || settings.recompute === true, budgetMiB && budgetMiB * 2 ** 20);
  settings.recompute = memory.recompute;
  for (const line of memory.lines) process.stderr.write(`${line}\n`);
  const adapterDir = saved ? saved.state.adapter : optionalString(v, 'adapter');
  let trainer: Trainer;
  if (saved) {
    try {
      // PiSSA/MiLoRA: W_res rebuilt from A₀, B₀, no SVD.
      trainer = await Trainer.restore(model, { ...saved.checkpoint, config: { ...saved.checkpoint.config, recompute: settings.recompute } });
    } catch (e) {
      throw new Error(`${path.join(checkpointDir, TENSORS_FILE)}: ${(e as Error).message}`);
    }
    trainer.setTotalSteps(settings.steps);
    if (adapterDir !== undefined && settings.dropout > 0) {
      process.stderr.write(`warning: the run continued --adapter ${adapterDir} with dropout ${settings.dropout}: from here its dropout masks differ from an uninterrupted run's\n`);
    }
  } else {
    if (adapterDir) {
      if (SPECTRAL_METHODS.includes(settings.method)) {
        throw new UsageError(`--adapter with --method ${settings.method}: the init rewrites the base; continue with --method lora on --model <init dir>/residual`);
      }
      if (settings.method === 'full') throw new UsageError('--adapter continues training an adapter: use --method lora, dora or mora');
      const files = await readAdapterDirFiles(adapterDir);
      const kind = adapterPeftType(files);
      if (kind === 'MORA') {
        if (settings.method !== 'mora') throw new UsageError(`${adapterDir} holds a MoRA adapter: use --method mora`);
        const adapter = readMoraAdapter(files, model.config);
        attachMoraTensors(model, adapter.config, adapter.tensors, settings.seed, settings.dropout);
        Object.assign(settings, { rank: adapter.config.r, moraType: adapter.config.moraType, targets: adapter.config.targetModules });
      } else {
        if (settings.method !== 'lora' && settings.method !== 'dora') throw new UsageError(`${adapterDir} holds a ${kind} adapter: use --method lora or dora`);
        const adapter = readPeftAdapter(files, model.config);
        const want = adapter.config.useDora ? 'dora' : 'lora';
        if (settings.method !== want) throw new UsageError(`${adapterDir} holds a ${adapter.config.useDora ? 'DoRA' : 'LoRA'} adapter: use --method ${want}`);
        attachLoraTensors(model, adapter.config, adapter.tensors, settings.seed);
        Object.assign(settings, {
          rank: adapter.config.r, alpha: adapter.config.loraAlpha, rslora: adapter.config.useRslora,
          dropout: adapter.config.loraDropout, targets: adapter.config.targetModules,
        });
      }
    }
    trainer = await Trainer.init(model, settings); // PiSSA/MiLoRA: SVD init, base → W_res
  }
  const config = trainer.config;
  const startStep = trainer.step;
  // Spectra during training: every --spectra-every steps (and after the last step), between steps, for a
  // small subset (default: the targets of the first and last layer; for full fine-tuning every module
  // counts as trained, ΔW = W − W₀); W₀'s SVDs are computed once.
  const spectraEvery = optionalNumber(v, 'spectra-every', { min: 0, integer: true }) ?? 0;
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
      // Full fine-tuning: ΔW = W − W₀ against the weights as loaded, read again from the files (the GPU copy trains).
      original: config.method === 'full' ? loaded.base : undefined,
    });
    const spectraMs = performance.now() - t0;
    const peak = gpu.pool.stats().peakBytes; // the run's peak so far, spectra included
    return `${JSON.stringify({ step, spectra, spectra_ms: spectraMs, ...(pending > 0 ? { spectra_pending: pending } : {}), peak_gpu_bytes: peak })}\n`;
  };
  process.stderr.write(
    `model: ${loaded.source}; ${model.parameterCount} parameters, training ${trainer.trainableCount} (${config.method})\n`,
  );
  if (saved) {
    process.stderr.write(
      startStep < config.steps
        ? `resuming ${out} at step ${startStep} of ${config.steps}\n`
        : `the checkpoint in ${out} is at step ${startStep} of ${config.steps}: nothing to train (--steps N raises the total); writing the outputs\n`,
    );
  }

  await mkdir(out, { recursive: true });
  let metricsLines: number;
  if (saved) {
    await writeFileAtomic(metricsFile, keptMetrics); // drop what was logged after the checkpoint
    metricsLines = saved.state.metrics_lines;
  } else {
    const replaced = await removeCheckpointDir(checkpointDir); // a new run in the same --out: the old checkpoint no longer matches
    if (replaced !== undefined) process.stderr.write(`note: removed the previous run's checkpoint (step ${replaced}) from ${checkpointDir}\n`);
    await writeFile(metricsFile, '');
    metricsLines = 0;
  }
  const appendMetrics = async (line: string): Promise<void> => {
    await appendFile(metricsFile, line);
    metricsLines++;
  };
  const runJson = {
    model: modelPath, data: dataPath, config, ...(saved ? { resumed_from_step: startStep } : {}), ...(probeInfo ? { probe: probeInfo } : {}),
  };
  const runJsonFile = path.join(out, 'run.json');
  await writeFile(runJsonFile, `${JSON.stringify(runJson, null, 2)}\n`);

  // Checkpoints: every --checkpoint-every steps, and at the end (also after Ctrl-C).
  const runInfo = {
    model_fingerprint: fingerprint,
    data: { file: dataPath, sha256: dataSha, eval_fraction: evalFraction },
    ...(adapterDir !== undefined ? { adapter: adapterDir } : {}),
    ...(probePath !== undefined ? { probe: { file: probePath, sha256: probeSha! } } : {}),
  };
  let savedAt = saved ? { step: startStep, lines: metricsLines } : undefined;
  const saveCheckpoint = async (): Promise<void> => {
    if (savedAt && savedAt.step === trainer.step && savedAt.lines === metricsLines) return;
    await writeCheckpointDir(checkpointDir, await trainer.checkpoint(), { ...runInfo, metrics_lines: metricsLines });
    savedAt = { step: trainer.step, lines: metricsLines };
  };

  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write('\nstopping after this step and saving (Ctrl-C again to quit without saving)\n');
  };
  process.on('SIGINT', onSigint);

  let lastEval: number | undefined;
  let lastProbe: number | undefined; // like lastEval: measured in this session
  let probeAtStart = saved ? lastMetric(keptMetrics, 'probe_loss', 0) : undefined;
  const progress = new ProgressBar(config.steps, startStep);
  const tokensPerStep = config.batch * config.seq * config.gradAccum;
  const start = performance.now();
  let last: RunStep | undefined;
  // A step's line is written once its eval (if any) has joined it, before anything that follows it.
  let pendingLine: Record<string, number> | null = null;
  const writePending = async (): Promise<void> => {
    if (pendingLine) await appendMetrics(`${JSON.stringify(pendingLine)}\n`);
    pendingLine = null;
  };
  let spectraAt = startStep;
  const outcome = await runTraining(
    {
      trainer, train: data.train, eval: data.eval, probe, padId: tokenizer.eosId, evalAtStart: !saved && probe.length > 0,
      checkpointEvery, readEveryMs: 250,
    },
    {
      async steps(points) {
        for (const p of points) {
          await writePending();
          pendingLine = { step: p.step, loss: p.loss, lr: p.lr, grad_norm: p.gradNorm, tokens_per_s: p.tokensPerSec, peak_gpu_bytes: p.peakGpuBytes };
        }
        last = points.at(-1);
        const now = performance.now();
        progress.update(last!.step, last!.loss, (tokensPerStep * (last!.step - startStep)) / ((now - start) / 1000), (now - start) / 1000);
      },
      async eval(point) {
        const r: { eval_loss?: number; probe_loss?: number } = {};
        if (data.eval.length > 0) r.eval_loss = lastEval = point.loss;
        if (point.probe !== undefined) r.probe_loss = lastProbe = point.probe;
        if (point.step === 0) {
          // The base model's losses before the first step: forgetting is measured from here (a resume has this line already).
          probeAtStart = r.probe_loss;
          await appendMetrics(`${JSON.stringify({ step: 0, ...r })}\n`);
          process.stderr.write(
            `step 0 (before training):${r.eval_loss !== undefined ? ` eval loss ${r.eval_loss.toFixed(4)},` : ''} probe loss ${r.probe_loss!.toFixed(4)}\n`,
          );
        } else if (pendingLine?.step === point.step) Object.assign(pendingLine, r);
        else await appendMetrics(`${JSON.stringify({ step: point.step, ...r })}\n`);
      },
      async afterStep(step, final) {
        await writePending();
        if (spectraEvery > 0 && spectraAt !== step && (step % spectraEvery === 0 || final)) {
          spectraAt = step;
          await appendMetrics(await spectraRecord(step));
        }
      },
      async checkpoint() {
        await writePending();
        await saveCheckpoint();
      },
      boundary: () => (stopRequested ? 'stop' : 'go'),
    },
  );
  await writePending();
  const trained = outcome.steps - startStep;
  progress.done(
    `trained ${trained} steps${startStep > 0 && last ? ` (${startStep + 1}–${last.step})` : ''} in ${((performance.now() - start) / 1000).toFixed(1)} s` +
      (last ? `; final loss ${last.loss.toFixed(4)}` : '') + (lastEval !== undefined ? `, eval loss ${lastEval.toFixed(4)}` : '') +
      (lastProbe !== undefined ? `, probe loss ${lastProbe.toFixed(4)}${probeAtStart !== undefined ? ` (step 0: ${probeAtStart.toFixed(4)})` : ''}` : ''),
  );
  // The final probe loss (a resume with nothing to train: the checkpoint's last) and the GPU memory: the pool's peak
  // in this session beside the estimate.
  const probeLoss = probeInfo ? { probe_loss: lastProbe ?? lastMetric(keptMetrics, 'probe_loss') ?? null } : {};
  const gpuMemory = { peak_gpu_bytes: outcome.peakGpuBytes, estimated_gpu_bytes: memory.estimate.total };
  await writeFile(runJsonFile, `${JSON.stringify({ ...runJson, ...probeLoss, ...gpuMemory }, null, 2)}\n`);

  // ---- outputs ------------------------------------------------------------------------------
  const tok = await tokenizerFilesFor(tokenizer, loaded.tokenizerFile, model.config.maxSeqLen);
  // PiSSA/MiLoRA: the adapter is converted ([A; A₀], [B, −B₀]) so it applies to the ORIGINAL base; merged/ is W_res + s·B·A.
  const wroteAdapter = await writeAdapterDir(model, config, modelName(modelPath), path.join(out, 'adapter'), trainer.spectral?.initial);
  mergeAdapters(model);
  await writeFiles(path.join(out, 'merged'), exportHfModel(await model.readWeights(), tok.json, tok.config, mergedDtypes(model, v)));
  process.stderr.write(
    `wrote ${metricsFile}${wroteAdapter ? `, ${path.join(out, 'adapter')}` : ''}, ${path.join(out, 'merged')}, ${checkpointDir} (step ${trainer.step})\n`,
  );
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

/** The dtypes merged/ and residual/ write: the loaded file's (BF16/F16 matrices stay 16-bit), or all F32 with --merged-f32. */
const mergedDtypes = (model: LlamaModel, v: Values): ReadonlyMap<string, 'bf16' | 'f16'> => (v['merged-f32'] === true ? new Map() : model.fileDtypes);

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
  const loaded = await readModelPath(await resolveModelArg(v), optionalString(v, 'tokenizer'));
  config.seq = Math.min(config.seq, loaded.base.config.maxSeqLen); // no data: only the adapters matter
  const gpu = await openGpu();
  const { model } = await loadModel(gpu, loaded.base);
  const trainer = await Trainer.init(model, config); // creates the adapters exactly as training would
  const dir = path.join(out, 'adapter');
  await writeAdapterDir(model, config, modelName(modelPath), dir);
  let residual = '';
  if (SPECTRAL_METHODS.includes(config.method)) {
    const tok = await tokenizerFilesFor(loaded.tokenizer, loaded.tokenizerFile, model.config.maxSeqLen);
    residual = path.join(out, 'residual');
    await writeFiles(residual, exportHfModel(await model.readWeights(), tok.json, tok.config, mergedDtypes(model, v))); // base params hold W_res
    for (const r of trainer.spectral?.reports ?? []) if (!r.converged) process.stderr.write(`warning: ${r.name}: SVD hit the sweep cap (${r.sweeps} sweeps)\n`);
  }
  process.stderr.write(
    `wrote ${dir}${residual ? ` and ${residual} (use them together)` : ''}: ${config.method} adapter on ${config.targets.join(', ')}, ${trainer.trainableCount} trainable parameters\n`,
  );
  trainer.dispose();
  model.dispose();
  gpu.destroy();
}
