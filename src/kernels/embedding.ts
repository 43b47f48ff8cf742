/** Token embedding lookup. */
import code from '../../shaders/embedding.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, groups1d } from '../gpu/kernel.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';

export const embeddingKernel = defineKernel({
  name: 'embedding',
  code,
  uniforms: { R: 'u32', D: 'u32', V: 'u32' },
  inputs: ['ids', 'table'],
  outputs: ['out'],
});

/** Record out (R, D) = table[ids[r]] for u32 ids (R) and table (V, D); ids ≥ V give zero rows. */
export function embedding(gpu: Gpu, ids: Tensor, table: Tensor, out: Tensor): void {
  const [V, D] = table.shape as [number, number];
  if (table.shape.length !== 2) throw new Error(`embedding: table ${table.label} must be (V, D), got (${table.shape})`);
  const R = numel(ids.shape);
  if (numel(out.shape) !== R * D) {
    throw new Error(`embedding: out ${out.label} has ${numel(out.shape)} elements, expected ${R}·${D} (ids ${ids.label}, table ${table.label})`);
  }
  gpu.dispatch(embeddingKernel, { uniforms: { R, D, V }, bindings: { ids, table, out }, workgroups: groups1d(R * D, 256) });
}
