/**
 * The finished runs, kept for comparison: each run's method, settings, loss series and outcome.
 * The current run is recorded when it finishes or is stopped (see run-slice); finished runs saved
 * in the browser join when the saved-runs list is read (see saved-runs-slice). Which runs are ticked
 * for comparison is remembered across reloads (compare-ticks.ts).
 */
import type { TrainConfig } from '../schema/train-config.ts';
import type { DataIdentity } from '../schema/data-identity.ts';
import type { FinishReason } from '../workers/protocol.ts';
import type { EvalPoint, RunStep } from '../schema/metrics.ts';
import type { SliceCreator } from './app-state.ts';
import { loadTicks, saveTicks } from './compare-ticks.ts';
import { methodRow, type MethodId } from './methods.ts';
import type { UpdateSummary } from './update-rank.ts';

export interface RunRecord {
  runId: number;
  /** The run's number, as in "Run 2": its engine run id, stable across reloads. */
  index: number;
  methodId: MethodId;
  /** e.g. "Run 2 · MiLoRA r8". */
  label: string;
  config: TrainConfig;
  trainableCount: number;
  train: RunStep[];
  eval: EvalPoint[];
  reason: FinishReason;
  steps: number;
  finalLoss: number | null;
  evalLoss: number | null;
  /** Trained tokens over training wall time. */
  tokensPerSec: number;
  /** ΔW's mean rank90 and subspace overlaps over the modules' latest spectra rounds (null: no rounds). */
  update: UpdateSummary | null;
  /** What it trained on (null: not known) and its forgetting probe's text (null: no probe). */
  dataId: DataIdentity | null;
  probeId: DataIdentity | null;
}

/** What run-slice hands over when a run ends (the record without its index and label). */
export type FinishedRun = Omit<RunRecord, 'index' | 'label'>;

export interface RunsSlice {
  runs: RunRecord[];
  /** Run ids shown in the compare panel, in the order they were ticked. */
  compareRunIds: number[];
  addRunRecord(run: FinishedRun): void;
  /** Add saved finished runs not listed yet (ticked when they were ticked before the page was reloaded). */
  addSavedRunRecords(runs: FinishedRun[]): void;
  /** Drop a run (deleted from storage). */
  removeRunRecord(runId: number): void;
  setRunCompared(runId: number, on: boolean): void;
  compareLogScale: boolean;
  setCompareLogScale(on: boolean): void;
}

/** "Run 2 · MiLoRA r8" (no rank for full fine-tuning). */
export function runLabel(index: number, methodId: MethodId, config: TrainConfig): string {
  const row = methodRow(methodId);
  return `Run ${index} · ${row.label}${row.uses.rank ? ` r${config.rank}` : ''}`;
}

const toRecord = (run: FinishedRun): RunRecord => ({ ...run, index: run.runId, label: runLabel(run.runId, run.methodId, run.config) });

/** The ticked run ids as last remembered (including saved runs not listed yet). */
const remembered = loadTicks();

/** Tick or untick `runId` in `ids`, and remember it. */
function withTick(ids: readonly number[], runId: number, on: boolean): number[] {
  if (on) remembered.add(runId);
  else remembered.delete(runId);
  saveTicks(remembered);
  if (on) return ids.includes(runId) ? [...ids] : [...ids, runId];
  return ids.filter((id) => id !== runId);
}

export const createRunsSlice: SliceCreator<RunsSlice> = (set) => ({
  runs: [],
  compareRunIds: [],
  compareLogScale: false,
  addRunRecord(run) {
    set((s) => {
      const runs = [...s.runs.filter((r) => r.runId !== run.runId), toRecord(run)].sort((a, b) => a.runId - b.runId);
      return { runs, compareRunIds: withTick(s.compareRunIds, run.runId, true) };
    });
  },
  addSavedRunRecords(saved) {
    set((s) => {
      const fresh = saved.filter((f) => !s.runs.some((r) => r.runId === f.runId));
      if (fresh.length === 0) return {};
      const ticked = fresh.filter((f) => remembered.has(f.runId) && !s.compareRunIds.includes(f.runId)).map((f) => f.runId);
      return { runs: [...s.runs, ...fresh.map(toRecord)].sort((a, b) => a.runId - b.runId), compareRunIds: [...s.compareRunIds, ...ticked] };
    });
  },
  removeRunRecord(runId) {
    set((s) => ({ runs: s.runs.filter((r) => r.runId !== runId), compareRunIds: withTick(s.compareRunIds, runId, false) }));
  },
  setRunCompared(runId, on) {
    set((s) => ({ compareRunIds: withTick(s.compareRunIds, runId, on) }));
  },
  setCompareLogScale(on) {
    set({ compareLogScale: on });
  },
});
