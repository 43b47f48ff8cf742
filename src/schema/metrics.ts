/** The numbers a run reports, as the run loop, the worker, the CLI, the stored runs and the studio share them. */

/** One optimizer step as the run reports it. */
export interface RunStep {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Trained tokens (batch · seq · grad-accum) per second, averaged over the readback's span of steps. */
  tokensPerSec: number;
  /** Training wall time since the run began (pauses, evals, spectra and checkpoints excluded), in ms. */
  elapsedMs: number;
  /** Passes over the training windows completed when this step's last micro-batch was drawn. */
  epoch: number;
  /** The most GPU bytes the buffer pool held at once since the run (this loop) began, read with the step. */
  peakGpuBytes: number;
}

/** Eval losses at one step, as the run streams and stores them. */
export interface EvalPoint {
  step: number;
  /** Mean loss on the held-out split of the training data (NaN when the data has none). */
  loss: number;
  /** Mean loss on the forgetting probe (held-out base-distribution text), when the run has one. */
  forget?: number;
}

/** One module's spectra numbers from a round during training (see src/spectra/module-spectrum.ts). */
export interface SpectraEntry {
  /** e.g. "model.layers.0.self_attn.q_proj". */
  name: string;
  delta_rank90: number;
  overlap_principal: number;
  overlap_minor: number;
}

/** The spectra entries of every module at one step. */
export interface SpectraRound {
  step: number;
  entries: SpectraEntry[];
}

/** One module's record, with the keys (and the extra sigma_merged / overlap_r). */
export interface ModuleSpectrum {
  /** HF tensor name without ".weight", e.g. "model.layers.0.self_attn.q_proj". */
  name: string;
  /** [out, in]. */
  shape: [number, number];
  /** All singular values of W₀, descending. */
  sigma: number[];
  /** Singular values of W₀ + ΔW, descending (adapter and opts.merged only). */
  sigma_merged?: number[];
  delta_sigma?: number[];
  delta_rank90?: number;
  overlap_principal?: number;
  overlap_minor?: number;
  /** The subspace size r the overlaps compare (see src/spectra/module-spectrum.ts). */
  overlap_r?: number;
}
