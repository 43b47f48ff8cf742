/** Causal grouped-query attention over a KV cache (forward). */
import code from '../../shaders/attention.fwd.wgsl?raw';
import rowCode from '../../shaders/attention.fwd.row.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, groups1d } from '../gpu/kernel.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';

const uniforms = {
  B: 'u32', T: 'u32', S: 'u32', nHeads: 'u32', nKvHeads: 'u32', hd: 'u32', pos0: 'u32', group: 'u32', scale: 'f32',
} as const;
const inputs = ['q', 'k', 'v'];

/** One workgroup per (b, t, h), keys in blocks of 64, online softmax (GPUs). */
export const attentionKernel = defineKernel({ name: 'attention.fwd', code, uniforms, inputs, outputs: ['out'] });
/** The same, also writing the per-(row, head) logsumexp of the scores. */
export const attentionLseKernel = defineKernel({
  name: 'attention.fwd+lse', code, entryPoint: 'main_lse', uniforms, inputs, outputs: ['out', 'lse'],
});
/** Barrier-free: one invocation per (b, t, h) walking its keys. */
export const attentionRowKernel = defineKernel({ name: 'attention.fwd.row', code: rowCode, uniforms, inputs, outputs: ['out'] });
export const attentionRowLseKernel = defineKernel({
  name: 'attention.fwd.row+lse', code: rowCode, entryPoint: 'main_lse', uniforms, inputs, outputs: ['out', 'lse'],
});

/** Largest head dim either variant handles. */
export const ATTENTION_MAX_HEAD_DIM = 256;

/** 'workgroup': flash-style workgroup per query row (GPUs). 'row': one invocation per query row, no barriers. */
export type AttentionVariant = 'workgroup' | 'row';

/** The variant for this adapter: SwiftShader (a CPU) pays ~0.1 ms per workgroup barrier, so it gets 'row'. */
export function attentionVariantFor(gpu: Gpu): AttentionVariant {
  return gpu.adapterInfo.architecture === 'swiftshader' ? 'row' : 'workgroup';
}

export interface AttentionOptions {
  B: number;
  /** Queries per batch row. */
  T: number;
  /** Key/value rows per batch row (cache capacity), S ≥ pos0 + T. */
  S: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** Position of query t = 0; query t attends to keys 0 .. pos0 + t of its batch row. */
  pos0: number;
  /** Optional (B·T·nHeads) output: log Σ exp(scores) per (row, head), index (b·T + t)·nHeads + h. */
  lse?: Tensor;
  /** Default: attentionVariantFor(gpu). */
  variant?: AttentionVariant;
}

/**
 * Record out (B·T, nHeads·hd) = softmax(q·kᵀ/sqrt(hd), causal) · v for q (B·T, nHeads·hd) and
 * k, v (B·S, nKvHeads·hd); query head h reads kv head h / (nHeads / nKvHeads).
 */
export function attention(gpu: Gpu, q: Tensor, k: Tensor, v: Tensor, out: Tensor, opts: AttentionOptions): void {
  const { B, T, S, nHeads, nKvHeads, headDim: hd, pos0, lse } = opts;
  if (nHeads % nKvHeads !== 0) throw new Error(`attention: nHeads ${nHeads} is not a multiple of nKvHeads ${nKvHeads}`);
  if (hd < 1 || hd > ATTENTION_MAX_HEAD_DIM) throw new Error(`attention: head dim ${hd} outside 1..${ATTENTION_MAX_HEAD_DIM}`);
  if (S < pos0 + T) throw new Error(`attention: S = ${S} keys per batch row < pos0 + T = ${pos0 + T}`);
  const check = (t: Tensor, n: number, what: string) => {
    if (numel(t.shape) !== n) throw new Error(`attention: ${what} ${t.label} (${t.shape}) should hold ${n} values`);
  };
  check(q, B * T * nHeads * hd, 'q');
  check(out, B * T * nHeads * hd, 'out');
  check(k, B * S * nKvHeads * hd, 'k');
  check(v, B * S * nKvHeads * hd, 'v');
  if (lse) check(lse, B * T * nHeads, 'lse');
  const rows = B * T * nHeads;
  const row = (opts.variant ?? attentionVariantFor(gpu)) === 'row';
  const args = {
    uniforms: { B, T, S, nHeads, nKvHeads, hd, pos0, group: nHeads / nKvHeads, scale: 1 / Math.sqrt(hd) },
    workgroups: row ? groups1d(rows, 64) : groups1d(rows, 1),
  };
  if (lse) gpu.dispatch(row ? attentionRowLseKernel : attentionLseKernel, { ...args, bindings: { q, k, v, out, lse } });
  else gpu.dispatch(row ? attentionRowKernel : attentionKernel, { ...args, bindings: { q, k, v, out } });
}
