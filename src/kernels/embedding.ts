/** Token embedding lookup. */
import code from '../../shaders/embedding.wgsl?raw';
import code16 from '../../shaders/embedding.b16.wgsl?raw';
import bwdCode from '../../shaders/embedding.bwd.wgsl?raw';
import bwdCsrCode from '../../shaders/embedding.bwd.csr.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation } from '../gpu/kernel.ts';
import { isPacked16, numel, type Tensor } from '../gpu/tensor.ts';
import { kernelPlan } from './plan.ts';

export const embeddingKernel = defineKernel({
  name: 'embedding',
  code,
  uniforms: { R: 'u32', D: 'u32', V: 'u32' },
  inputs: ['ids', 'table'],
  outputs: ['out'],
  workgroupSize: 256,
  dispatch: perInvocation((u) => u.R * u.D),
});

/** The same lookup from a BF16/F16 table packed two per u32 (a frozen 16-bit embedding). */
export const embedding16Kernel = defineKernel({
  name: 'embedding.b16',
  code: code16,
  uniforms: { R: 'u32', D: 'u32', V: 'u32' },
  inputs: ['ids', 'table'],
  outputs: ['out'],
  packed16: ['table'],
  workgroupSize: 256,
  dispatch: perInvocation((u) => u.R * u.D),
});

/**
 * Record out (R, D) = table[ids[r]] for u32 ids (R) and table (V, D); ids ≥ V give zero rows. A 16-bit
 * table (tensor dtype 'bf16' / 'f16') is read by its own kernel, decoded to f32.
 */
export function embedding(gpu: Gpu, ids: Tensor, table: Tensor, out: Tensor): void {
  const [V, D] = table.shape as [number, number];
  if (table.shape.length !== 2) throw new Error(`embedding: table ${table.label} must be (V, D), got (${table.shape})`);
  const R = numel(ids.shape);
  if (numel(out.shape) !== R * D) {
    throw new Error(`embedding: out ${out.label} has ${numel(out.shape)} elements, expected ${R}·${D} (ids ${ids.label}, table ${table.label})`);
  }
  if (isPacked16(table)) {
    gpu.dispatch(embedding16Kernel, { uniforms: { R, D, V }, bindings: { ids, table, out }, constants: { TABLE_F16: table.dtype === 'f16' ? 1 : 0 } });
  } else {
    gpu.dispatch(embeddingKernel, { uniforms: { R, D, V }, bindings: { ids, table, out } });
  }
}

// ---- backward ---------------------------------------------------------------------------------

/** One invocation per (token, slice of DC columns). */
const perSlice = perInvocation((u: { V: number; D: number; DC: number }) => u.V * Math.ceil(u.D / u.DC));

/** Scans all ids per (token, column slice). */
export const embeddingBackwardKernel = defineKernel({
  name: 'embedding.bwd',
  code: bwdCode,
  uniforms: { R: 'u32', D: 'u32', V: 'u32', DC: 'u32' },
  inputs: ['ids', 'dx'],
  outputs: ['dtable'],
  workgroupSize: 64,
  dispatch: perSlice,
});

/** Walks each token's precomputed row list. */
export const embeddingBackwardCsrKernel = defineKernel({
  name: 'embedding.bwd.csr',
  code: bwdCsrCode,
  uniforms: { D: 'u32', V: 'u32', DC: 'u32' },
  inputs: ['offsets', 'rows', 'dx'],
  outputs: ['dtable'],
  workgroupSize: 64,
  dispatch: perSlice,
});

/** The rows of each token id: rows[offsets[v] .. offsets[v+1]) are the r with ids[r] = v, increasing. */
export interface EmbeddingRowLists<T = Tensor> {
  /** (V + 1) u32. */
  offsets: T;
  /** (number of ids in 0..V−1) u32. */
  rows: T;
}

/** Build the row lists of `ids` on the CPU (counting sort, O(R + V)); ids outside 0..V−1 are left out. */
export function embeddingRowLists(ids: ArrayLike<number>, V: number): EmbeddingRowLists<Uint32Array> {
  const offsets = new Uint32Array(V + 1);
  for (let r = 0; r < ids.length; r++) if (ids[r] < V) offsets[ids[r] + 1]++;
  for (let v = 0; v < V; v++) offsets[v + 1] += offsets[v];
  const rows = new Uint32Array(offsets[V]);
  const next = offsets.slice(0, V);
  for (let r = 0; r < ids.length; r++) if (ids[r] < V) rows[next[ids[r]]++] = r;
  return { offsets, rows };
}

export interface EmbeddingBackwardOptions {
  /** Row lists of the same ids (embeddingRowLists, uploaded as u32): cost R·D instead of V·R/4 id reads. */
  rowLists?: EmbeddingRowLists;
  /** dtable columns per invocation (default embeddingBackwardColumnsFor). */
  columns?: number;
}

/**
 * Columns of a dtable row per invocation, by the Gpu's kernel plan: 'rows', the whole row (CPU adapters:
 * fewest invocations and id scans), or 'slices', enough for ~16K invocations (GPUs).
 */
export function embeddingBackwardColumnsFor(gpu: Gpu, V: number, D: number): number {
  if (kernelPlan(gpu).embeddingBackward === 'rows') return D;
  return Math.ceil(D / Math.min(D, Math.ceil(16384 / V)));
}

/**
 * Record dtable (V, D) += Σ_{r: ids[r] = v} dx[r] for u32 ids (R) and dx (R, D); ids ≥ V contribute nothing.
 * Deterministic without atomics: invocation (v, column slice) owns its slice and adds rows in increasing r,
 * so the result is bit-identical for any `columns` and with or without `rowLists`.
 * Cost: without row lists, V·ceil(D/columns)·R/4 vec4 id reads + R·D adds; with them, R·D adds.
 */
export function embeddingBackward(gpu: Gpu, ids: Tensor, dx: Tensor, dtable: Tensor, opts: EmbeddingBackwardOptions = {}): void {
  if (dtable.shape.length !== 2) throw new Error(`embeddingBackward: dtable ${dtable.label} must be (V, D), got (${dtable.shape})`);
  const [V, D] = dtable.shape as [number, number];
  const R = numel(ids.shape);
  if (numel(dx.shape) !== R * D) {
    throw new Error(`embeddingBackward: dx ${dx.label} has ${numel(dx.shape)} elements, expected ${R}·${D} (ids ${ids.label}, dtable ${dtable.label})`);
  }
  const DC = Math.max(1, Math.min(D, opts.columns ?? embeddingBackwardColumnsFor(gpu, V, D)));
  const lists = opts.rowLists;
  if (lists) {
    if (numel(lists.offsets.shape) !== V + 1 || numel(lists.rows.shape) > R) {
      throw new Error(`embeddingBackward: row lists ${lists.offsets.label} (${lists.offsets.shape}), ${lists.rows.label} (${lists.rows.shape}) do not fit V = ${V}, R = ${R}`);
    }
    gpu.dispatch(embeddingBackwardCsrKernel, {
      uniforms: { D, V, DC }, bindings: { offsets: lists.offsets, rows: lists.rows, dx, dtable },
    });
  } else {
    gpu.dispatch(embeddingBackwardKernel, { uniforms: { R, D, V, DC }, bindings: { ids, dx, dtable } });
  }
}
