/**
 * Runs kept in the browser's storage, from the worker: the run store opened once, run ids that stay
 * unique across reloads, a RunSaver that writes a run's record and checkpoint as the loop asks, and
 * the listRuns / deleteRun commands. Storage failures never stop training: they are posted as
 * storageProblem events that say what was not saved and why.
 */
import { RunDb, StorageError } from '../../persist/run-db.ts';
import { storageEstimate } from '../../persist/run-db.ts';
import { metricsUpTo, runLockName, summarizeRun, type StoredRun, type StoredRunStatus } from '../../schema/stored-run.ts';
import { type SpectraRound } from '../../schema/metrics.ts';
import { checkpointBytes } from '../../train/checkpoint.ts';
import type { Trainer } from '../../train/trainer.ts';
import type { EvalPoint, RunStep } from '../../schema/metrics.ts';
import { EngineRefusal, engine, errorEvent, post } from './state.ts';

let opening: Promise<RunDb> | null = null;

/** The run store (opened on first use; a failure is remembered and rethrown). */
export function runDb(): Promise<RunDb> {
  opening ??= RunDb.open();
  return opening;
}

/** A run id no saved run has (nor one another tab is starting), so a new run never overwrites a saved one. */
export async function newRunId(): Promise<number> {
  try {
    engine.nextRunId = await (await runDb()).allocateRunId(engine.nextRunId);
  } catch {
    // No storage: ids only need to be unique in this session.
  }
  return engine.nextRunId++;
}

/** Writes one run to storage as its loop goes; keeps the metrics the record carries. */
export class RunSaver {
  /** Set after a failed write; cleared by the next good one (so each new problem is reported once). */
  private failing = false;

  constructor(
    /** The request id the run's events go to. */
    private readonly id: number,
    readonly record: StoredRun,
    /** Checkpoint every this many steps (0: only on pause, stop and end). */
    readonly every: number,
  ) {}

  addStep(p: RunStep): void {
    this.record.train.push(p);
  }

  addEval(p: EvalPoint): void {
    this.record.eval.push(p);
  }

  addSpectra(p: SpectraRound): void {
    this.record.spectra.push(p);
  }

  /** Save the record with a checkpoint of `trainer` (between two steps) and status `status`. */
  async checkpoint(trainer: Trainer, status: StoredRunStatus, activeMs: number, outcome: Partial<StoredRun> = {}): Promise<void> {
    // Never overwrite the last good checkpoint with what a lost device reads back.
    if (engine.gpu !== trainer.model.gpu) throw new Error('The GPU device was lost: the run keeps its last checkpoint.');
    const checkpoint = await trainer.checkpoint();
    const bytes = checkpointBytes(checkpoint);
    const r = this.record;
    Object.assign(r, outcome, { status, checkpointStep: checkpoint.step, checkpointBytes: bytes, activeMs, updatedAt: Date.now() });
    // The record describes the checkpoint: nothing after its step.
    const saved: StoredRun = { ...r, ...metricsUpTo(r, checkpoint.step) };
    if (await this.write(() => runDb().then((db) => db.save(saved, checkpoint, bytes)))) {
      post({ type: 'runSaved', id: this.id, runId: r.runId, step: checkpoint.step, bytes });
    }
  }

  /** Save the record alone (its checkpoint stays as it was), e.g. when the run failed. */
  async status(status: StoredRunStatus, outcome: Partial<StoredRun> = {}): Promise<void> {
    Object.assign(this.record, outcome, { status, updatedAt: Date.now() });
    const stored: StoredRun = { ...this.record, ...metricsUpTo(this.record, this.record.checkpointStep) };
    await this.write(() => runDb().then((db) => db.save(stored)));
  }

  private async write(save: () => Promise<void>): Promise<boolean> {
    try {
      await save();
      this.failing = false;
      return true;
    } catch (e) {
      if (!this.failing) {
        const problem = e instanceof StorageError ? e : new StorageError(`Run ${this.record.runId} could not be saved: ${(e as Error).message}`, 'failed');
        post({ type: 'storageProblem', id: this.id, runId: this.record.runId, code: problem.code, message: problem.message });
      }
      this.failing = true;
      return false;
    }
  }
}

/** The Web Locks API of this worker, where there is one. */
const locks = (): LockManager | undefined => (globalThis.navigator as Navigator | undefined)?.locks;

/** Run ids whose engine holds the run's lock now: training in this tab or another one. */
async function liveRunIds(): Promise<Set<number>> {
  const held = (await locks()?.query())?.held ?? [];
  const ids = new Set<number>();
  for (const l of held) {
    const m = /^subspace-run-(\d+)$/.exec(l.name ?? '');
    if (m) ids.add(Number(m[1]));
  }
  return ids;
}

/**
 * Hold run `runId`'s lock until `done` settles, so other tabs see the run as live; false when another
 * tab holds it (the run trains there). Without the Web Locks API every run counts as free.
 */
export async function lockRun(runId: number, done: Promise<void>): Promise<boolean> {
  const manager = locks();
  if (!manager) return true;
  return new Promise<boolean>((resolve) => {
    void manager.request(runLockName(runId), { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock ? done : undefined;
    });
  });
}

export async function handleListRuns(id: number): Promise<void> {
  try {
    const runs = await (await runDb()).runs();
    const live = await liveRunIds();
    post({ type: 'runs', id, runs: runs.map((r) => summarizeRun(r, engine.run?.runId ?? null, live)), storage: await storageEstimate() });
  } catch (e) {
    post(errorEvent(id, e instanceof StorageError ? new EngineRefusal(e.message, `storage-${e.code}`) : e));
  }
}

export async function handleDeleteRun(id: number, runId: number): Promise<void> {
  try {
    if (engine.run?.runId === runId || (await liveRunIds()).has(runId)) {
      throw new EngineRefusal(`Run ${runId} is training (here or in another tab): stop it before deleting it.`, 'busy');
    }
    await (await runDb()).delete(runId);
    post({ type: 'runDeleted', id, runId });
  } catch (e) {
    post(errorEvent(id, e instanceof StorageError ? new EngineRefusal(e.message, `storage-${e.code}`) : e));
  }
}
