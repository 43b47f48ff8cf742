/**
 * A training run as the browser keeps it (IndexedDB, see run-db.ts): its settings, the model and
 * data it trained on, its metrics up to the last checkpoint, and its outcome. The checkpoint itself
 * (TrainerCheckpoint) is stored beside it under the same run id.
 */
import type { TrainConfig } from './train-config.ts';
import type { DataFormat } from './data.ts';
import { dataIdentity, type DataIdentity } from './data-identity.ts';
import type { EvalPoint, RunStep, SpectraRound } from './metrics.ts';
import type { DataSplit } from './data.ts';

/** Where the base model came from, so a resume can load it again. */
export type ModelOrigin =
  | { kind: 'builtin'; name: string }
  | { kind: 'hub'; repo: string; revision?: string }
  | { kind: 'files'; files: string[] };

/** The base model a run trained, and how to recognise it again. */
export interface StoredModel {
  /** e.g. "tinyworld", "owner/name", "stories260K.bin + tok512.bin". */
  name: string;
  origin: ModelOrigin;
  paramCount: number;
  /** modelFingerprint of the weights: a resume refuses a model with another one. */
  fingerprint: string;
}

/** The training text itself (pasted, uploaded or a demo), so the run resumes on the same windows. */
export interface StoredData {
  fileName: string;
  text: string;
  format: DataFormat | 'auto';
  source: 'text' | 'demo';
  split: DataSplit;
}

/**
 * 'running' and 'paused' are what the loop last wrote; when no loop runs that run any more (the page
 * was reloaded or closed), the list shows it as interrupted.
 */
export type StoredRunStatus = 'running' | 'paused' | 'completed' | 'stopped' | 'failed';

export interface StoredRun {
  /** The engine's run id, unique in this browser profile. */
  runId: number;
  /** The studio's method row (e.g. "rslora"), for labels. */
  methodId: string;
  config: TrainConfig;
  model: StoredModel;
  data: StoredData;
  /** The forgetting probe's text (its split: every window, none held out), when the run has one. */
  probe?: StoredData;
  /** The identities of `data` and `probe` (absent in runs saved before they were kept). */
  dataId?: DataIdentity;
  probeId?: DataIdentity;
  trainableCount: number;
  tokensPerStep: number;
  createdAt: number;
  updatedAt: number;
  status: StoredRunStatus;
  /** Metrics up to `checkpointStep` (what a resume continues from). */
  train: RunStep[];
  eval: EvalPoint[];
  spectra: SpectraRound[];
  /** The step of the stored checkpoint (0: none yet). */
  checkpointStep: number;
  checkpointBytes: number;
  /** Training wall time up to the checkpoint, pauses excluded. */
  activeMs: number;
  finalLoss: number | null;
  evalLoss: number | null;
  /** Why the run failed (status 'failed'). */
  error?: string;
}

/** What the list shows: a stored run without its training text. */
export type SavedRunSummary = Omit<StoredRun, 'data' | 'dataId'> & {
  data: Omit<StoredData, 'text'> & { bytes: number };
  dataId: DataIdentity;
  /** Was running or paused when the page went away: resumable from its checkpoint. */
  interrupted: boolean;
  /** Training now in another tab of this browser. */
  elsewhere: boolean;
};

/** The Web Lock a run's engine holds while the run is live (so other tabs know it is not interrupted). */
export const runLockName = (runId: number): string => `subspace-run-${runId}`;

/** `run` as the list shows it; `live`: the run ids training now, in this tab or another. */
export function summarizeRun(run: StoredRun, activeRunId: number | null, live: ReadonlySet<number> = new Set()): SavedRunSummary {
  const { text, ...data } = run.data;
  const open = run.status === 'running' || run.status === 'paused';
  const elsewhere = open && run.runId !== activeRunId && live.has(run.runId);
  return {
    ...run,
    data: { ...data, bytes: new TextEncoder().encode(text).length },
    dataId: run.dataId ?? dataIdentity(run.data, null),
    ...(run.probe ? { probeId: run.probeId ?? dataIdentity(run.probe, null) } : {}),
    interrupted: open && run.runId !== activeRunId && !elsewhere,
    elsewhere,
  };
}

/** Whether a saved run can continue training from its checkpoint (it has one and steps are left). */
export function resumable(run: Pick<StoredRun, 'checkpointStep' | 'config' | 'status'> & { interrupted?: boolean }): boolean {
  if (run.checkpointStep === 0) return false;
  if (run.status === 'running' || run.status === 'paused') return run.interrupted === true;
  return run.checkpointStep < run.config.steps;
}

/** The metrics a resume keeps: those up to the checkpoint's step. */
export function metricsUpTo(run: Pick<StoredRun, 'train' | 'eval' | 'spectra'>, step: number): Pick<StoredRun, 'train' | 'eval' | 'spectra'> {
  return {
    train: run.train.filter((p) => p.step <= step),
    eval: run.eval.filter((p) => p.step <= step),
    spectra: run.spectra.filter((p) => p.step <= step),
  };
}

export type StorageProblemCode = 'quota' | 'unavailable' | 'failed';
