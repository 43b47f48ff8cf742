/** The Lab's data: experiments (presets of runs), what a run measured, findings and results.json. */
import type { ModuleIntruders } from '../spectra/intruders.ts';
import type { Method, TrainConfig } from '../schema/train-config.ts';

export type ExperimentId = 'mora-memory' | 'milora' | 'learn-forget' | 'intruders';
export const EXPERIMENT_IDS: readonly ExperimentId[] = ['mora-memory', 'milora', 'learn-forget', 'intruders'];

/** The paper an experiment reproduces, and the setting its numbers come from. */
export interface PaperInfo {
  arxiv: string;
  title: string;
  url: string;
  /** The paper's model and scale, e.g. "LLaMA-2 7B, 10k UUID pairs, r = 8, 900 steps". */
  model: string;
}

/** One run of a preset: its name and the settings that differ from the preset's base. */
export interface LabRunSpec {
  name: string;
  config: Partial<TrainConfig> & { method: Method };
}

/** What the target data of an experiment is. */
export type LabData =
  | { kind: 'uuid'; pairs: number; groups: number[] }
  /** The new-facts demo (characters, pets and places the built-in model never saw). */
  | { kind: 'facts' };

/** What is measured at each measurement step. */
export interface LabMeasures {
  /** Greedy generation of each UUID value (exact match, character accuracy). */
  generations?: boolean;
  /** The eval loss on held-out target windows and the probe loss on the held-out base text. */
  losses?: boolean;
  /** MiLoRA's forgetting CE against the base model's distributions on this many base windows. */
  forgettingWindows?: number;
  /** ΔW spectra (rank90, principal/minor overlap) of the trained modules of these layers. */
  spectraLayers?: 'all' | number[];
  /** Intruder dimensions of the trained modules of these layers. */
  intruderLayers?: 'all' | number[];
}

/** An experiment at one size (quick or full). */
export interface LabPlan {
  /** Settings every run shares (each run's spec overrides them). */
  base: Partial<TrainConfig>;
  runs: LabRunSpec[];
  /** Measure every this many steps, before the first and after the last. */
  every: number;
  data: LabData;
  measures: LabMeasures;
}

/** One measurement point of a run. */
export interface CurvePoint {
  step: number;
  /** The step's training loss (null at step 0). */
  train_loss: number | null;
  eval_loss?: number;
  probe_loss?: number;
  forgetting_ce?: number;
  exact_match?: number;
  char_accuracy?: number;
}

/** One greedy generation of a UUID value. */
export interface Generation {
  prompt: string;
  expected: string;
  generated: string;
}

/** The ΔW spectrum of one module at one step (rank90 and overlaps as in module-spectrum.ts). */
export interface SpectrumPoint {
  name: string;
  delta_rank90: number;
  overlap_principal: number;
  overlap_minor: number;
  /** All singular values of ΔW, descending. */
  delta_sigma: number[];
}

/** Everything one run measured (results.json runs[i].metrics). */
export interface RunMetrics {
  /** Training loss of every step, step 1 first. */
  loss: number[];
  curve: CurvePoint[];
  generations?: { step: number; items: Generation[] }[];
  spectra?: { step: number; modules: SpectrumPoint[] }[];
  intruders?: { step: number; modules: ModuleIntruders[] }[];
  /** Learning: eval loss at step 0 minus at the end (nats/token). */
  learning?: number;
  /** Forgetting: probe loss at the end minus at step 0 (nats/token). */
  forgetting?: number;
  /** The last spectra's mean ΔW rank90 and overlaps over modules. */
  delta_rank90_mean?: number;
  overlap_principal_mean?: number;
  overlap_minor_mean?: number;
  /** The last intruder count per module, averaged over modules, by ε. */
  intruders_mean?: Record<string, number>;
}

/** results.json runs[i]. */
export interface RunResult {
  name: string;
  method: Method;
  settings: TrainConfig;
  trainable: number;
  metrics: RunMetrics;
}

/** A claim of the paper, its number, ours, and whether it held here. */
export interface Finding {
  claim: string;
  paper: string;
  ours: string;
  held: boolean;
}

/** results.json. */
export interface LabResults {
  experiment: ExperimentId;
  paper: PaperInfo;
  runs: RunResult[];
  findings: Finding[];
}

/** Where the Lab ran: stated beside the paper's scale. */
export interface LabScale {
  /** e.g. "the built-in model (264K parameters, dim 64, 4 layers)". */
  model: string;
  quick: boolean;
}
