/**
 * Run an experiment's runs in sequence on one GPU, each through the one run loop (train/run-loop.ts),
 * measuring at step 0, every `plan.every` steps and after the last step: losses, generations, the
 * forgetting CE, ΔW spectra and intruder dimensions, as the plan asks. Hosts (the CLI, the studio's
 * worker) give the model, the data texts and callbacks; a run already done (a resumed preset) is
 * passed back in and skipped. Nothing here depends on time, so the same seed gives the same results.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Tokenizer } from '../io/tokenizer.ts';
import { moduleIntruders, type ModuleIntruders } from '../spectra/intruders.ts';
import { spectraSummary, type BaseSvd } from '../spectra/module-spectrum.ts';
import { loadModel } from '../model/load-checkpoint.ts';
import { LINEAR_MODULES, type LinearModule } from '../schema/tensors.ts';
import type { WeightSource } from '../io/weight-source.ts';
import type { RunStep } from '../schema/metrics.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../schema/train-config.ts';
import { prepareData } from '../train/data.ts';
import { runTraining } from '../train/run-loop.ts';
import { Trainer } from '../train/trainer.ts';
import { baseDistribution, crossEntropyToBase, type BaseDistribution } from './forgetting.ts';
import { generateValues, scoreGenerations } from './generations.ts';
import { summarise } from './summary.ts';
import type { CurvePoint, Generation, LabPlan, LabRunSpec, RunMetrics, RunResult, SpectrumPoint } from './types.ts';
import { uuidJsonl, uuidPairs, type KeyValuePair } from './uuid-task.ts';

/** Texts the runs train and measure on. */
export interface LabTexts {
  /** The new-facts demo as JSONL (plans with data 'facts'). */
  facts: string;
  /** Held-out text of the base model's own distribution (the forgetting probe and CE). */
  baseText: string;
}

/** Where a preset is: run `run` of `runs`, its step of `steps`. */
export interface LabProgress {
  run: number;
  runs: number;
  name: string;
  step: number;
  steps: number;
}

export interface LabHost {
  gpu: Gpu;
  /** The base model (host copy; every run uploads it afresh). */
  base: WeightSource;
  tokenizer: Tokenizer;
  texts: LabTexts;
  seed: number;
  /** Runs already finished (by index), e.g. restored after a reload: kept, not run again. */
  done?: ReadonlyMap<number, RunResult>;
  onProgress?(p: LabProgress): void;
  /** A measurement point of run `run` (for live charts). */
  onPoint?(run: number, point: CurvePoint): void;
  /** Run `run` finished with `result` (persist it here). */
  onRunDone?(run: number, result: RunResult): void | Promise<void>;
  /** Every step of run `run` as the loop reads it back (live loss; the studio's stored runs). */
  onSteps?(run: number, points: readonly RunStep[]): void;
  /** Run `run` trained: its trainer (still on the GPU, between steps) and result, before both are let go. */
  onTrained?(run: number, trained: { trainer: Trainer; result: RunResult }): void | Promise<void>;
  /** Asked between steps: true stops the preset (the run in progress is dropped). */
  shouldStop?(): boolean | Promise<boolean>;
  /** Read the step metrics back at least every this many steps (the run loop's default otherwise; results do not change). */
  readEvery?: number;
}

/** The preset was stopped before its last run finished. */
export class LabStopped extends Error {
  override name = 'LabStopped';
}

/** The settings of one run: the defaults, the plan's base, the run's own, the seed; evals on the measurement steps. */
export function runSettings(plan: LabPlan, spec: LabRunSpec, seed: number): TrainConfig {
  const c: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...plan.base, ...spec.config, seed, evalEvery: plan.every };
  return { ...c, targets: [...c.targets] };
}

/** The UUID pairs of a plan with UUID data. */
export function planPairs(plan: LabPlan, seed: number): KeyValuePair[] {
  if (plan.data.kind !== 'uuid') throw new Error('planPairs: the plan trains on the facts demo, not UUID pairs');
  return uuidPairs({ pairs: plan.data.pairs, groups: plan.data.groups, seed });
}

/** The file name and text a plan's runs train on (UUID pairs as prompt/completion JSONL, or the facts demo). */
export function targetText(plan: LabPlan, seed: number, texts: LabTexts): { fileName: string; text: string } {
  return plan.data.kind === 'uuid' ? { fileName: 'uuid-pairs.jsonl', text: uuidJsonl(planPairs(plan, seed)) } : { fileName: 'new-facts.jsonl', text: texts.facts };
}

/** Every run of `plan`, in order (see the file comment). */
export async function runExperiment(plan: LabPlan, host: LabHost): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (let i = 0; i < plan.runs.length; i++) {
    const done = host.done?.get(i);
    const result = done ?? (await runOne(plan, i, host));
    if (!done) await host.onRunDone?.(i, result);
    results.push(result);
  }
  return results;
}

const layersOf = (spec: 'all' | number[] | undefined, nLayers: number): number[] =>
  spec === undefined ? [] : spec === 'all' ? Array.from({ length: nLayers }, (_, l) => l) : spec.filter((l) => l < nLayers);

async function runOne(plan: LabPlan, index: number, host: LabHost): Promise<RunResult> {
  const spec = plan.runs[index]!;
  const config = runSettings(plan, spec, host.seed);
  const { tokenizer } = host;
  const m = plan.measures;
  const pairs = plan.data.kind === 'uuid' ? planPairs(plan, host.seed) : [];
  const data = targetText(plan, host.seed, host.texts);
  const target = prepareData(data.fileName, data.text, tokenizer, { seqLen: config.seq, evalFraction: plan.data.kind === 'uuid' ? 0 : 0.1, seed: host.seed });
  const probe = m.losses || m.forgettingWindows
    ? prepareData('base-text.txt', host.texts.baseText, tokenizer, { seqLen: config.seq, evalFraction: 0, seed: 0 }).train
    : [];

  const { model } = await loadModel(host.gpu, host.base);
  let trainer: Trainer | undefined;
  try {
    const forgetBase: BaseDistribution | undefined = m.forgettingWindows ? await baseDistribution(model, probe, m.forgettingWindows) : undefined;
    trainer = await Trainer.init(model, config);
    const t = trainer;
    const original = config.method === 'full' ? host.base : undefined;
    const spectraLayers = layersOf(m.spectraLayers, model.config.nLayers);
    const intruderLayers = layersOf(m.intruderLayers, model.config.nLayers);
    const modules: readonly LinearModule[] = config.method === 'full' ? LINEAR_MODULES : config.targets;
    const baseCache = new Map<string, BaseSvd>();
    const metrics: RunMetrics = { loss: [], curve: [] };
    const curve = new Map<number, CurvePoint>();
    const point = (step: number): CurvePoint => {
      let p = curve.get(step);
      if (!p) curve.set(step, (p = { step, train_loss: step === 0 ? null : (metrics.loss[step - 1] ?? null) }));
      return p;
    };

    /** Everything but the losses (which the run loop's evals give) at `step`. */
    const measure = async (step: number): Promise<void> => {
      const p = point(step);
      if (step > 0) p.train_loss = metrics.loss[step - 1] ?? null;
      if (m.generations) {
        const items: Generation[] = await generateValues(model, tokenizer, pairs);
        const score = scoreGenerations(items);
        Object.assign(p, { exact_match: score.exactMatch, char_accuracy: score.charAccuracy });
        (metrics.generations ??= []).push({ step, items });
      }
      if (forgetBase) p.forgetting_ce = await crossEntropyToBase(model, forgetBase);
      if (spectraLayers.length > 0) {
        const s = await spectraSummary(model, spectraLayers, modules, { baseCache, initial: t.spectral?.initial, original, topSigma: Infinity });
        const mods: SpectrumPoint[] = s.map((x) => ({ ...x }));
        (metrics.spectra ??= []).push({ step, modules: mods });
      }
      if (intruderLayers.length > 0) {
        const mods: ModuleIntruders[] = [];
        for (const l of intruderLayers) {
          for (const mod of modules) {
            const r = await moduleIntruders(model, l, mod, { baseCache, initial: t.spectral?.initial, original });
            if (r) mods.push(r);
          }
        }
        (metrics.intruders ??= []).push({ step, modules: mods });
      }
      host.onPoint?.(index, { ...p });
    };

    const progress = (step: number) => host.onProgress?.({ run: index, runs: plan.runs.length, name: spec.name, step, steps: config.steps });
    progress(0);
    await measure(0); // before the first step; the run loop's step-0 eval adds the losses
    let measuredAt = 0;
    const outcome = await runTraining(
      {
        trainer: t, train: target.train, eval: m.losses ? target.eval : [], probe: m.losses ? probe : [], padId: tokenizer.eosId, evalAtStart: true,
        ...(host.readEvery ? { readEvery: host.readEvery } : {}),
      },
      {
        steps(points) {
          for (const s of points) metrics.loss.push(s.loss);
          host.onSteps?.(index, points);
          progress(points.at(-1)!.step);
        },
        eval(e) {
          const p = point(e.step);
          if (Number.isFinite(e.loss)) p.eval_loss = e.loss;
          if (e.probe !== undefined) p.probe_loss = e.probe;
          if (e.step === 0) host.onPoint?.(index, { ...p });
        },
        async afterStep(step, final) {
          if (measuredAt !== step && (step % plan.every === 0 || final)) {
            measuredAt = step;
            await measure(step);
          }
        },
        boundary: async () => ((await host.shouldStop?.()) ? 'stop' : 'go'),
      },
    );
    if (outcome.stopped) throw new LabStopped(`stopped during run ${index + 1} (${spec.name}) at step ${outcome.steps}`);
    metrics.curve = [...curve.values()].sort((a, b) => a.step - b.step);
    summarise(metrics);
    const result: RunResult = { name: spec.name, method: config.method, settings: config, trainable: t.trainableCount, metrics };
    await host.onTrained?.(index, { trainer: t, result });
    return result;
  } finally {
    trainer?.dispose();
    model.dispose();
  }
}
