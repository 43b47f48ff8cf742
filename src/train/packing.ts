/**
 * Packing tokenised examples into fixed-length training windows, the train/eval split, and batches.
 *
 * A window holds up to T+1 consecutive tokens w[0..T]: inputs = w[0..T), targets = w[1..T], where a
 * target whose token has mask 0 is -1 (ignored by the loss). Consecutive windows of one stream overlap
 * by one token (the last token of a window is the first input of the next), so every token after
 * the first is a target exactly once. A window shorter than T+1 (the last one, or one closed early in
 * 'whole' packing) is padded: inputs with `padId`, targets with -1. A window with no target left is
 * dropped (it would give a 0/0 loss) and counted.
 *
 * Packing modes:
 * - 'stream': all examples concatenated into one stream, cut every T tokens. Examples cross windows.
 * - 'whole':  an example that does not fit in the space left in the current window starts a new one
 *             (the rest is padding), so an example of ≤ T+1 tokens is never cut; a longer one starts
 *             a fresh window and continues into the next ones as in 'stream'.
 */
import { Rng } from '../model/sampling.ts';
import type { PackingMode } from '../schema/data.ts';

/** One tokenised example: token ids and a per-token loss mask (1 = predict this token). */
export interface Example {
  ids: number[];
  mask: number[];
  /** 1-based line of the source file where the example starts. */
  line: number;
}


/** One training sequence of length T. */
export interface PackedWindow {
  /** (T) token ids fed to the model. */
  inputs: Uint32Array;
  /** (T) next-token ids, -1 where the loss ignores the position. */
  targets: Int32Array;
}

/** A batch of B windows, row-major. */
export interface Batch {
  /** (B*T) */
  inputs: Uint32Array;
  /** (B*T), -1 = ignored */
  targets: Int32Array;
  batchSize: number;
  seqLen: number;
  /** Passes over the windows completed after this batch (fractional), e.g. 1.25. */
  epoch: number;
}

/** Packs examples into windows of T inputs/targets (see the module comment). */
export function packExamples(
  examples: readonly Example[],
  seqLen: number,
  opts: { mode?: PackingMode; padId?: number } = {},
): { windows: PackedWindow[]; dropped: number } {
  const T = seqLen;
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`seqLen must be an integer ≥ 1, got ${T}`);
  const mode = opts.mode ?? 'stream';
  const padId = opts.padId ?? 0;
  const windows: PackedWindow[] = [];
  let dropped = 0;
  let ids: number[] = [];
  let mask: number[] = [];

  const flush = (): void => {
    if (ids.length >= 2) {
      const inputs = new Uint32Array(T).fill(padId);
      const targets = new Int32Array(T).fill(-1);
      let kept = 0;
      for (let t = 0; t < Math.min(T, ids.length); t++) inputs[t] = ids[t];
      for (let t = 0; t < ids.length - 1; t++) {
        if (mask[t + 1]) {
          targets[t] = ids[t + 1];
          kept++;
        }
      }
      if (kept > 0) windows.push({ inputs, targets });
      else dropped++;
    }
    ids = [];
    mask = [];
  };

  for (const ex of examples) {
    if (mode === 'whole' && ids.length > 0 && ids.length + ex.ids.length > T + 1) flush();
    for (let i = 0; i < ex.ids.length; i++) {
      if (ids.length === T + 1) {
        // Full: the last token becomes the first input of the next window (never a target there).
        const last = ids[T];
        flush();
        ids.push(last);
        mask.push(0);
      }
      ids.push(ex.ids[i]);
      mask.push(ex.mask[i]);
    }
  }
  flush();
  return { windows, dropped };
}

/** Number of targets the loss uses (≠ -1). */
export function countTargets(windows: readonly PackedWindow[]): number {
  let n = 0;
  for (const w of windows) for (let t = 0; t < w.targets.length; t++) if (w.targets[t] !== -1) n++;
  return n;
}

/** Fisher–Yates shuffle of 0..n-1 drawn from `rng`. */
export function shuffledIndices(n: number, rng: Rng): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * Deterministic split: the windows are shuffled with `seed` and the first round(n · evalFraction)
 * go to eval, clamped to [1, n-1] when n ≥ 2 and evalFraction > 0 (n < 2 or evalFraction = 0: no
 * eval). Both parts keep the original window order.
 */
export function splitWindows<W>(
  windows: readonly W[],
  evalFraction = 0.1,
  seed = 0,
): { train: W[]; eval: W[] } {
  if (!(evalFraction >= 0 && evalFraction < 1)) throw new RangeError(`evalFraction must be in [0, 1), got ${evalFraction}`);
  const n = windows.length;
  const nEval = n < 2 || evalFraction === 0 ? 0 : Math.min(n - 1, Math.max(1, Math.round(n * evalFraction)));
  const isEval = new Uint8Array(n);
  for (const i of shuffledIndices(n, new Rng(seed)).slice(0, nEval)) isEval[i] = 1;
  return { train: windows.filter((_, i) => !isEval[i]), eval: windows.filter((_, i) => isEval[i]) };
}

/**
 * Endless training batches: B windows at a time in a shuffled order, reshuffled at every epoch,
 * all from one generator seeded with `seed` (same windows + seed → same batches). A batch that
 * crosses the end of an epoch takes its remaining rows from the next epoch's order.
 */
export class BatchIterator {
  readonly seqLen: number;
  private readonly rng: Rng;
  private order: number[] = [];
  private pos = 0;
  private served = 0;

  constructor(
    private readonly windows: readonly PackedWindow[],
    readonly batchSize: number,
    seed = 0,
  ) {
    if (windows.length === 0) throw new RangeError('no training windows to iterate over');
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be an integer ≥ 1, got ${batchSize}`);
    this.seqLen = windows[0].inputs.length;
    this.rng = new Rng(seed);
  }

  /** Windows per epoch. */
  get epochSize(): number {
    return this.windows.length;
  }

  next(): Batch {
    const B = this.batchSize;
    const T = this.seqLen;
    const inputs = new Uint32Array(B * T); // (B, T)
    const targets = new Int32Array(B * T); // (B, T)
    for (let b = 0; b < B; b++) {
      if (this.pos === this.order.length) {
        this.order = shuffledIndices(this.windows.length, this.rng);
        this.pos = 0;
      }
      const w = this.windows[this.order[this.pos++]];
      inputs.set(w.inputs, b * T);
      targets.set(w.targets, b * T);
    }
    this.served += B;
    return { inputs, targets, batchSize: B, seqLen: T, epoch: this.served / this.windows.length };
  }
}

/**
 * Batches of `windows` in their order, for evaluation; the last batch is filled up with padding
 * rows (inputs `padId`, targets -1) so every batch is (B*T).
 */
export function* orderedBatches(windows: readonly PackedWindow[], batchSize: number, padId = 0): Generator<Batch> {
  if (windows.length === 0) return;
  const B = batchSize;
  const T = windows[0].inputs.length;
  for (let start = 0; start < windows.length; start += B) {
    const inputs = new Uint32Array(B * T).fill(padId);
    const targets = new Int32Array(B * T).fill(-1);
    for (let b = 0; b < B && start + b < windows.length; b++) {
      inputs.set(windows[start + b].inputs, b * T);
      targets.set(windows[start + b].targets, b * T);
    }
    const done = Math.min(windows.length, start + B);
    yield { inputs, targets, batchSize: B, seqLen: T, epoch: done / windows.length };
  }
}
