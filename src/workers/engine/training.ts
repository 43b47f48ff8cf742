/**
 * Training runs in the worker, wired as the CLI's `train` does: a fresh upload of the base weights,
 * a Trainer, shuffled batches of the prepared windows, one optimizer step at a time with its metrics
 * read back and posted, eval losses every `evalEvery` steps and at the end. Between steps the loop
 * yields to the event loop, so pause, resume and stop (and anything else) are handled mid-run.
 * Every run is kept in the browser's storage (./persist.ts) with a checkpoint every N steps, on
 * pause and at the end; `resumeRun` continues a saved run from its checkpoint.
 */
import type { LlamaModel } from '../../model/llama.ts';
import { LINEAR_MODULES } from '../../schema/tensors.ts';
import type { WeightSource } from '../../io/weight-source.ts';
import { loadModel } from '../../model/load-checkpoint.ts';
import { validateTrainConfig, type TrainConfig } from '../../schema/train-config.ts';
import { countTargets, type PackedWindow } from '../../train/packing.ts';
import { runTraining } from '../../train/run-loop.ts';
import { SPECTRAL_METHODS } from '../../schema/train-config.ts';
import { Trainer } from '../../train/trainer.ts';
import { dataIdentity } from '../../schema/data-identity.ts';
import { checkCheckpoint } from '../../train/checkpoint.ts';
import type { Tokenizer } from '../../io/tokenizer.ts';
import { metricsUpTo, type StoredData, type StoredRun } from '../../schema/stored-run.ts';
import type { DataSource, RunControl, RunInfo, RunSaveSettings, RunState } from '../protocol.ts';
import type { EvalPoint } from '../../schema/metrics.ts';
import type { DataSplit } from '../../schema/data.ts';
import { prepare, probeWindows, sameSplit, sourceText } from './data.ts';
import { lockRun, newRunId, RunSaver, runDb } from './persist.ts';
import { spectraAfterStep } from './spectra.ts';
import {
  EngineRefusal, engine, errorEvent, post, requireGpu, requireModel, requireTokenizer, type ActiveRun, type Data, type Loaded, type Tuned,
} from './state.ts';

/** The loop's side of a run: its state and the waiters for the next step boundary. */
class Run implements ActiveRun {
  state: RunState = 'running';
  /** Controls waiting for the loop to reach a step boundary: they are answered from there. */
  private boundary: (() => void)[] = [];
  private wake: (() => void) | null = null;
  readonly done: Promise<void>;
  finish!: () => void;

  constructor(
    readonly id: number,
    readonly runId: number,
  ) {
    this.done = new Promise<void>((r) => (this.finish = r));
  }

  /** Apply `action`; resolves with the state once the loop is between two steps. */
  control(action: RunControl): Promise<RunState> {
    if (action === 'stop') this.state = 'stopping';
    else if (action === 'pause' && this.state === 'running') this.state = 'paused';
    else if (action === 'resume' && this.state === 'paused') {
      this.state = 'running';
      this.wake?.();
      return Promise.resolve(this.state);
    }
    if (this.state === 'stopping') this.wake?.();
    return new Promise((resolve) => this.boundary.push(() => resolve(this.state)));
  }

  /** Called by the loop between steps: answers controls, then waits while paused (after `onPause`). */
  async atBoundary(step: number, onPause: () => Promise<void>): Promise<void> {
    const waiting = this.boundary.splice(0);
    for (const w of waiting) w();
    if (waiting.length > 0) post({ type: 'trainState', id: this.id, runId: this.runId, state: this.state, step });
    if (this.state === 'paused') await onPause();
    while (this.state === 'paused') {
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
      for (const w of this.boundary.splice(0)) w();
      if (this.state !== 'paused') post({ type: 'trainState', id: this.id, runId: this.runId, state: this.state, step });
    }
    // A generation on the base weights moves adapters aside: never step while one runs.
    if (engine.generation) await engine.generation.done;
  }

  /** The loop has ended: answer anything still waiting. */
  close(): void {
    for (const w of this.boundary.splice(0)) w();
    this.wake?.();
  }
}

/** Put a fresh copy of the base weights on the GPU when the model carries an earlier run's training. */
async function freshModel(loaded: Loaded): Promise<LlamaModel> {
  if (loaded.tuned || loaded.model.adapters.size > 0) {
    const gpu = requireGpu();
    const { model: fresh } = await loadModel(gpu, loaded.base);
    if (engine.loaded !== loaded) { // another model was loaded while this one was read
      fresh.dispose();
      throw new EngineRefusal('Another model was loaded while the base weights were being copied for this run.', 'superseded');
    }
    loaded.model.dispose();
    loaded.model = fresh;
    loaded.tuned = null;
  }
  return loaded.model;
}

const yieldToEvents = () => new Promise<void>((r) => setTimeout(r, 0));

/** Refuse to start while a run or a generation holds the model. */
function refuseIfBusy(): void {
  if (engine.run) throw new EngineRefusal('A training run is already in progress: stop it first.', 'busy');
  if (engine.generation) throw new EngineRefusal('A generation is running: wait for it or stop it first.', 'busy');
}

/** Everything the step loop of one run works with. */
interface Session {
  id: number;
  run: Run;
  trainer: Trainer;
  model: LlamaModel;
  tuned: Tuned;
  config: TrainConfig;
  data: Data;
  tokenizer: Tokenizer;
  saver: RunSaver;
  /** Training wall time before this loop. */
  activeMs: number;
  evalLoss: number | null;
  /** Forgetting-probe windows (empty: the run has no probe) and what the UI is told of them. */
  probe: PackedWindow[];
  probeInfo?: RunInfo['probe'];
  /** The base weights as loaded (full fine-tuning's spectra measure ΔW = W − W₀ against them, read again per module). */
  original: WeightSource;
}

const finite = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) ? v : null);

/** What trainStarted says of a probe's windows. */
function probeInfo(fileName: string, windows: PackedWindow[]): RunInfo['probe'] {
  return { fileName, windows: windows.length, tokens: countTargets(windows) };
}

/** The identities of a run's data and probe (computed for runs saved before they were kept). */
function runIdentities(s: Session): Pick<RunInfo, 'dataId' | 'probeId'> {
  const r = s.saver.record;
  const dataId = r.dataId ?? dataIdentity(s.data, s.data.summary.stats.tokens);
  const probeId = r.probe ? (r.probeId ?? dataIdentity(r.probe, s.probeInfo?.tokens ?? null)) : undefined;
  return { dataId, ...(probeId ? { probeId } : {}) };
}

/** The info trainStarted carries. */
function runInfo(s: Session, resumed?: RunInfo['resumed']): RunInfo {
  const { config, data } = s;
  return {
    runId: s.run.runId,
    config,
    trainableCount: s.trainer.trainableCount,
    paramCount: s.model.parameterCount,
    tokensPerStep: config.batch * config.seq * config.gradAccum,
    data: data.summary,
    ...(s.probeInfo ? { probe: s.probeInfo } : {}),
    ...runIdentities(s),
    ...(resumed ? { resumed } : {}),
  };
}

/** Steps between metric readbacks in the studio (sooner when a step is due on screen: see READ_EVERY_MS). */
const READ_EVERY = 8;
const READ_EVERY_MS = 200;

/**
 * The trainer's next step … config.steps through the run loop (src/train/run-loop.ts), its numbers posted
 * and saved: metrics read back every few steps, evals, spectra between steps, a checkpoint every
 * `saver.every` steps, on pause and at the end; then trainFinished.
 */
async function trainLoop(s: Session): Promise<void> {
  const { id, run, trainer, model, config, tuned, saver } = s;
  // Full fine-tuning changes every module: its spectra compare each weight with the original.
  const full = config.method === 'full';
  let spectraAt = -1;
  const outcome = await runTraining(
    {
      trainer, train: s.data.prepared.train, eval: s.data.prepared.eval, probe: s.probe, padId: s.tokenizer.eosId,
      evalAtStart: s.probe.length > 0, elapsedMs: s.activeMs, checkpointEvery: saver.every, readEvery: READ_EVERY, readEveryMs: READ_EVERY_MS,
    },
    {
      steps(points) {
        for (const point of points) {
          tuned.steps = point.step;
          saver.addStep(point);
          post({ type: 'trainStep', id, point });
        }
      },
      eval(e) {
        const point: EvalPoint = e.probe === undefined ? { step: e.step, loss: e.loss } : { step: e.step, loss: e.loss, forget: e.probe };
        s.evalLoss = finite(e.loss);
        saver.addEval(point);
        post({ type: 'trainEval', id, point });
      },
      finishing(step) {
        const message = step >= config.steps ? 'Finishing (final eval, spectra, checkpoint)' : 'Stopping (final eval, checkpoint)';
        post({ type: 'progress', id, stage: 'finishing', message });
      },
      // Queued spectrum requests and every N steps a budgeted spectra round (not counted as training time).
      async afterStep(step, final) {
        if (spectraAt === step) return; // a stop asks again for the step it stopped after
        spectraAt = step;
        const modules = full ? LINEAR_MODULES : config.targets;
        const entries = await spectraAfterStep(id, run.runId, step, model, modules, tuned.spectralInitial, final, full ? s.original : undefined);
        if (entries) saver.addSpectra({ step, entries });
      },
      async checkpoint(reason, _step, elapsedMs) {
        if (reason === 'due') await saver.checkpoint(trainer, 'running', elapsedMs);
        else if (reason === 'paused') await saver.checkpoint(trainer, 'paused', elapsedMs);
      },
      async boundary(step, hooks) {
        await yieldToEvents();
        await run.atBoundary(step, () => hooks.pause());
        return run.state === 'stopping' ? 'stop' : 'go';
      },
    },
  );
  const steps = tuned.steps;
  const lastLoss = outcome.lastLoss ?? saver.record.train.at(-1)?.loss ?? null;
  run.close();
  await saver.checkpoint(trainer, outcome.stopped ? 'stopped' : 'completed', outcome.elapsedMs, { finalLoss: lastLoss, evalLoss: s.evalLoss });
  post({
    type: 'trainFinished',
    id,
    runId: run.runId,
    reason: outcome.stopped ? 'stopped' : 'completed',
    steps,
    ms: outcome.elapsedMs,
    finalLoss: lastLoss,
    evalLoss: s.evalLoss,
  });
}

/** Run `body` as the engine's run `runId` (request `id`): the run is registered, and always released. */
async function asRun(id: number, runId: number, body: (run: Run) => Promise<Session>): Promise<void> {
  const run = new Run(id, runId);
  if (!(await lockRun(runId, run.done))) {
    throw new EngineRefusal(`Run ${runId} is training in another tab of this browser: stop it there first.`, 'busy');
  }
  try {
    refuseIfBusy(); // checked again: taking the lock was asynchronous
  } catch (e) {
    run.finish(); // lets go of the lock
    throw e;
  }
  engine.run = run;
  let session: Session | null = null;
  try {
    session = await body(run);
    await trainLoop(session);
  } catch (e) {
    let event = errorEvent(id, e);
    if (session && engine.gpu !== session.model.gpu) {
      // Whatever GPU call noticed first, the cause is the lost device.
      const { tuned, saver } = session;
      event = {
        type: 'error', id, code: 'device-lost',
        message: `The GPU device was lost after step ${tuned.steps}; the run keeps its checkpoint of step ${saver.record.checkpointStep}.`,
      };
    }
    if (session) await session.saver.status('failed', { error: event.message });
    post(event);
  } finally {
    session?.trainer.dispose();
    run.close();
    if (engine.run === run) engine.run = null;
    run.finish();
  }
}

export async function handleStartTraining(
  id: number, requested: TrainConfig, evalFraction: number, save?: RunSaveSettings, probeSource?: DataSource,
): Promise<void> {
  try {
    refuseIfBusy();
    const loaded = requireModel();
    const tokenizer = requireTokenizer(loaded);
    const config: TrainConfig = { ...requested, targets: [...requested.targets] };
    try {
      validateTrainConfig(config, loaded.model.config);
    } catch (e) {
      throw new EngineRefusal((e as Error).message, 'config');
    }
    let data = engine.data;
    if (!data) throw new EngineRefusal('No training data: paste text, upload a file or pick a demo dataset first.', 'no-data');
    const split: DataSplit = { seqLen: config.seq, evalFraction, seed: config.seed };
    if (!sameSplit(split, data.split)) {
      post({ type: 'progress', id, stage: 'data', message: `Re-cutting the data into windows of ${config.seq} tokens` });
      data = prepare(data.fileName, data.text, data.format, data.source, split);
    }
    if (data.prepared.train.length === 0) throw new EngineRefusal('The data gives no training windows.', 'no-data');
    const probeData: StoredData | undefined = probeSource && { ...sourceText(probeSource), split: { seqLen: config.seq, evalFraction: 0, seed: 0 } };
    if (probeData) post({ type: 'progress', id, stage: 'data', message: `Tokenising the forgetting probe (${probeData.fileName})` });
    const probe = probeData ? probeWindows(probeData, config.seq) : [];
    const runId = await newRunId();
    refuseIfBusy(); // checked again: the id came from storage asynchronously
    const prepared = data;
    await asRun(id, runId, async (run) => {
      post({ type: 'progress', id, stage: 'uploading', message: 'Copying the base weights for a fresh run' });
      const model = await freshModel(loaded);
      if (SPECTRAL_METHODS.includes(config.method)) {
        post({ type: 'progress', id, stage: 'svd', message: 'SVD of every target weight for the initial adapters', done: 0, total: model.config.nLayers * config.targets.length });
      }
      // PiSSA/MiLoRA run their SVDs here, one module after another.
      const trainer = await Trainer.init(model, config, (done, total, name) =>
        post({ type: 'progress', id, stage: 'svd', message: `SVD ${done} of ${total} done (${name})`, done, total }),
      );
      const tuned: Tuned = { runId, method: config.method, config, steps: 0, spectralInitial: trainer.spectral?.initial };
      loaded.tuned = tuned;
      const now = Date.now();
      const record: StoredRun = {
        runId,
        methodId: save?.methodId ?? config.method,
        config,
        model: {
          name: save?.modelName ?? loaded.summary.files.join(' + '),
          origin: save?.origin ?? { kind: 'files', files: loaded.summary.files },
          paramCount: loaded.summary.paramCount,
          fingerprint: loaded.summary.fingerprint,
        },
        data: { fileName: prepared.fileName, text: prepared.text, format: prepared.format, source: prepared.source, split: prepared.split },
        ...(probeData ? { probe: probeData, probeId: dataIdentity(probeData, countTargets(probe)) } : {}),
        dataId: dataIdentity(prepared, prepared.summary.stats.tokens),
        trainableCount: trainer.trainableCount,
        tokensPerStep: config.batch * config.seq * config.gradAccum,
        createdAt: now, updatedAt: now, status: 'running',
        train: [], eval: [], spectra: [], checkpointStep: 0, checkpointBytes: 0, activeMs: 0, finalLoss: null, evalLoss: null,
      };
      const saver = new RunSaver(id, record, save?.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY);
      const session: Session = {
        id, run, trainer, model, tuned, config, data: prepared, tokenizer, saver, activeMs: 0, evalLoss: null,
        probe, ...(probeData ? { probeInfo: probeInfo(probeData.fileName, probe) } : {}), original: loaded.base,
      };
      await saver.status('running');
      post({ type: 'trainStarted', id, run: runInfo(session) });
      return session;
    });
  } catch (e) {
    post(errorEvent(id, e));
  }
}

/** Steps between checkpoints when the command does not say. */
const DEFAULT_CHECKPOINT_EVERY = 10;

/**
 * `resumeRun`: continue saved run `runId` from its checkpoint, on the loaded model (it must be the
 * run's base model, by fingerprint) and the run's own stored data. The metrics up to the checkpoint
 * come back in trainStarted; steps after it are trained again, exactly as before (same batches,
 * dropout masks and optimizer state).
 */
export async function handleResumeRun(id: number, runId: number, checkpointEvery: number): Promise<void> {
  try {
    refuseIfBusy();
    const loaded = requireModel();
    const tokenizer = requireTokenizer(loaded);
    let db;
    try {
      db = await runDb();
    } catch (e) {
      throw new EngineRefusal((e as Error).message, 'storage-unavailable');
    }
    const record = await db.run(runId);
    if (!record) throw new EngineRefusal(`Run ${runId} is not in this browser's storage (deleted, or saved in another browser profile).`, 'not-found');
    const checkpoint = await db.checkpoint(runId);
    if (!checkpoint || record.checkpointStep === 0) {
      throw new EngineRefusal(`Run ${runId} has no checkpoint: it ended before its first one, so it cannot be resumed. Start a new run.`, 'no-checkpoint');
    }
    if (record.model.fingerprint !== loaded.summary.fingerprint) {
      throw new EngineRefusal(
        `Run ${runId} trained ${record.model.name} (${record.model.paramCount.toLocaleString('en-US')} parameters); the loaded model is ` +
          `${loaded.summary.files.join(' + ')}. Load ${record.model.name} to resume it.`,
        'model-mismatch',
      );
    }
    try {
      checkCheckpoint(checkpoint);
    } catch (e) {
      throw new EngineRefusal(`Run ${runId}'s stored checkpoint cannot be used: ${(e as Error).message}.`, 'checkpoint');
    }
    refuseIfBusy();
    const d = record.data;
    post({ type: 'progress', id, stage: 'data', message: `Tokenising the run's data (${d.fileName})` });
    const data = prepare(d.fileName, d.text, d.format, d.source, d.split);
    const probe = record.probe ? probeWindows(record.probe, record.config.seq) : [];
    await asRun(id, runId, async (run) => {
      post({ type: 'progress', id, stage: 'uploading', message: `Restoring run ${runId} from its checkpoint at step ${checkpoint.step}` });
      const model = await freshModel(loaded);
      const trainer = await Trainer.restore(model, checkpoint);
      const config = trainer.config;
      const tuned: Tuned = { runId, method: config.method, config, steps: checkpoint.step, spectralInitial: trainer.spectral?.initial };
      loaded.tuned = tuned;
      const history = metricsUpTo(record, checkpoint.step);
      const stored: StoredRun = { ...record, ...history, status: 'running', error: undefined };
      const saver = new RunSaver(id, stored, checkpointEvery);
      const session: Session = {
        id, run, trainer, model, tuned, config, data, tokenizer, saver,
        activeMs: record.activeMs, evalLoss: finite(history.eval.at(-1)?.loss),
        probe, ...(record.probe ? { probeInfo: probeInfo(record.probe.fileName, probe) } : {}), original: loaded.base,
      };
      await saver.status('running');
      post({ type: 'trainStarted', id, run: runInfo(session, { fromStep: checkpoint.step, ...history, activeMs: record.activeMs }) });
      return session;
    });
  } catch (e) {
    post(errorEvent(id, e));
  }
}

export async function handleTrainControl(id: number, action: RunControl): Promise<void> {
  const run = engine.run;
  if (!run || !(run instanceof Run)) {
    post({ type: 'error', id, message: 'No training run is in progress.', code: 'no-run' });
    return;
  }
  const state = await run.control(action);
  post({ type: 'trainState', id, runId: run.runId, state, step: engine.loaded?.tuned?.steps ?? 0 });
}

/** Stop the run (if any) and wait until its loop has let go of the model. */
export async function stopTraining(): Promise<void> {
  const run = engine.run;
  if (run instanceof Run) {
    void run.control('stop');
    await run.done;
  }
}
