/**
 * The finished runs of this session, kept for comparison: each run's method, settings, loss
 * series and outcome. The current run is recorded when it finishes or is stopped (see run-slice).
 */
import type { TrainConfig } from '../train/config.ts';
import type { EvalPoint, FinishReason, StepPoint } from '../workers/protocol.ts';
import type { SliceCreator } from './app-state.ts';
import { methodRow, type MethodId } from './methods.ts';

export interface RunRecord {
  runId: number;
  /** 1-based position in this session's list: "Run 2". */
  index: number;
  methodId: MethodId;
  /** e.g. "Run 2 · MiLoRA r8". */
  label: string;
  config: TrainConfig;
  trainableCount: number;
  train: StepPoint[];
  eval: EvalPoint[];
  reason: FinishReason;
  steps: number;
  finalLoss: number | null;
  evalLoss: number | null;
  /** Trained tokens over training wall time. */
  tokensPerSec: number;
}

/** What run-slice hands over when a run ends (the record without its index and label). */
export type FinishedRun = Omit<RunRecord, 'index' | 'label'>;

export interface RunsSlice {
  runs: RunRecord[];
  /** Run ids shown in the compare panel. */
  compareRunIds: number[];
  addRunRecord(run: FinishedRun): void;
  setRunCompared(runId: number, on: boolean): void;
  compareLogScale: boolean;
  setCompareLogScale(on: boolean): void;
}

/** "Run 2 · MiLoRA r8" (no rank for full fine-tuning). */
export function runLabel(index: number, methodId: MethodId, config: TrainConfig): string {
  const row = methodRow(methodId);
  return `Run ${index} · ${row.label}${row.uses.rank ? ` r${config.rank}` : ''}`;
}

export const createRunsSlice: SliceCreator<RunsSlice> = (set) => ({
  runs: [],
  compareRunIds: [],
  compareLogScale: false,
  addRunRecord(run) {
    set((s) => {
      if (s.runs.some((r) => r.runId === run.runId)) return {};
      const index = s.runs.length + 1;
      const record: RunRecord = { ...run, index, label: runLabel(index, run.methodId, run.config) };
      return { runs: [...s.runs, record], compareRunIds: [...s.compareRunIds, run.runId] };
    });
  },
  setRunCompared(runId, on) {
    set((s) => ({
      compareRunIds: on ? (s.compareRunIds.includes(runId) ? s.compareRunIds : [...s.compareRunIds, runId]) : s.compareRunIds.filter((id) => id !== runId),
    }));
  },
  setCompareLogScale(on) {
    set({ compareLogScale: on });
  },
});
