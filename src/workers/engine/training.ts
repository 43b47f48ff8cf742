/**
 * Training runs in the worker, wired as the CLI's `train` does: a fresh upload of the base weights,
 * a Trainer, shuffled batches of the prepared windows, one optimizer step at a time with its metrics
 * read back and posted, eval losses every `evalEvery` steps and at the end. Between steps the loop
 * yields to the event loop, so pause, resume and stop (and anything else) are handled mid-run.
 */
import { LlamaModel } from '../../model/llama.ts';
import { validateTrainConfig, type TrainConfig } from '../../train/config.ts';
import { BatchIterator, orderedBatches, type Batch } from '../../train/packing.ts';
import { SPECTRAL_METHODS } from '../../train/config.ts';
import { Trainer } from '../../train/trainer.ts';
import type { DataSplit, RunControl, RunInfo, RunState } from '../protocol.ts';
import { prepare, sameSplit } from './data.ts';
import { spectraAfterStep } from './spectra.ts';
import {
  EngineRefusal, engine, errorEvent, post, requireGpu, requireModel, requireTokenizer, type ActiveRun, type Loaded,
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

  /** Called by the loop between steps: answers controls, then waits while paused. */
  async atBoundary(step: number): Promise<void> {
    const waiting = this.boundary.splice(0);
    for (const w of waiting) w();
    if (waiting.length > 0) post({ type: 'trainState', id: this.id, runId: this.runId, state: this.state, step });
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
function freshModel(loaded: Loaded): LlamaModel {
  if (loaded.tuned || loaded.model.adapters.size > 0) {
    const gpu = requireGpu();
    const fresh = LlamaModel.upload(gpu, loaded.weights);
    loaded.model.dispose();
    loaded.model = fresh;
    loaded.tuned = null;
  }
  return loaded.model;
}

const yieldToEvents = () => new Promise<void>((r) => setTimeout(r, 0));

export async function handleStartTraining(id: number, requested: TrainConfig, evalFraction: number): Promise<void> {
  let run: Run | null = null;
  let trainer: Trainer | null = null;
  try {
    if (engine.run) throw new EngineRefusal('A training run is already in progress: stop it first.', 'busy');
    if (engine.generation) throw new EngineRefusal('A generation is running: wait for it or stop it first.', 'busy');
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
    const { train, eval: evalWindows } = data.prepared;
    if (train.length === 0) throw new EngineRefusal('The data gives no training windows.', 'no-data');

    run = new Run(id, engine.nextRunId++);
    engine.run = run;
    post({ type: 'progress', id, stage: 'uploading', message: 'Copying the base weights for a fresh run' });
    const model = freshModel(loaded);
    if (SPECTRAL_METHODS.includes(config.method)) {
      post({ type: 'progress', id, stage: 'uploading', message: 'SVD of every target weight for the initial adapters' });
    }
    trainer = await Trainer.init(model, config); // PiSSA/MiLoRA run their SVDs here
    loaded.tuned = { runId: run.runId, method: config.method, config, steps: 0, spectralInitial: trainer.spectral?.initial };
    const tokensPerStep = config.batch * config.seq * config.gradAccum;
    const info: RunInfo = {
      runId: run.runId,
      config,
      trainableCount: trainer.trainableCount,
      paramCount: model.parameterCount,
      tokensPerStep,
      data: data.summary,
    };
    post({ type: 'trainStarted', id, run: info });

    const batches = new BatchIterator(train, config.batch, config.seed);
    const evalBatches = (): Batch[] => {
      const all = [...orderedBatches(evalWindows, config.batch, tokenizer.eosId)];
      return config.evalBatches > 0 ? all.slice(0, config.evalBatches) : all;
    };
    const evaluate = async (step: number): Promise<number> => {
      const loss = await trainer!.evaluate(evalBatches());
      post({ type: 'trainEval', id, point: { step, loss } });
      return loss;
    };

    let activeMs = 0;
    let lastLoss: number | null = null;
    let evalLoss: number | null = null;
    let lastEvalStep = 0;
    let epoch = 0;
    for (let step = 1; step <= config.steps; step++) {
      await run.atBoundary(step - 1);
      if (run.state === 'stopping') break;
      const t0 = performance.now();
      const micro = Array.from({ length: config.gradAccum }, () => batches.next());
      epoch = micro[micro.length - 1]!.epoch;
      trainer.recordStep(micro);
      const [m] = await trainer.readMetrics();
      const ms = performance.now() - t0;
      activeMs += ms;
      lastLoss = m!.loss;
      loaded.tuned.steps = step;
      post({
        type: 'trainStep',
        id,
        point: { step, loss: m!.loss, lr: m!.lr, gradNorm: m!.gradNorm, tokensPerSec: (tokensPerStep * 1000) / ms, elapsedMs: activeMs, epoch },
      });
      const evalNow = evalWindows.length > 0 && ((config.evalEvery > 0 && step % config.evalEvery === 0) || step === config.steps);
      if (evalNow) {
        const e0 = performance.now();
        evalLoss = await evaluate(step);
        activeMs += performance.now() - e0;
        lastEvalStep = step;
      }
      // Queued spectrum requests and every N steps a budgeted spectra round (not counted as training time).
      await spectraAfterStep(id, run.runId, step, model, config.targets, loaded.tuned.spectralInitial, step === config.steps);
      await yieldToEvents();
    }
    const steps = loaded.tuned.steps;
    const stopped = steps < config.steps;
    if (stopped && evalWindows.length > 0 && steps > 0 && lastEvalStep !== steps) evalLoss = await evaluate(steps);
    run.close();
    post({
      type: 'trainFinished',
      id,
      runId: run.runId,
      reason: stopped ? 'stopped' : 'completed',
      steps,
      ms: activeMs,
      finalLoss: lastLoss,
      evalLoss,
    });
  } catch (e) {
    post(errorEvent(id, e));
  } finally {
    trainer?.dispose();
    if (run) {
      run.close();
      if (engine.run === run) engine.run = null;
      run.finish();
    }
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
