/** Causal grouped-query attention over a KV cache (forward). */
import code from '../../shaders/attention.fwd.wgsl?raw';
import rowCode from '../../shaders/attention.fwd.row.wgsl?raw';
import dqCode from '../../shaders/attention.bwd.dq.wgsl?raw';
import dqRowCode from '../../shaders/attention.bwd.dq.row.wgsl?raw';
import dkvCode from '../../shaders/attention.bwd.dkv.wgsl?raw';
import dkvRowCode from '../../shaders/attention.bwd.dkv.row.wgsl?raw';
import dqRowWideCode from '../../shaders/attention.bwd.dq.row.wide.wgsl?raw';
import dkvRowWideCode from '../../shaders/attention.bwd.dkv.row.wide.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation, perWorkgroup, type KernelDef } from '../gpu/kernel.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';
import { attentionBackwardQuad, attentionQuad, quadAttentionSupports } from './attention-quad.ts';
import { attentionBackwardTiled, attentionTiled, tiledAttentionSupports } from './attention-tiled.ts';
import { kernelPlan, type AttentionVariant } from './plan.ts';

const uniforms = {
  B: 'u32', T: 'u32', S: 'u32', nHeads: 'u32', nKvHeads: 'u32', hd: 'u32', pos0: 'u32', group: 'u32', scale: 'f32',
} as const;
const inputs = ['q', 'k', 'v'];
type Rows = { B: number; T: number; nHeads: number };
type KeyRows = { B: number; T: number; nKvHeads: number };
/** One workgroup of WG per query row (b, t, h). */
const workgroupPerRow = { workgroupSize: 64, dispatch: perWorkgroup((u: Rows) => u.B * u.T * u.nHeads) };
/** One invocation per query row. */
const invocationPerRow = { workgroupSize: 64, dispatch: perInvocation((u: Rows) => u.B * u.T * u.nHeads) };

/** One workgroup per (b, t, h), keys in blocks of WG, online softmax (GPUs). */
export const attentionKernel = defineKernel({ name: 'attention.fwd', code, uniforms, inputs, outputs: ['out'], ...workgroupPerRow });
/** The same, also writing the per-(row, head) logsumexp of the scores. */
export const attentionLseKernel = defineKernel({
  name: 'attention.fwd+lse', code, entryPoint: 'main_lse', uniforms, inputs, outputs: ['out', 'lse'], ...workgroupPerRow,
});
/** Barrier-free: one invocation per (b, t, h) walking its keys. */
export const attentionRowKernel = defineKernel({
  name: 'attention.fwd.row', code: rowCode, uniforms, inputs, outputs: ['out'], ...invocationPerRow,
});
export const attentionRowLseKernel = defineKernel({
  name: 'attention.fwd.row+lse', code: rowCode, entryPoint: 'main_lse', uniforms, inputs, outputs: ['out', 'lse'], ...invocationPerRow,
});
/** The workgroup and row forwards, without and with lse. */
const FORWARD: Record<'workgroup' | 'row', { out: KernelDef; lse: KernelDef }> = {
  workgroup: { out: attentionKernel, lse: attentionLseKernel },
  row: { out: attentionRowKernel, lse: attentionRowLseKernel },
};

/** Largest head dim any variant handles. */
export const ATTENTION_MAX_HEAD_DIM = 256;

export type { AttentionVariant } from './plan.ts';

/**
 * The default variant on this Gpu for a head dim: the kernel plan's family, with 'tiled' (CPU adapters)
 * narrowed to 'quad' where it applies (hd % 4 == 0, hd ≤ 32: measured ahead of 'tiled' at hd 8..32, and of
 * 'row' even for one-query decode steps; 'tiled' falls back to 'row' when hd % 4 ≠ 0).
 */
export function attentionVariantForShape(gpu: Gpu, headDim: number): AttentionVariant {
  const v = kernelPlan(gpu).attention;
  return v === 'tiled' && quadAttentionSupports(headDim) ? 'quad' : v;
}

/** The variant actually run: 'quad' falls back to 'tiled', 'tiled' to 'row', where they do not apply. */
function resolveVariant(
  gpu: Gpu, variant: AttentionVariant, shape: Parameters<typeof tiledAttentionSupports>[1], backward: boolean,
): AttentionVariant {
  if (variant === 'quad' && !quadAttentionSupports(shape.headDim)) variant = 'tiled';
  if (variant === 'tiled' && !tiledAttentionSupports(gpu, shape, backward)) variant = 'row';
  return variant;
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
  /** Default: attentionVariantForShape(gpu, headDim). */
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
  const variant = resolveVariant(gpu, opts.variant ?? attentionVariantForShape(gpu, hd), { B, T, nHeads, headDim: hd, pos0 }, false);
  if (variant === 'quad') {
    attentionQuad(gpu, q, k, v, out, opts);
    return;
  }
  if (variant === 'tiled') {
    attentionTiled(gpu, q, k, v, out, opts);
    return;
  }
  const kernels = FORWARD[variant];
  const uniforms = { B, T, S, nHeads, nKvHeads, hd, pos0, group: nHeads / nKvHeads, scale: 1 / Math.sqrt(hd) };
  if (lse) gpu.dispatch(kernels.lse, { uniforms, bindings: { q, k, v, out, lse } });
  else gpu.dispatch(kernels.out, { uniforms, bindings: { q, k, v, out } });
}

// ---- backward ---------------------------------------------------------------------------------

const bwdUniforms = { B: 'u32', T: 'u32', nHeads: 'u32', nKvHeads: 'u32', hd: 'u32', group: 'u32', scale: 'f32' } as const;
const dqInputs = ['q', 'k', 'v', 'out', 'lse', 'dout'];
const dkvInputs = ['q', 'k', 'v', 'lse', 'dout', 'delta'];
/** One workgroup of WG per (key row, kv head). */
const workgroupPerKeyRow = { workgroupSize: 64, dispatch: perWorkgroup((u: KeyRows) => u.B * u.T * u.nKvHeads) };
/** One invocation per (key row, kv head). */
const invocationPerKeyRow = { workgroupSize: 64, dispatch: perInvocation((u: KeyRows) => u.B * u.T * u.nKvHeads) };

/** dq and D_i = dout_i·out_i: one workgroup per query row (GPUs). */
export const attentionBackwardDqKernel = defineKernel({
  name: 'attention.bwd.dq', code: dqCode, uniforms: bwdUniforms, inputs: dqInputs, outputs: ['dq', 'delta'], ...workgroupPerRow,
});
/** The same, one invocation per query row, no barriers, rows in registers (hd ≤ 64, hd % 4 = 0; override NB = ceil(hd/8)). */
export const attentionBackwardDqRowKernel = defineKernel({
  name: 'attention.bwd.dq.row', code: dqRowCode, uniforms: bwdUniforms, inputs: dqInputs, outputs: ['dq', 'delta'], ...invocationPerRow,
});
/** One invocation per query row, no barriers, private arrays: any hd ≤ 256 (~3× slower on SwiftShader). */
export const attentionBackwardDqRowWideKernel = defineKernel({
  name: 'attention.bwd.dq.row.wide', code: dqRowWideCode, uniforms: bwdUniforms, inputs: dqInputs, outputs: ['dq', 'delta'],
  ...invocationPerRow,
});
/** dk and dv, summed over the kv head's query heads: one workgroup per (key row, kv head) (GPUs). */
export const attentionBackwardDkvKernel = defineKernel({
  name: 'attention.bwd.dkv', code: dkvCode, uniforms: bwdUniforms, inputs: dkvInputs, outputs: ['dk', 'dv'], ...workgroupPerKeyRow,
});
/** The same, one invocation per (key row, kv head), no barriers, rows in registers (hd ≤ 64, hd % 4 = 0). */
export const attentionBackwardDkvRowKernel = defineKernel({
  name: 'attention.bwd.dkv.row', code: dkvRowCode, uniforms: bwdUniforms, inputs: dkvInputs, outputs: ['dk', 'dv'], ...invocationPerKeyRow,
});
/** One invocation per (key row, kv head), no barriers, private arrays: any hd ≤ 256. */
export const attentionBackwardDkvRowWideKernel = defineKernel({
  name: 'attention.bwd.dkv.row.wide', code: dkvRowWideCode, uniforms: bwdUniforms, inputs: dkvInputs, outputs: ['dk', 'dv'],
  ...invocationPerKeyRow,
});

/** The backward's two passes: 'workgroup', 'row' (rows in registers) and 'wide' (private arrays, any hd ≤ 256). */
const BACKWARD = {
  workgroup: { dq: attentionBackwardDqKernel, dkv: attentionBackwardDkvKernel },
  row: { dq: attentionBackwardDqRowKernel, dkv: attentionBackwardDkvRowKernel },
  wide: { dq: attentionBackwardDqRowWideKernel, dkv: attentionBackwardDkvRowWideKernel },
};

/** Whether the register-blocked 'row' kernels take head dim hd (8 blocks of 8 columns, vec4 loads). */
export function attentionBackwardRowRegisters(hd: number): boolean {
  return hd <= 64 && hd % 4 === 0;
}

export interface AttentionBackwardOptions {
  B: number;
  /** Tokens per batch row (queries = keys: pos0 = 0, S = T). */
  T: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** Default: attentionVariantForShape(gpu, headDim). */
  variant?: AttentionVariant;
}

/**
 * Record the backward of causal GQA attention in the training case (pos0 = 0, S = T), OVERWRITING dq, dk, dv.
 *   q, out, dout, dq: (B·T, nHeads·hd); k, v, dk, dv: (B·T, nKvHeads·hd); lse: (B·T·nHeads) from the
 *   forward (attention with `lse`), index (b·T + t)·nHeads + h.
 * With P = softmax(q·kᵀ/√hd) recomputed as exp(q·k/√hd − lse): D_i = dout_i·out_i, dS_ij = P_ij(dout_i·v_j − D_i),
 *   dq_i = Σ_j dS_ij k_j/√hd, dk_j = Σ_i dS_ij q_i/√hd, dv_j = Σ_i P_ij dout_i (dk, dv summed over the group's heads).
 * Two passes, both deterministic: per query row (dq, and D into a (B·T·nHeads) scratch), then per key row.
 * 'quad' does the same two passes over 4 query (key) rows per invocation; 'tiled' runs D, then P and dS of
 * 4×4 (query, key) tiles into scratches, then dq, then dk and dv (./attention-tiled.ts).
 * 'row' (SwiftShader) keeps head rows in registers when hd ≤ 64 and hd % 4 = 0, else uses private arrays (~3× slower there).
 * Cost: ~B·nHeads·T²/2 (query, key) pairs per pass, 2 hd-dots each plus 1 (dq) or 2 (dk, dv) axpys.
 */
export function attentionBackward(
  gpu: Gpu, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dout: Tensor,
  dq: Tensor, dk: Tensor, dv: Tensor, opts: AttentionBackwardOptions,
): void {
  const { B, T, nHeads, nKvHeads, headDim: hd } = opts;
  if (nHeads % nKvHeads !== 0) throw new Error(`attentionBackward: nHeads ${nHeads} is not a multiple of nKvHeads ${nKvHeads}`);
  if (hd < 1 || hd > ATTENTION_MAX_HEAD_DIM) throw new Error(`attentionBackward: head dim ${hd} outside 1..${ATTENTION_MAX_HEAD_DIM}`);
  const check = (t: Tensor, n: number, what: string) => {
    if (numel(t.shape) !== n) throw new Error(`attentionBackward: ${what} ${t.label} (${t.shape}) should hold ${n} values`);
  };
  const qn = B * T * nHeads * hd, kvn = B * T * nKvHeads * hd;
  check(q, qn, 'q'); check(out, qn, 'out'); check(dout, qn, 'dout'); check(dq, qn, 'dq');
  check(k, kvn, 'k'); check(v, kvn, 'v'); check(dk, kvn, 'dk'); check(dv, kvn, 'dv');
  check(lse, B * T * nHeads, 'lse');
  const variant = resolveVariant(gpu, opts.variant ?? attentionVariantForShape(gpu, hd), { B, T, nHeads, headDim: hd, pos0: 0 }, true);
  if (variant === 'quad') {
    attentionBackwardQuad(gpu, q, k, v, out, lse, dout, dq, dk, dv, opts);
    return;
  }
  if (variant === 'tiled') {
    attentionBackwardTiled(gpu, q, k, v, out, lse, dout, dq, dk, dv, opts);
    return;
  }
  const uniforms = { B, T, nHeads, nKvHeads, hd, group: nHeads / nKvHeads, scale: 1 / Math.sqrt(hd) };
  const delta = gpu.tensor('attention.bwd.delta', [B * T * nHeads]);
  const form = variant === 'workgroup' ? 'workgroup' : attentionBackwardRowRegisters(hd) ? 'row' : 'wide';
  const constants = form === 'row' ? { NB: Math.ceil(hd / 8) } : undefined;
  gpu.dispatch(BACKWARD[form].dq, { uniforms, constants, bindings: { q, k, v, out, lse, dout, dq, delta } });
  gpu.dispatch(BACKWARD[form].dkv, { uniforms, constants, bindings: { q, k, v, lse, dout, delta, dk, dv } });
  // Later users of this buffer are recorded (or, for uploads, submitted) after the dispatches above.
  gpu.release(delta);
}
