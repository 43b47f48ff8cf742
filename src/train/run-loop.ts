/**
 * One training run, written once for every host: the CLI (metrics.jsonl and a run directory), the
 * studio's worker (events and IndexedDB) and pretraining all drive this loop and differ only in the
 * sink they give it.
 *
 * The loop owns what a run's numbers depend on: the seeded batch order and its replay after a resume,
 * the eval and probe batches (cut once), the eval cadence (every `evalEvery` steps and at the end;
 * before the first step when a fresh run has a probe), the spectra and checkpoint cadence, and stopping.
 * Step metrics stay in the trainer's GPU ring and are read back every `readEvery` steps, or sooner when
 * something is shown or written (an eval, spectra, a checkpoint, a pause, the end), so a step is one
 * submission with no readback on the way.
 */
import type { RunStep } from '../schema/metrics.ts';
import { batchesServed } from './checkpoint.ts';
import { BatchIterator, orderedBatches, type Batch, type PackedWindow } from './packing.ts';
import type { StepMetrics, Trainer } from './trainer.ts';

/** Losses measured at one step: on the eval split (NaN when it has none) and on the forgetting probe. */
export interface RunEval {
  step: number;
  loss: number;
  probe?: number;
}

/** Why the sink is asked for a checkpoint. */
export type CheckpointReason = 'due' | 'paused' | 'end';

/** What the loop asks of its host between steps. */
export type BoundaryAnswer = 'go' | 'stop';

/** Where a run's numbers go; every method may be async and is awaited in order. */
export interface RunSink {
  /** Steps read back since the last call, in order (each at most once). */
  steps(points: readonly RunStep[]): void | Promise<void>;
  /** An eval's losses; called after `steps` has seen the step it belongs to (step 0: before any). */
  eval?(point: RunEval): void | Promise<void>;
  /**
   * After step `step` has been reported: spectra or other between-step work (`final`: the run's last
   * step). After a stop it is called once more for the last step with `final` true.
   */
  afterStep?(step: number, final: boolean): void | Promise<void>;
  /** Write a checkpoint of the trainer as it is now (`elapsedMs`: the run's training time so far). */
  checkpoint?(reason: CheckpointReason, step: number, elapsedMs: number): void | Promise<void>;
  /**
   * Between two steps: answer controls and wait while paused. `flush` reports pending steps first and
   * `pause` does that and checkpoints: call them before showing a paused state.
   */
  boundary?(step: number, hooks: { flush(): Promise<void>; pause(): Promise<void> }): BoundaryAnswer | Promise<BoundaryAnswer>;
  /** The last step is done: what remains is the final eval, spectra and checkpoint. */
  finishing?(step: number): void;
}

/** What one run trains on and how often it looks up. */
export interface RunPlan {
  trainer: Trainer;
  /** Training windows, drawn in the seeded order of BatchIterator (replayed past the trainer's step). */
  train: readonly PackedWindow[];
  /** The eval split and the forgetting probe (either may be empty). */
  eval: readonly PackedWindow[];
  probe?: readonly PackedWindow[];
  /** Pad id of eval batches. */
  padId: number;
  /** Evaluate before the first step (a fresh run with a probe: forgetting is measured from there). */
  evalAtStart?: boolean;
  /** Steps between checkpoints (0: only at the end and on pause). */
  checkpointEvery?: number;
  /** Read the metrics back at least every this many steps (default 16; the trainer's ring holds 256). */
  readEvery?: number;
  /** …or once this much time has passed since the last readback (default: no time limit). */
  readEveryMs?: number;
  /** Training time already spent (a resumed run's), in ms. */
  elapsedMs?: number;
}

/** How a run ended. */
export interface RunOutcome {
  /** The trainer's step at the end. */
  steps: number;
  stopped: boolean;
  /** The last step's training loss (null when no step was taken in this loop). */
  lastLoss: number | null;
  /** The last eval this loop measured. */
  lastEval: RunEval | null;
  elapsedMs: number;
  /** The most GPU bytes the buffer pool held at once during the loop (weights, state and every step's transients). */
  peakGpuBytes: number;
}

const DEFAULT_READ_EVERY = 16;

/** Train `plan.trainer` from its current step to its config's `steps` (read anew each step), reporting to `sink`. */
export async function runTraining(plan: RunPlan, sink: RunSink): Promise<RunOutcome> {
  const { trainer } = plan;
  const config = trainer.config;
  const readEvery = Math.min(255, Math.max(1, plan.readEvery ?? DEFAULT_READ_EVERY));
  const tokensPerStep = config.batch * config.seq * config.gradAccum;
  const startStep = trainer.step;
  const pool = trainer.model.gpu.pool;
  pool.resetPeak(); // the run's own peak: what is live now (weights, trainer state) and what its steps add

  const batches = new BatchIterator(plan.train, config.batch, config.seed);
  for (let i = 0; i < batchesServed({ step: startStep, config }); i++) batches.next(); // replay the batches already trained on
  const cut = (windows: readonly PackedWindow[]): Batch[] => {
    const all = [...orderedBatches(windows, config.batch, plan.padId)];
    return config.evalBatches > 0 ? all.slice(0, config.evalBatches) : all;
  };
  const evalBatches = cut(plan.eval);
  const probeBatches = cut(plan.probe ?? []);
  const evaluates = evalBatches.length > 0 || probeBatches.length > 0;

  let elapsedMs = plan.elapsedMs ?? 0;
  let lastLoss: number | null = null;
  let lastEval: RunEval | null = null;
  /** Steps recorded but not yet read: their epochs, and the span of training time they took. */
  let pendingEpochs: number[] = [];
  let spanStart = performance.now();
  let lastRead = spanStart;

  /** Read the pending steps back and report them; the span's time counts as training time. */
  const flush = async (): Promise<void> => {
    if (pendingEpochs.length === 0) return;
    const metrics: StepMetrics[] = await trainer.readMetrics();
    const now = performance.now();
    const spanMs = now - spanStart;
    const perStep = spanMs / metrics.length;
    const points = metrics.map((m, i): RunStep => ({
      step: m.step, loss: m.loss, lr: m.lr, gradNorm: m.gradNorm,
      tokensPerSec: (tokensPerStep * 1000) / perStep,
      elapsedMs: elapsedMs + perStep * (i + 1),
      epoch: pendingEpochs[i]!,
      peakGpuBytes: pool.stats().peakBytes,
    }));
    elapsedMs += spanMs;
    pendingEpochs = [];
    lastRead = now;
    lastLoss = points.at(-1)!.loss;
    await sink.steps(points);
    spanStart = performance.now();
  };
  /** Time spent outside training (evals, spectra, checkpoints) is not counted, nor shown as tokens/s. */
  const aside = async (work: () => Promise<void> | void): Promise<void> => {
    await flush();
    await work();
    spanStart = performance.now();
  };
  const evaluate = async (step: number): Promise<void> => {
    const loss = evalBatches.length > 0 ? await trainer.evaluate(evalBatches) : NaN;
    const point: RunEval = probeBatches.length > 0 ? { step, loss, probe: await trainer.evaluate(probeBatches) } : { step, loss };
    lastEval = point;
    await sink.eval?.(point);
  };
  /** Evals count in the run's elapsed time (they are part of training it), never in a step's tokens/s. */
  const measured = async (work: () => Promise<void>): Promise<void> => {
    await flush();
    const t0 = performance.now();
    await work();
    elapsedMs += performance.now() - t0;
    spanStart = performance.now();
  };

  if (startStep === 0 && plan.evalAtStart && evaluates) await measured(() => evaluate(0));

  let stopped = false;
  const hooks = {
    flush,
    pause: async () => {
      await flush();
      await sink.checkpoint?.('paused', trainer.step, elapsedMs);
      spanStart = performance.now();
    },
  };
  while (trainer.step < config.steps) {
    if (sink.boundary) {
      const boundaryStart = performance.now();
      const answer = await sink.boundary(trainer.step, hooks);
      spanStart += performance.now() - boundaryStart; // a pause is not training time
      if (answer === 'stop') {
        stopped = true;
        break;
      }
    }
    const micro = Array.from({ length: config.gradAccum }, () => batches.next());
    trainer.recordStep(micro);
    pendingEpochs.push(micro[micro.length - 1]!.epoch);
    const step = trainer.step;
    const final = step >= config.steps;
    const evalNow = evaluates && ((config.evalEvery > 0 && step % config.evalEvery === 0) || final);
    const checkpointNow = (plan.checkpointEvery ?? 0) > 0 && step % plan.checkpointEvery! === 0 && !final;
    const late = plan.readEveryMs !== undefined && performance.now() - lastRead >= plan.readEveryMs;
    if (pendingEpochs.length >= readEvery || late || final || evalNow || checkpointNow) await flush();
    if (final) sink.finishing?.(step);
    if (evalNow) await measured(() => evaluate(step));
    if (sink.afterStep) await aside(() => sink.afterStep!(step, final));
    if (checkpointNow && sink.checkpoint) await aside(() => sink.checkpoint!('due', step, elapsedMs));
  }
  await flush();
  const steps = trainer.step;
  if (stopped && steps > startStep) {
    sink.finishing?.(steps);
    if (evaluates && (lastEval as RunEval | null)?.step !== steps) await measured(() => evaluate(steps));
    if (sink.afterStep) await sink.afterStep(steps, true);
  }
  await sink.checkpoint?.('end', steps, elapsedMs);
  return { steps, stopped, lastLoss, lastEval, elapsedMs, peakGpuBytes: pool.stats().peakBytes };
}
