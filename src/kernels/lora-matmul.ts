/** The fused low-rank matmul: a base product plus a rank-R correction, without forming ΔW. */
import code from '../../shaders/lora-matmul.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';

export const loraMatmulKernel = defineKernel({
  name: 'lora-matmul',
  code,
  uniforms: { M: 'u32', N: 'u32', K: 'u32', R: 'u32', alpha: 'f32', s: 'f32' },
  inputs: ['A', 'B', 'X2', 'L'],
  outputs: ['C'],
});

export interface LoraMatmulOptions {
  aKM?: boolean;
  bKN?: boolean;
  /** L is stored (R, N) instead of (N, R). */
  lRN?: boolean;
  accumulate?: boolean;
  alpha?: number;
}

/**
 * Record C(M, N) = alpha·op(A)·op(B) + s·X2·op(L), X2 (M, R). Forward of a LoRA layer:
 * loraMatmul(gpu, x, W, xa, loraB, y, rows, out, in, r, s) with xa = x·Aᵀ.
 */
export function loraMatmul(
  gpu: Gpu, A: Tensor, B: Tensor, X2: Tensor, L: Tensor, C: Tensor,
  M: number, N: number, K: number, R: number, s: number, o: LoraMatmulOptions = {},
): void {
  gpu.dispatch(loraMatmulKernel, {
    uniforms: { M, N, K, R, alpha: o.alpha ?? 1, s },
    bindings: { A, B, X2, L, C },
    workgroups: [Math.ceil(N / 32), Math.ceil(M / 32)],
    constants: { A_KM: o.aKM ? 1 : 0, B_KN: o.bKN ? 1 : 0, L_RN: o.lRN ? 1 : 0, ACCUMULATE: o.accumulate ? 1 : 0 },
  });
}
