/**
 * The Lab's part of the engine protocol (protocol.ts re-exports it for the store and the UI): the
 * experiments as the Lab panel lists them, a preset run's request and progress, and its report. The
 * results themselves are src/lab/types.ts's (results.json's shape), the same as the CLI writes.
 */
import type { ModelOrigin } from '../schema/stored-run.ts';
import type { Method, TrainConfig } from '../schema/train-config.ts';
import type { ExperimentId, PaperInfo } from '../lab/types.ts';

export type { CurvePoint, ExperimentId, Finding, Generation, LabResults, PaperInfo, RunMetrics, RunResult, SpectrumPoint } from '../lab/types.ts';
export type { ModuleIntruders } from '../spectra/intruders.ts';
export type { PlanEstimate, RunEstimate } from '../lab/estimate.ts';

/** One run of a preset at one size, with every setting it trains with. */
export interface LabRunSummary {
  name: string;
  method: Method;
  settings: TrainConfig;
}

/** One size (quick or full) of an experiment. */
export interface LabSizeSummary {
  runs: LabRunSummary[];
  /** Measurements every this many steps (and before the first, after the last). */
  every: number;
  /** What the runs train on, e.g. "12 UUID pairs (16 hex digits each side)". */
  data: string;
  /** What is measured, e.g. ["greedy generations (exact match, character accuracy)"]. */
  measures: string[];
}

/** An experiment as the Lab panel lists it. */
export interface LabExperimentSummary {
  id: ExperimentId;
  question: string;
  sentence: string;
  paper: PaperInfo;
  quick: LabSizeSummary;
  full: LabSizeSummary;
}

/** The preset in progress when the page went away (kept in the browser's storage). */
export interface LabPending {
  experiment: ExperimentId;
  quick: boolean;
  seed: number;
  /** The model it runs on, by name and fingerprint (a resume needs the same one). */
  modelName: string;
  fingerprint: string;
  runs: number;
  /** Finished runs (kept, not run again) and their saved run ids. */
  done: { run: number; name: string; runId: number }[];
  /** Where it stood: the run in progress and its step (that run starts again on resume). */
  current: { run: number; name: string; step: number; steps: number } | null;
  updatedAt: number;
}

export interface LabListing {
  experiments: LabExperimentSummary[];
  /** An interrupted preset, or null. */
  pending: LabPending | null;
  /** A preset running now in this engine. */
  running: boolean;
  /** A preset running in another tab of this browser (its progress is not offered for resume here). */
  elsewhere: boolean;
}

/** What labRun asks for. */
export interface LabRunRequest {
  experiment: ExperimentId;
  quick: boolean;
  seed: number;
  /** Continue the interrupted preset (same experiment, size and seed), keeping its finished runs. */
  resume?: boolean;
  /** The base model's display name and origin, as stored runs keep them. */
  modelName: string;
  origin: ModelOrigin;
}

/** Where a running preset is. */
export interface LabProgressInfo {
  experiment: ExperimentId;
  /** 0-based run index of `runs`, its name, its step of `steps`. */
  run: number;
  runs: number;
  name: string;
  step: number;
  steps: number;
  /** Steps done over all the preset's steps, 0..1 (finished runs count whole). */
  fraction: number;
  /** Runs kept from before a reload (not run again). */
  resumed: number[];
}

/** The report files of a finished preset: results.json, report.md and the charts (SVG), by file name. */
export interface LabReport {
  files: { name: string; text: string }[];
  /** Each chart's file name and title, in report order. */
  charts: { file: string; title: string }[];
  /** Our model and scale, as stated beside the paper's. */
  scale: string;
}

