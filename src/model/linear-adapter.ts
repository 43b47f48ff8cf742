/**
 * The interface every adapter method implements for one linear module (one layer's q, k, ... down):
 * how it computes y from x and the frozen base weight W, and how it back-propagates.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';

/** A trainable tensor with its gradient; `name` is the key it is saved under. */
export interface TrainableParam {
  name: string;
  value: Tensor;
  grad: Tensor;
}

/** What one training forward of a module keeps for its backward; the trainer releases the tensors. */
export interface Saved {
  tensors: Tensor[];
  /** Dropout mask seed, when the forward drew one. */
  seed?: number;
}

/** An update that is exactly ΔW = scale · B · A: B (out, rank), A (rank, in). */
export interface LowRankUpdate {
  A: Tensor;
  B: Tensor;
  scale: number;
  rank: number;
}

export interface LinearAdapter {
  /** Trainable tensors of this module. */
  readonly params: readonly TrainableParam[];
  /**
   * Training forwards that drew a dropout mask so far: each mask's seed is the adapter's seed plus
   * this count. A training checkpoint saves it, so a resumed run draws the masks it would have drawn.
   */
  dropoutCalls: number;
  /**
   * Record y (rows, out) for x (rows, in) with base weight W (out, in). When `saved` is given the
   * call is a training forward: push anything backward needs (dropout is active only then).
   */
  forward(gpu: Gpu, W: Tensor, x: Tensor, rows: number, saved: Saved | null): Tensor;
  /**
   * Record the backward: accumulate this module's parameter gradients from dy (rows, out), and write
   * (or, with `accumulate`, add) the input gradient into dx (rows, in).
   */
  backward(gpu: Gpu, W: Tensor, x: Tensor, dy: Tensor, rows: number, saved: Saved, dx: Tensor, accumulate: boolean): void;
  /** Dense ΔW (out, in) this adapter adds to W, for merging and spectra. */
  deltaWeight(gpu: Gpu, W: Tensor): Tensor;
  /** ΔW's low-rank factors when ΔW is exactly s·B·A (plain LoRA), else null (DoRA, MoRA). */
  lowRank(): LowRankUpdate | null;
  dispose(gpu: Gpu): void;
}
