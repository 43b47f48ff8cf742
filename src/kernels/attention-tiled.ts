/**
 * The 'tiled' attention variant: barrier-free register tiles through a (query, key) scratch.
 * Matmul-shaped work for CPUs (SwiftShader), where every storage load is a 4-lane gather and a
 * workgroup barrier costs ~0.1 ms: each invocation keeps a 4×4 tile in a mat4x4 and reads vec4s,
 * so 8 vec4 loads feed 64 multiply-adds. Needs hd % 4 == 0. The scratch is bounded by processing
 * the batch in chunks. Forward: scores → softmax numerators (+ lse) → out. Backward: D → (P, dS) → dq → (dk, dv).
 * Public entry points are attention / attentionBackward in ./attention.ts (variant 'tiled').
 */
import scoresCode from '../../shaders/attention.fwd.scores.wgsl?raw';
import softmaxCode from '../../shaders/attention.fwd.softmax.wgsl?raw';
import pvCode from '../../shaders/attention.fwd.pv.wgsl?raw';
import deltaCode from '../../shaders/attention.bwd.delta.wgsl?raw';
import dsCode from '../../shaders/attention.bwd.ds.wgsl?raw';
import dqTiledCode from '../../shaders/attention.bwd.dq.tiled.wgsl?raw';
import dkvTiledCode from '../../shaders/attention.bwd.dkv.tiled.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';

const fwdUniforms = {
  T: 'u32', S: 'u32', nHeads: 'u32', nKvHeads: 'u32', hd: 'u32', pos0: 'u32', group: 'u32', scale: 'f32',
  b0: 'u32', nb: 'u32', tk: 'u32',
} as const;
const pad4 = (n: number) => Math.ceil(n / 4) * 4;
/** 64-wide workgroups, one invocation per `count(u, Tp / 4)` (Tp = queries padded to 4) over the chunk. */
function perTile<T extends { T: number }>(count: (u: T, qt: number) => number) {
  return { workgroupSize: 64, dispatch: perInvocation((u: T) => count(u, pad4(u.T) / 4)) };
}
type Fwd = { nb: number; T: number; hd: number; nHeads: number; tk: number };
type Bwd = { nb: number; T: number; hd: number; nHeads: number; nKvHeads: number };
/** Stage 1: scaled scores of 4×4 (query, key) tiles into a scratch. */
export const attentionScoresKernel = defineKernel({
  name: 'attention.fwd.scores', code: scoresCode, uniforms: fwdUniforms, inputs: ['q', 'k'], outputs: ['scores'],
  ...perTile((u: Fwd, qt) => u.nb * u.nHeads * qt * (u.tk / 4)), // 4×4 (query, key) tiles
});
/** Stage 2: softmax numerators in place and 1/Σ per row. */
export const attentionSoftmaxKernel = defineKernel({
  name: 'attention.fwd.softmax', code: softmaxCode, uniforms: fwdUniforms, outputs: ['scores', 'rowInv'],
  ...perTile((u: Fwd, qt) => u.nb * u.nHeads * 4 * qt), // padded query rows
});
/** The same, also writing the logsumexp per (row, head). */
export const attentionSoftmaxLseKernel = defineKernel({
  name: 'attention.fwd.softmax+lse', code: softmaxCode, entryPoint: 'main_lse', uniforms: fwdUniforms,
  outputs: ['scores', 'rowInv', 'lse'],
  ...perTile((u: Fwd, qt) => u.nb * u.nHeads * 4 * qt),
});
/** Stage 3: out = numerators · v / Σ, 4 queries × 4 dims per invocation. */
export const attentionPvKernel = defineKernel({
  name: 'attention.fwd.pv', code: pvCode, uniforms: fwdUniforms, inputs: ['e', 'rowInv', 'v'], outputs: ['out'],
  ...perTile((u: Fwd, qt) => u.nb * u.nHeads * qt * (u.hd / 4)), // 4 queries × 4 dims
});

const bwdUniforms = {
  B: 'u32', T: 'u32', nHeads: 'u32', nKvHeads: 'u32', hd: 'u32', group: 'u32', scale: 'f32', b0: 'u32', nb: 'u32',
} as const;
/** Backward stage 1: D_i = dout_i·out_i per (row, head). */
export const attentionBackwardDeltaKernel = defineKernel({
  name: 'attention.bwd.delta', code: deltaCode, uniforms: bwdUniforms, inputs: ['out', 'dout'], outputs: ['delta'],
  workgroupSize: 64, dispatch: perInvocation((u) => u.B * u.T * u.nHeads), // one per (row, head), whole batch
});
/** Backward stage 2: P and dS of 4×4 (query, key) tiles into scratches. */
export const attentionBackwardDsKernel = defineKernel({
  name: 'attention.bwd.ds', code: dsCode, uniforms: bwdUniforms,
  inputs: ['q', 'k', 'v', 'lse', 'dout', 'delta'], outputs: ['P', 'dS'],
  ...perTile((u: Bwd, qt) => u.nb * u.nHeads * qt * qt), // 4×4 (query, key) tiles
});
/** Backward stage 3: dq = scale · dS · k, 4 queries × 4 dims per invocation. */
export const attentionBackwardDqTiledKernel = defineKernel({
  name: 'attention.bwd.dq.tiled', code: dqTiledCode, uniforms: bwdUniforms, inputs: ['dS', 'k'], outputs: ['dq'],
  ...perTile((u: Bwd, qt) => u.nb * u.nHeads * qt * (u.hd / 4)),
});
/** Backward stage 4: dk = scale · dSᵀ · q and dv = Pᵀ · dout over the group's heads, 4 keys × 4 dims per invocation. */
export const attentionBackwardDkvTiledKernel = defineKernel({
  name: 'attention.bwd.dkv.tiled', code: dkvTiledCode, uniforms: bwdUniforms,
  inputs: ['P', 'dS', 'q', 'dout'], outputs: ['dk', 'dv'],
  ...perTile((u: Bwd, kt) => u.nb * u.nKvHeads * kt * (u.hd / 4)), // 4 keys × 4 dims
});

/**
 * Bytes of (query, key) scratch the tiled variant may hold at once: the batch is processed in chunks under it,
 * and a shape whose single batch row does not fit runs 'row' instead. Mutable so tests can force chunking.
 */
export const tiledAttentionLimits = { scratchBytes: 64 * 1024 * 1024 };

/** Shapes of the tiled forward: Tp = queries padded to 4, tk = keys (pos0 + T) padded to 4. */
export interface TiledShape {
  B: number;
  T: number;
  nHeads: number;
  headDim: number;
  pos0: number;
}

/** Batch rows per chunk: scratch floats per batch row are `perRow` (0 when one row does not fit). */
function chunkRows(gpu: Gpu, B: number, perRowFloats: number): number {
  const cap = Math.min(tiledAttentionLimits.scratchBytes, gpu.device.limits.maxStorageBufferBindingSize);
  return Math.min(B, Math.floor(cap / (perRowFloats * 4)));
}

const fwdPerRow = (s: TiledShape) => s.nHeads * pad4(s.T) * pad4(s.pos0 + s.T);
// P and dS, (Tp × Tp) each per head.
const bwdPerRow = (s: TiledShape) => 2 * s.nHeads * pad4(s.T) * pad4(s.T);

/** Whether the tiled forward (and, with pos0 = 0, backward) handles this shape. */
export function tiledAttentionSupports(gpu: Gpu, s: TiledShape, backward: boolean): boolean {
  return s.headDim % 4 === 0 && chunkRows(gpu, s.B, backward ? bwdPerRow(s) : fwdPerRow(s)) >= 1;
}

/** Record the tiled forward (same contract as `attention`). */
export function attentionTiled(
  gpu: Gpu, q: Tensor, k: Tensor, v: Tensor, out: Tensor,
  opts: TiledShape & { S: number; nKvHeads: number; lse?: Tensor },
): void {
  const { B, T, S, nHeads, nKvHeads, headDim: hd, pos0, lse } = opts;
  const Tp = pad4(T), tk = pad4(pos0 + T);
  const chunk = chunkRows(gpu, B, fwdPerRow(opts));
  const scores = gpu.tensor('attention.scores', [chunk * nHeads * Tp * tk]);
  const rowInv = gpu.tensor('attention.rowInv', [chunk * nHeads * Tp]);
  for (let b0 = 0; b0 < B; b0 += chunk) {
    const nb = Math.min(chunk, B - b0);
    const uniforms = { T, S, nHeads, nKvHeads, hd, pos0, group: nHeads / nKvHeads, scale: 1 / Math.sqrt(hd), b0, nb, tk };
    gpu.dispatch(attentionScoresKernel, { uniforms, bindings: { q, k, scores } });
    if (lse) gpu.dispatch(attentionSoftmaxLseKernel, { uniforms, bindings: { scores, rowInv, lse } });
    else gpu.dispatch(attentionSoftmaxKernel, { uniforms, bindings: { scores, rowInv } });
    gpu.dispatch(attentionPvKernel, { uniforms, bindings: { e: scores, rowInv, v, out } });
  }
  gpu.release(scores, rowInv); // later work recorded on a reused buffer runs after ours
}

/** Record the tiled backward (same contract as `attentionBackward`: pos0 = 0, S = T, dq, dk, dv overwritten). */
export function attentionBackwardTiled(
  gpu: Gpu, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dout: Tensor,
  dq: Tensor, dk: Tensor, dv: Tensor, opts: { B: number; T: number; nHeads: number; nKvHeads: number; headDim: number },
): void {
  const { B, T, nHeads, nKvHeads, headDim: hd } = opts;
  const Tp = pad4(T);
  const base = { B, T, nHeads, nKvHeads, hd, group: nHeads / nKvHeads, scale: 1 / Math.sqrt(hd) };
  const rows = B * T * nHeads;
  const delta = gpu.tensor('attention.bwd.delta', [rows]);
  gpu.dispatch(attentionBackwardDeltaKernel, { uniforms: { ...base, b0: 0, nb: B }, bindings: { out, dout, delta } });
  const chunk = chunkRows(gpu, B, bwdPerRow({ ...opts, pos0: 0 }));
  const P = gpu.tensor('attention.bwd.P', [chunk * nHeads * Tp * Tp]);
  const dS = gpu.tensor('attention.bwd.dS', [chunk * nHeads * Tp * Tp]);
  for (let b0 = 0; b0 < B; b0 += chunk) {
    const nb = Math.min(chunk, B - b0);
    const uniforms = { ...base, b0, nb };
    gpu.dispatch(attentionBackwardDsKernel, { uniforms, bindings: { q, k, v, lse, dout, delta, P, dS } });
    gpu.dispatch(attentionBackwardDqTiledKernel, { uniforms, bindings: { dS, k, dq } });
    gpu.dispatch(attentionBackwardDkvTiledKernel, { uniforms, bindings: { P, dS, q, dout, dk, dv } });
  }
  gpu.release(P, dS, delta); // later work recorded on a reused buffer runs after ours
}
