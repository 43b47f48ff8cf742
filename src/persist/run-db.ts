/**
 * The browser's store of training runs: an IndexedDB database with the runs (StoredRun, by run id)
 * and their latest checkpoints (TrainerCheckpoint, by run id). A run and its checkpoint are written
 * in one transaction, so a reload never finds metrics that run ahead of the checkpoint. Works in the
 * page and in the engine worker. A full disk or quota becomes a StorageError that says how much the
 * site uses and may use.
 */
import type { TrainerCheckpoint } from '../train/checkpoint.ts';
import type { StorageProblemCode, StoredRun } from '../schema/stored-run.ts';

const DB_NAME = 'subspace';
const DB_VERSION = 2;
const RUNS = 'runs';
const CHECKPOINTS = 'checkpoints';
/** Small key → value records; 'nextRunId' hands out run ids (version 2). */
const META = 'meta';


/** Storage refused a write (quota), or there is no IndexedDB here; the message explains it. */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly code: StorageProblemCode,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

interface CheckpointRow {
  runId: number;
  step: number;
  checkpoint: TrainerCheckpoint;
}

/** Usage and quota of this site's storage, in bytes (null when the browser does not say). */
export async function storageEstimate(): Promise<{ usage: number; quota: number } | null> {
  try {
    const e = await navigator.storage?.estimate?.();
    return e && typeof e.usage === 'number' && typeof e.quota === 'number' ? { usage: e.usage, quota: e.quota } : null;
  } catch {
    return null;
  }
}

export const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;

/** " This site uses 12.3 MB of the 45.6 MB the browser allows it." (empty when the browser does not say). */
export async function storageUseSentence(): Promise<string> {
  const est = await storageEstimate();
  return est ? ` This site uses ${mb(est.usage)} of the ${mb(est.quota)} the browser allows it.` : '';
}

/** Whether `e` is the browser refusing a write for lack of storage. */
export const isQuotaError = (e: unknown): boolean => (e as { name?: string } | null)?.name === 'QuotaExceededError';

/** The StorageError for a failed write of `what` (`bytes` big). */
async function writeError(e: DOMException | Error | null, what: string, bytes: number): Promise<StorageError> {
  if (isQuotaError(e)) {
    const usage = await storageUseSentence();
    return new StorageError(
      `Browser storage is full: ${what}${bytes > 0 ? ` (${mb(bytes)})` : ''} could not be saved.${usage} Delete saved runs you no longer need, or free disk space, to keep checkpoints.`,
      'quota',
    );
  }
  return new StorageError(`${what} could not be saved: ${e?.message ?? 'the browser refused the write'}.`, 'failed');
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('the transaction was aborted'));
  });
}

export class RunDb {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(): Promise<RunDb> {
    if (typeof indexedDB === 'undefined') {
      throw new StorageError('This browser offers no IndexedDB here, so runs and checkpoints cannot be kept across reloads.', 'unavailable');
    }
    const open = indexedDB.open(DB_NAME, DB_VERSION);
    open.onupgradeneeded = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains(RUNS)) db.createObjectStore(RUNS, { keyPath: 'runId' });
      if (!db.objectStoreNames.contains(CHECKPOINTS)) db.createObjectStore(CHECKPOINTS, { keyPath: 'runId' });
      if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
    };
    try {
      return new RunDb(await request(open));
    } catch (e) {
      throw new StorageError(`The browser's run storage (IndexedDB "${DB_NAME}") could not be opened: ${(e as Error)?.message ?? e}.`, 'unavailable');
    }
  }

  /** Write `run`, and with it its checkpoint when given, atomically. */
  async save(run: StoredRun, checkpoint?: TrainerCheckpoint, checkpointBytes = 0): Promise<void> {
    const what = checkpoint ? `the checkpoint of run ${run.runId} at step ${checkpoint.step}` : `run ${run.runId}'s record`;
    try {
      const tx = this.db.transaction(checkpoint ? [RUNS, CHECKPOINTS] : [RUNS], 'readwrite');
      const finished = done(tx);
      tx.objectStore(RUNS).put(run);
      if (checkpoint) tx.objectStore(CHECKPOINTS).put({ runId: run.runId, step: checkpoint.step, checkpoint } satisfies CheckpointRow);
      await finished;
    } catch (e) {
      throw await writeError(e as DOMException, what, checkpointBytes);
    }
  }

  async run(runId: number): Promise<StoredRun | undefined> {
    return request(this.db.transaction(RUNS).objectStore(RUNS).get(runId) as IDBRequest<StoredRun | undefined>);
  }

  async checkpoint(runId: number): Promise<TrainerCheckpoint | undefined> {
    const row = await request(this.db.transaction(CHECKPOINTS).objectStore(CHECKPOINTS).get(runId) as IDBRequest<CheckpointRow | undefined>);
    return row?.checkpoint;
  }

  /** Every stored run, oldest first. */
  async runs(): Promise<StoredRun[]> {
    return request(this.db.transaction(RUNS).objectStore(RUNS).getAll() as IDBRequest<StoredRun[]>);
  }

  /**
   * A run id no run in this browser profile has or will get: above every stored run and every id
   * handed out before, taken in one read-write transaction, so two tabs never get the same id.
   */
  async allocateRunId(atLeast = 1): Promise<number> {
    const tx = this.db.transaction([RUNS, META], 'readwrite');
    const finished = done(tx);
    const last = tx.objectStore(RUNS).openKeyCursor(null, 'prev');
    const next = tx.objectStore(META).get('nextRunId') as IDBRequest<number | undefined>;
    let id = 0;
    // Callbacks, not awaits, between the reads and the write: the transaction stays active.
    next.onsuccess = () => {
      const key = last.result?.key;
      id = Math.max(atLeast, next.result ?? 1, typeof key === 'number' ? key + 1 : 1);
      tx.objectStore(META).put(id + 1, 'nextRunId');
    };
    await finished;
    return id;
  }

  /** A record of the meta store (e.g. the Lab's preset in progress, see workers/engine/lab.ts); undefined when absent. */
  async meta<T>(key: string): Promise<T | undefined> {
    return request(this.db.transaction(META).objectStore(META).get(key) as IDBRequest<T | undefined>);
  }

  /** Write (or, with undefined, delete) a record of the meta store. */
  async putMeta(key: string, value: unknown): Promise<void> {
    try {
      const tx = this.db.transaction(META, 'readwrite');
      const finished = done(tx);
      if (value === undefined) tx.objectStore(META).delete(key);
      else tx.objectStore(META).put(value, key);
      await finished;
    } catch (e) {
      throw await writeError(e as DOMException, `the record "${key}"`, 0);
    }
  }

  /** Remove a run and its checkpoint. */
  async delete(runId: number): Promise<void> {
    const tx = this.db.transaction([RUNS, CHECKPOINTS], 'readwrite');
    const finished = done(tx);
    tx.objectStore(RUNS).delete(runId);
    tx.objectStore(CHECKPOINTS).delete(runId);
    await finished;
  }
}
