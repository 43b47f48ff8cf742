/**
 * The Lab in the worker: the same presets, run loop and report as `cli reproduce` (src/lab), on the
 * loaded model. `labList` lists the experiments with every setting and the preset a reload
 * interrupted; `labEstimate` times each run of a preset on this GPU; `labRun` runs (or resumes) a
 * preset, streaming where it is, the training losses and every measurement point, and ends with
 * results.json's results, report.md and the charts. Each finished run is saved as a stored run
 * (completed, with its checkpoint), so it joins Saved runs, Compare runs and the spectrum view; the
 * preset's finished runs and where it stands are kept in the run store's meta records, so a reload
 * can resume it (the finished runs are kept, the run in progress starts again). `labCancel` stops a
 * preset between two steps.
 */
import { labTexts } from '../../lab/base-text.ts';
import { estimatePlan } from '../../lab/estimate.ts';
import { EXPERIMENTS, experimentById, type Experiment } from '../../lab/experiments.ts';
import { reportCharts, reportFiles } from '../../lab/report.ts';
import { labModelInfo, reproduce, scaleOf } from '../../lab/reproduce.ts';
import { LabStopped, runSettings, targetText, type LabHost, type LabTexts } from '../../lab/run-experiment.ts';
import type { ExperimentId, LabPlan, RunResult } from '../../lab/types.ts';
import { dataIdentity } from '../../schema/data-identity.ts';
import type { EvalPoint, RunStep, SpectraRound } from '../../schema/metrics.ts';
import type { ModelOrigin, StoredData, StoredRun } from '../../schema/stored-run.ts';
import { validateTrainConfig } from '../../schema/train-config.ts';
import type { Tokenizer } from '../../io/tokenizer.ts';
import type { Trainer } from '../../train/trainer.ts';
import type { LabExperimentSummary, LabPending, LabProgressInfo, LabRunRequest, LabSizeSummary } from '../protocol.ts';
import { newRunId, RunSaver, runDb } from './persist.ts';
import { EngineRefusal, engine, errorEvent, post, requireGpu, requireModel, requireTokenizer, type ActiveRun, type Loaded } from './state.ts';

/** The run store's meta record of the preset in progress. */
const LAB_KEY = 'lab';

/** What is kept of a preset in progress: the pending summary and the finished runs' results. */
interface LabState extends LabPending {
  results: Record<number, RunResult>;
}

/** The preset (or estimate) holding the engine now. */
interface LabActive extends ActiveRun {
  stop: boolean;
  finish(): void;
  /** The estimate this work measures (absent for a preset). */
  estimate?: { experiment: ExperimentId; quick: boolean };
}
let active: LabActive | null = null;

/** The Web Lock a tab's engine holds while it runs a preset (so another tab neither resumes nor repeats it). */
const LAB_LOCK = 'subspace-lab';
const locks = (): LockManager | undefined => (globalThis.navigator as Navigator | undefined)?.locks;

/** Hold LAB_LOCK until `done` settles; false when another tab holds it. Without Web Locks, always true. */
function lockLab(done: Promise<void>): Promise<boolean> {
  const manager = locks();
  if (!manager) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    void manager.request(LAB_LOCK, { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock ? done : undefined;
    });
  });
}

/** Whether a preset runs in another tab of this browser now. */
async function runningElsewhere(): Promise<boolean> {
  if (active) return false;
  const held = (await locks()?.query())?.held ?? [];
  return held.some((l) => l.name === LAB_LOCK);
}

/** The texts of the last (model, size, seed) asked for: another model's held-out text is sampled from it, which takes seconds. */
let textsCache: { key: string; texts: Promise<LabTexts> } | null = null;

function texts(loaded: Loaded, tokenizer: Tokenizer, builtIn: boolean, quick: boolean, seed: number): Promise<LabTexts> {
  const key = `${loaded.summary.fingerprint}/${builtIn}/${quick}/${seed}`;
  if (textsCache?.key !== key) {
    const made = labTexts({ gpu: requireGpu(), base: loaded.base, tokenizer, builtIn, quick, seed });
    textsCache = { key, texts: made };
    made.catch(() => {
      if (textsCache?.texts === made) textsCache = null; // a failure is not kept
    });
  }
  return textsCache.texts;
}

/** Resolves once no preset or estimate holds the engine (an estimate takes seconds: others wait for it). */
export async function labIdle(): Promise<void> {
  while (active) await active.done;
}

/** Steps between loss readbacks in the studio (live charts; results do not depend on it). */
const READ_EVERY = 4;
/** Write where the preset stands at most this often. */
const PERSIST_EVERY_MS = 1000;

const yieldToEvents = () => new Promise<void>((r) => setTimeout(r, 0));

function describeSize(plan: LabPlan, seed: number): LabSizeSummary {
  const m = plan.measures;
  const data = plan.data.kind === 'uuid'
    ? `${plan.data.pairs} random UUID key → value pairs (${plan.data.groups.reduce((a, b) => a + b, 0)} hex digits each side)`
    : 'the new-facts demo (characters, pets and places the built-in model never saw), a tenth held out for the eval loss';
  const layers = (l: 'all' | number[] | undefined) => (l === 'all' ? 'every layer' : `layer${l!.length === 1 ? '' : 's'} ${l!.join(', ')}`);
  const measures = [
    m.generations ? 'greedy generations of every value (exact match, character accuracy)' : '',
    m.losses ? 'eval loss on held-out target windows and the forgetting probe loss on held-out base text' : '',
    m.forgettingWindows ? `cross-entropy against the base model's own predictions on ${m.forgettingWindows} base-text window${m.forgettingWindows === 1 ? '' : 's'}` : '',
    m.spectraLayers ? `ΔW spectra (rank90, principal / minor overlap) of the trained modules of ${layers(m.spectraLayers)}` : '',
    m.intruderLayers ? `intruder dimensions of the trained modules of ${layers(m.intruderLayers)}` : '',
  ].filter(Boolean);
  return { runs: plan.runs.map((r) => { const settings = runSettings(plan, r, seed); return { name: r.name, method: settings.method, settings }; }), every: plan.every, data, measures };
}

function summary(e: Experiment): LabExperimentSummary {
  return { id: e.id, question: e.question, sentence: e.sentence, paper: e.paper, quick: describeSize(e.plan(true), 0), full: describeSize(e.plan(false), 0) };
}

async function readState(): Promise<LabState | null> {
  try {
    return (await (await runDb()).meta<LabState>(LAB_KEY)) ?? null;
  } catch {
    return null; // no storage: nothing to resume
  }
}

/** Keep `state` (a failure only loses the resume: the preset goes on). */
async function writeState(state: LabState | undefined): Promise<void> {
  try {
    await (await runDb()).putMeta(LAB_KEY, state);
  } catch (e) {
    post({ ...errorEvent(0, e), message: `The Lab's progress could not be kept for a resume after a reload: ${(e as Error).message}`, code: 'storage-failed' });
  }
}

const pendingOf = (s: LabState): LabPending => {
  const { results: _results, ...pending } = s;
  return pending;
};

export async function handleLabList(id: number): Promise<void> {
  try {
    const state = await readState();
    const elsewhere = await runningElsewhere();
    post({
      type: 'labList', id,
      listing: { experiments: EXPERIMENTS.map(summary), pending: state && !elsewhere ? pendingOf(state) : null, running: active !== null, elsewhere },
    });
  } catch (e) {
    post(errorEvent(id, e));
  }
}

export async function handleLabDiscard(id: number): Promise<void> {
  try {
    if (active) throw new EngineRefusal('A Lab preset is running: stop it before discarding the interrupted one.', 'busy');
    await writeState(undefined);
    post({ type: 'labDiscarded', id });
  } catch (e) {
    post(errorEvent(id, e));
  }
}

export function handleLabCancel(id: number, only?: { experiment: ExperimentId; quick: boolean }): void {
  const targeted = !only || (active?.estimate?.experiment === only.experiment && active.estimate.quick === only.quick);
  if (active && targeted) {
    active.stop = true;
    active.state = 'stopping';
  }
  post({ type: 'cancelled', id, target: active?.id ?? 0 });
}

/** Hold the engine for Lab work (`body`): training, generation and exports wait or refuse meanwhile. */
async function asLab<T>(id: number, body: (lab: LabActive) => Promise<T>): Promise<T> {
  if (engine.run) throw new EngineRefusal(active ? 'A Lab preset is already running: stop it first.' : 'A training run is in progress: stop it before starting the Lab.', 'busy');
  if (engine.generation) throw new EngineRefusal('A generation is running: wait for it or stop it first.', 'busy');
  let finish!: () => void;
  const lab: LabActive = { id, runId: 0, state: 'running', stop: false, done: new Promise<void>((r) => (finish = r)), finish: () => finish() };
  active = lab;
  engine.run = lab;
  try {
    return await body(lab);
  } finally {
    if (engine.run === lab) engine.run = null;
    active = null;
    lab.finish();
  }
}

/** Every run's settings checked against the loaded model, naming the run at fault. */
function checkPlan(exp: Experiment, plan: LabPlan, seed: number, loaded: Loaded): void {
  for (const spec of plan.runs) {
    try {
      validateTrainConfig(runSettings(plan, spec, seed), loaded.model.config);
    } catch (e) {
      throw new EngineRefusal(`${exp.question} — run "${spec.name}" does not fit the loaded model: ${(e as Error).message}`, 'config');
    }
  }
}

export async function handleLabEstimate(id: number, experiment: ExperimentId, quick: boolean, seed: number, origin: ModelOrigin): Promise<void> {
  try {
    const exp = experimentById(experiment);
    const loaded = requireModel();
    const tokenizer = requireTokenizer(loaded);
    const plan = exp.plan(quick);
    checkPlan(exp, plan, seed, loaded);
    const estimate = await asLab(id, async (lab) => {
      lab.estimate = { experiment, quick };
      const gpu = requireGpu();
      const held = await texts(loaded, tokenizer, origin.kind === 'builtin', quick, seed);
      const shouldStop = async () => {
        await yieldToEvents(); // let labCancel in
        return lab.stop;
      };
      try {
        return await estimatePlan(plan, { gpu, base: loaded.base, tokenizer, texts: held, seed, shouldStop });
      } catch (e) {
        throw e instanceof LabStopped ? new EngineRefusal('The time estimate was stopped before it finished.', 'stopped') : e;
      }
    });
    post({ type: 'labEstimate', id, experiment, quick, estimate });
  } catch (e) {
    post(errorEvent(id, e));
  }
}

/** The stored run of a finished Lab run: its settings, data, probe, metrics and outcome (status completed). */
function storedRun(
  runId: number, result: RunResult, trainer: Trainer, steps: readonly RunStep[], data: { fileName: string; text: string; source: 'demo' | 'text' },
  probe: StoredData | undefined, req: LabRunRequest, loaded: Loaded,
): StoredRun {
  const c = result.settings;
  const evals: EvalPoint[] = result.metrics.curve
    .filter((p) => p.eval_loss !== undefined || p.probe_loss !== undefined)
    .map((p) => ({ step: p.step, loss: p.eval_loss ?? NaN, ...(p.probe_loss !== undefined ? { forget: p.probe_loss } : {}) }));
  const spectra: SpectraRound[] = (result.metrics.spectra ?? []).filter((s) => s.step > 0).map((s) => ({
    step: s.step,
    entries: s.modules.map((m) => ({ name: m.name, delta_rank90: m.delta_rank90, overlap_principal: m.overlap_principal, overlap_minor: m.overlap_minor })),
  }));
  const stored: StoredData = { ...data, format: 'auto', split: { seqLen: c.seq, evalFraction: data.source === 'demo' ? 0.1 : 0, seed: c.seed } };
  const now = Date.now();
  const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);
  return {
    runId, methodId: c.method, config: c,
    model: { name: req.modelName, origin: req.origin, paramCount: loaded.summary.paramCount, fingerprint: loaded.summary.fingerprint },
    data: stored, dataId: dataIdentity(stored, null),
    ...(probe ? { probe, probeId: dataIdentity(probe, null) } : {}),
    trainableCount: trainer.trainableCount, tokensPerStep: c.batch * c.seq * c.gradAccum,
    createdAt: now, updatedAt: now, status: 'running',
    train: [...steps], eval: evals, spectra, checkpointStep: 0, checkpointBytes: 0, activeMs: steps.at(-1)?.elapsedMs ?? 0,
    finalLoss: finite(result.metrics.loss.at(-1)), evalLoss: finite([...evals].reverse().find((e) => Number.isFinite(e.loss))?.loss),
  };
}

export async function handleLabRun(id: number, req: LabRunRequest): Promise<void> {
  try {
    const exp = experimentById(req.experiment);
    const loaded = requireModel();
    const tokenizer = requireTokenizer(loaded);
    const plan = exp.plan(req.quick);
    checkPlan(exp, plan, req.seed, loaded);
    const fingerprint = loaded.summary.fingerprint;
    let state: LabState;
    if (req.resume) {
      const kept = await readState();
      if (!kept) throw new EngineRefusal('There is no interrupted Lab preset to resume.', 'not-found');
      if (kept.experiment !== req.experiment || kept.quick !== req.quick || kept.seed !== req.seed) {
        throw new EngineRefusal(`The interrupted preset is ${kept.experiment}${kept.quick ? ' (quick)' : ''}, seed ${kept.seed}: resume that one, or discard it.`, 'config');
      }
      if (kept.fingerprint !== fingerprint) {
        throw new EngineRefusal(`The interrupted preset ran on ${kept.modelName}; the loaded model is ${loaded.summary.files.join(' + ')}. Load ${kept.modelName} to resume it.`, 'model-mismatch');
      }
      state = kept;
    } else {
      state = {
        experiment: req.experiment, quick: req.quick, seed: req.seed, modelName: req.modelName, fingerprint,
        runs: plan.runs.length, done: [], current: null, updatedAt: Date.now(), results: {},
      };
    }
    const t0 = performance.now();
    const outcome = await asLab(id, async (lab) => {
      if (!(await lockLab(lab.done))) throw new EngineRefusal('A Lab preset is running in another tab of this browser: stop it there first.', 'busy');
      await writeState(state);
      const gpu = requireGpu();
      const builtIn = req.origin.kind === 'builtin';
      const held = await texts(loaded, tokenizer, builtIn, req.quick, req.seed);
      const info = labModelInfo(loaded.base, builtIn ? 'the built-in model' : req.modelName);
      const totalSteps = plan.runs.reduce((a, r) => a + runSettings(plan, r, req.seed).steps, 0);
      const stepsBefore = (run: number) => plan.runs.slice(0, run).reduce((a, r) => a + runSettings(plan, r, req.seed).steps, 0);
      const resumed = state.done.map((d) => d.run);
      const done = new Map<number, RunResult>(Object.entries(state.results).map(([k, v]) => [Number(k), v]));
      const target = targetText(plan, req.seed, held);
      const data = { ...target, source: plan.data.kind === 'uuid' ? ('text' as const) : ('demo' as const) };
      const probe: StoredData | undefined = plan.measures.losses
        ? { fileName: builtIn ? 'held-out base text (forget-probe documents)' : 'held-out base text (sampled from the model)', text: held.baseText, format: 'text', source: 'text', split: { seqLen: runSettings(plan, plan.runs[0]!, req.seed).seq, evalFraction: 0, seed: 0 } }
        : undefined;
      let steps: RunStep[] = [];
      let lastWrite = 0;
      const runIds = new Map<number, number>(state.done.map((d) => [d.run, d.runId]));
      const host: LabHost = {
        gpu, base: loaded.base, tokenizer, texts: held, seed: req.seed, done, readEvery: READ_EVERY,
        onProgress(p) {
          if (p.step === 0) steps = [];
          const progress: LabProgressInfo = { experiment: req.experiment, ...p, fraction: (stepsBefore(p.run) + p.step) / totalSteps, resumed };
          post({ type: 'labProgress', id, progress });
          state.current = { run: p.run, name: p.name, step: p.step, steps: p.steps };
          const now = performance.now();
          if (p.step === 0 || now - lastWrite > PERSIST_EVERY_MS) {
            lastWrite = now;
            state.updatedAt = Date.now();
            void writeState(state);
          }
        },
        onSteps(run, points) {
          steps.push(...points);
          post({ type: 'labSteps', id, run, losses: points.map((p): [number, number] => [p.step, p.loss]) });
        },
        onPoint(run, point) {
          post({ type: 'labPoint', id, run, point });
        },
        async onTrained(run, { trainer, result }) {
          const runId = await newRunId();
          lab.runId = runId;
          const saver = new RunSaver(id, storedRun(runId, result, trainer, steps, data, probe, req, loaded), 0);
          const record = saver.record;
          await saver.checkpoint(trainer, 'completed', record.activeMs, { finalLoss: record.finalLoss, evalLoss: record.evalLoss });
          runIds.set(run, record.checkpointStep > 0 ? runId : 0);
        },
        async onRunDone(run, result) {
          const runId = runIds.get(run) ?? 0;
          state.results[run] = result;
          state.done.push({ run, name: result.name, runId });
          state.current = null;
          state.updatedAt = Date.now();
          await writeState(state);
          post({ type: 'labRunDone', id, run, result, runId });
        },
        async shouldStop() {
          await yieldToEvents(); // let labCancel in
          return lab.stop;
        },
      };
      try {
        const results = await reproduce(req.experiment, req.quick, host, info);
        const scale = scaleOf(exp, info, req.quick);
        const files = [...reportFiles(exp, results, scale)].map(([name, text]) => ({ name, text }));
        const charts = reportCharts(results).map((c) => ({ file: c.file, title: c.spec.title }));
        await writeState(undefined);
        return { kind: 'finished' as const, results, report: { files, charts, scale }, runIds: plan.runs.map((_, i) => runIds.get(i) ?? 0) };
      } catch (e) {
        if (e instanceof LabStopped) return { kind: 'stopped' as const, done: state.done.length };
        throw e;
      }
    });
    if (outcome.kind === 'stopped') post({ type: 'labStopped', id, done: outcome.done });
    else post({ type: 'labFinished', id, results: outcome.results, report: outcome.report, runIds: outcome.runIds, ms: performance.now() - t0 });
  } catch (e) {
    post(errorEvent(id, e));
  }
}
