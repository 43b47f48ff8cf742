/**
 * The 'quad' attention variant for small head dims (hd % 4 == 0, hd ≤ 32): one invocation per 4 consecutive
 * queries (or, for dk/dv, keys), their rows and accumulators in registers, no barriers and no scratch.
 * On SwiftShader every storage load is a 4-lane gather; holding 4 rows lets each loaded k/v (or q/dout)
 * row feed 4 dot products and 4 axpys. Pipelines are specialised by override HD4 = hd/4.
 * Public entry points are attention / attentionBackward in ./attention.ts (variant 'quad').
 */
import fwdCode from '../../shaders/attention.fwd.quad.wgsl?raw';
import dqCode from '../../shaders/attention.bwd.dq.quad.wgsl?raw';
import dkvCode from '../../shaders/attention.bwd.dkv.quad.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';

/** Largest head dim of the quad kernels (8 vec4s per row in registers). */
export const ATTENTION_QUAD_MAX_HEAD_DIM = 32;

const fwdUniforms = {
  B: 'u32', T: 'u32', S: 'u32', nHeads: 'u32', nKvHeads: 'u32', hd: 'u32', pos0: 'u32', group: 'u32', scale: 'f32',
} as const;
const bwdUniforms = { B: 'u32', T: 'u32', nHeads: 'u32', nKvHeads: 'u32', hd: 'u32', group: 'u32', scale: 'f32' } as const;
/** One invocation per 4 consecutive queries of a (batch row, head). */
const perQueryQuad = { workgroupSize: 64, dispatch: perInvocation((u: { B: number; T: number; nHeads: number }) => u.B * u.nHeads * Math.ceil(u.T / 4)) };
/** One invocation per 4 consecutive keys of a (batch row, kv head). */
const perKeyQuad = { workgroupSize: 64, dispatch: perInvocation((u: { B: number; T: number; nKvHeads: number }) => u.B * u.nKvHeads * Math.ceil(u.T / 4)) };

/** Forward, 4 queries per invocation with an online softmax. */
export const attentionQuadKernel = defineKernel({
  name: 'attention.fwd.quad', code: fwdCode, uniforms: fwdUniforms, inputs: ['q', 'k', 'v'], outputs: ['out'], ...perQueryQuad,
});
/** The same, also writing the logsumexp per (row, head). */
export const attentionQuadLseKernel = defineKernel({
  name: 'attention.fwd.quad+lse', code: fwdCode, entryPoint: 'main_lse', uniforms: fwdUniforms,
  inputs: ['q', 'k', 'v'], outputs: ['out', 'lse'], ...perQueryQuad,
});
/** dq and D_i = dout_i·out_i, 4 queries per invocation. */
export const attentionBackwardDqQuadKernel = defineKernel({
  name: 'attention.bwd.dq.quad', code: dqCode, uniforms: bwdUniforms,
  inputs: ['q', 'k', 'v', 'out', 'lse', 'dout'], outputs: ['dq', 'delta'], ...perQueryQuad,
});
/** dk and dv over the group's heads, 4 keys per invocation. */
export const attentionBackwardDkvQuadKernel = defineKernel({
  name: 'attention.bwd.dkv.quad', code: dkvCode, uniforms: bwdUniforms,
  inputs: ['q', 'k', 'v', 'lse', 'dout', 'delta'], outputs: ['dk', 'dv'], ...perKeyQuad,
});

/** Whether the quad kernels handle head dim `hd`. */
export function quadAttentionSupports(hd: number): boolean {
  return hd % 4 === 0 && hd >= 4 && hd <= ATTENTION_QUAD_MAX_HEAD_DIM;
}

/** Record the quad forward (same contract as `attention`). */
export function attentionQuad(
  gpu: Gpu, q: Tensor, k: Tensor, v: Tensor, out: Tensor,
  opts: { B: number; T: number; S: number; nHeads: number; nKvHeads: number; headDim: number; pos0: number; lse?: Tensor },
): void {
  const { B, T, S, nHeads, nKvHeads, headDim: hd, pos0, lse } = opts;
  const args = {
    uniforms: { B, T, S, nHeads, nKvHeads, hd, pos0, group: nHeads / nKvHeads, scale: 1 / Math.sqrt(hd) },
    constants: { HD4: hd / 4 },
  };
  if (lse) gpu.dispatch(attentionQuadLseKernel, { ...args, bindings: { q, k, v, out, lse } });
  else gpu.dispatch(attentionQuadKernel, { ...args, bindings: { q, k, v, out } });
}

/** Record the quad backward (same contract as `attentionBackward`: pos0 = 0, S = T, dq, dk, dv overwritten). */
export function attentionBackwardQuad(
  gpu: Gpu, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dout: Tensor,
  dq: Tensor, dk: Tensor, dv: Tensor, opts: { B: number; T: number; nHeads: number; nKvHeads: number; headDim: number },
): void {
  const { B, T, nHeads, nKvHeads, headDim: hd } = opts;
  const uniforms = { B, T, nHeads, nKvHeads, hd, group: nHeads / nKvHeads, scale: 1 / Math.sqrt(hd) };
  const constants = { HD4: hd / 4 };
  const delta = gpu.tensor('attention.bwd.delta', [B * T * nHeads]);
  gpu.dispatch(attentionBackwardDqQuadKernel, {
    uniforms, constants, bindings: { q, k, v, out, lse, dout, dq, delta },
  });
  gpu.dispatch(attentionBackwardDkvQuadKernel, {
    uniforms, constants, bindings: { q, k, v, lse, dout, delta, dk, dv },
  });
  gpu.release(delta); // later work recorded on a reused buffer runs after ours
}
