/**
 * A training checkpoint on the host: everything a Trainer needs to continue a run exactly where it
 * stopped — the trainable tensors with both AdamW moments, the step count, each adapter's dropout
 * draws and, for PiSSA/MiLoRA, the initial A₀, B₀ that define the residual base weights. The batch
 * order is not stored: a BatchIterator with the run's seed replays it (batchesServed batches).
 * Plain data (typed arrays, maps, numbers), so it can be structured-cloned into IndexedDB.
 */
import type { AdapterTensors } from '../io/peft.ts';
import type { TrainConfig } from '../schema/train-config.ts';

/** One trainable tensor: its value and AdamW's first and second moments, all of `shape`. */
export interface CheckpointParam {
  name: string;
  shape: number[];
  value: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

export interface TrainerCheckpoint {
  /** Checkpoint layout version; a different one is refused with a clear message. */
  version: 1;
  config: TrainConfig;
  /** Optimizer steps taken. */
  step: number;
  params: CheckpointParam[];
  /** Dropout masks drawn so far, by adapter module name. */
  dropoutCalls: Record<string, number>;
  /** PiSSA/MiLoRA: the initial factors; the residual base weights are rebuilt from them. */
  spectralInitial?: AdapterTensors;
}

/** Micro-batches a run has drawn after `step` optimizer steps (the BatchIterator replays them). */
export function batchesServed(checkpoint: Pick<TrainerCheckpoint, 'step' | 'config'>): number {
  return checkpoint.step * checkpoint.config.gradAccum;
}

/** Bytes of the tensors in a checkpoint (what it takes in storage, give or take the metadata). */
export function checkpointBytes(checkpoint: TrainerCheckpoint): number {
  let n = 0;
  for (const p of checkpoint.params) n += p.value.byteLength + p.m.byteLength + p.v.byteLength;
  for (const t of checkpoint.spectralInitial?.values() ?? []) n += t.A.data.byteLength + t.B.data.byteLength;
  return n;
}

/** Throws a message naming what is wrong when `c` is not a checkpoint this version can resume. */
export function checkCheckpoint(c: unknown): asserts c is TrainerCheckpoint {
  const o = c as Partial<TrainerCheckpoint> | null;
  if (!o || typeof o !== 'object') throw new Error('the checkpoint is missing');
  if (o.version !== 1) throw new Error(`checkpoint version ${String(o.version)} is not supported (expected 1)`);
  if (!Number.isInteger(o.step) || o.step! < 0) throw new Error(`checkpoint field "step" is ${String(o.step)}, expected an integer ≥ 0`);
  if (!o.config || typeof o.config !== 'object') throw new Error('checkpoint field "config" is missing');
  if (!Array.isArray(o.params)) throw new Error('checkpoint field "params" is missing');
  for (const p of o.params) {
    const size = Array.isArray(p.shape) ? p.shape.reduce((a, b) => a * b, 1) : NaN;
    for (const key of ['value', 'm', 'v'] as const) {
      if (!(p[key] instanceof Float32Array) || p[key].length !== size) {
        throw new Error(`checkpoint tensor ${p.name}.${key} is not ${size} float32 values of shape [${String(p.shape)}]`);
      }
    }
  }
}
