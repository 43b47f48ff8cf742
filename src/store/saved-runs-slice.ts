/**
 * Runs kept in the browser's storage: the list (with this site's storage use), deleting a run, how
 * often the engine checkpoints, and what the engine reports while it saves — the last checkpoint
 * written and any storage problem (a full quota is explained, never silent). Finished saved runs
 * also join the compare list. Resuming lives in run-slice (resumeSavedRun).
 */
import type { SavedRunSummary } from '../schema/stored-run.ts';
import type { StorageProblemCode } from '../schema/stored-run.ts';
import type { SliceCreator } from './app-state.ts';
import { engine } from './engine.ts';
import { isMethodId } from './methods.ts';
import { updateSummary } from './update-rank.ts';
import type { FinishedRun } from './runs-slice.ts';

export interface SavedRunsSlice {
  /** null until the engine has listed them. */
  savedRuns: SavedRunSummary[] | null;
  /** This site's storage use and quota in bytes, when the browser tells. */
  storageUse: { usage: number; quota: number } | null;
  savedRunsError: string | null;
  /** The last checkpoint the engine saved for the current run. */
  lastSaved: { runId: number; step: number; bytes: number } | null;
  /** A save that failed during the current run, explained. */
  storageProblem: { runId: number; code: StorageProblemCode; message: string } | null;
  /** Steps between two checkpoints of a run (0: only on pause, stop and end). */
  checkpointEvery: number;
  setCheckpointEvery(steps: number): void;
  refreshSavedRuns(): Promise<void>;
  deleteSavedRun(runId: number): Promise<void>;
  /** Listen to the engine's runSaved and storageProblem events; returns the unsubscribe function. */
  watchStorage(): () => void;
}

/** A saved run that ended (completed or stopped), as the compare list keeps it. */
function finishedRun(r: SavedRunSummary): FinishedRun | null {
  if ((r.status !== 'completed' && r.status !== 'stopped') || r.checkpointStep === 0) return null;
  const methodId = isMethodId(r.methodId) ? r.methodId : isMethodId(r.config.method) ? r.config.method : null;
  if (!methodId) return null;
  return {
    runId: r.runId, methodId, config: r.config, trainableCount: r.trainableCount, train: r.train, eval: r.eval,
    reason: r.status, steps: r.checkpointStep, finalLoss: r.finalLoss, evalLoss: r.evalLoss,
    tokensPerSec: r.activeMs > 0 ? (r.tokensPerStep * r.checkpointStep) / (r.activeMs / 1000) : 0,
    update: updateSummary(r.spectra),
    dataId: r.dataId, probeId: r.probeId ?? null,
  };
}

export const createSavedRunsSlice: SliceCreator<SavedRunsSlice> = (set, get) => ({
  savedRuns: null,
  storageUse: null,
  savedRunsError: null,
  lastSaved: null,
  storageProblem: null,
  checkpointEvery: 10,
  setCheckpointEvery(steps) {
    set({ checkpointEvery: steps });
  },
  async refreshSavedRuns() {
    try {
      const r = await engine().request({ type: 'listRuns' }).result;
      set({ savedRuns: r.runs, storageUse: r.storage, savedRunsError: null });
      get().addSavedRunRecords(r.runs.map(finishedRun).filter((f): f is FinishedRun => f !== null));
    } catch (e) {
      set({ savedRunsError: (e as Error).message });
    }
  },
  async deleteSavedRun(runId) {
    try {
      await engine().request({ type: 'deleteRun', runId }).result;
      get().removeRunRecord(runId);
      await get().refreshSavedRuns();
    } catch (e) {
      set({ savedRunsError: (e as Error).message });
    }
  },
  watchStorage() {
    return engine().subscribe((e) => {
      if (e.type === 'runSaved') set({ lastSaved: { runId: e.runId, step: e.step, bytes: e.bytes }, storageProblem: null });
      else if (e.type === 'storageProblem') set({ storageProblem: { runId: e.runId, code: e.code, message: e.message } });
    });
  },
});
