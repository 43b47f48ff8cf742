/**
 * The fused low-rank matmul: a base product plus a rank-R correction, without forming ΔW.
 * Each matmul variant (matmul.ts) has a low-rank entry point running the same K loop, and
 * `loraMatmul` runs the variant `matmul` would pick for the base product, so with L = 0 (a fresh
 * LoRA, B = 0) the result is bit-identical to `matmul`: the step-0 logits equal the base logits.
 */
import type { Gpu } from '../gpu/gpu.ts';
import { dtypeOf, type Tensor } from '../gpu/tensor.ts';
import { selectMatmulVariant, variantKernels, type MatmulVariant } from './matmul.ts';

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
  const variant = selectMatmulVariant(gpu, M, N, K, { aKM: o.aKM, bKN: o.bKN }, dtypeOf(B));
  loraMatmulWith(variant, gpu, A, B, X2, L, C, M, N, K, R, s, o);
}

/** `loraMatmul` with one particular variant's low-rank kernel; throws if it cannot handle the base product. */
export function loraMatmulWith(
  variant: MatmulVariant, gpu: Gpu, A: Tensor, B: Tensor, X2: Tensor, L: Tensor, C: Tensor,
  M: number, N: number, K: number, R: number, s: number, o: LoraMatmulOptions = {},
): void {
  if (!variant.applicable(M, N, K, o)) {
    throw new Error(`low-rank matmul variant ${variant.name} cannot compute ${M}×${N}×${K} aKM=${!!o.aKM} bKN=${!!o.bKN} (needs 4-aligned dimensions)`);
  }
  const { kernels, constants } = variantKernels(variant, dtypeOf(B)); // B may be a 16-bit frozen weight
  const vecEpilogue = kernels.lowRank4 && R % 4 === 0 && !o.lRN;
  gpu.dispatch(vecEpilogue ? kernels.lowRank4! : kernels.lowRank, {
    uniforms: { M, N, K, strideA: M * K, strideB: N * K, strideC: M * N, alpha: o.alpha ?? 1, R, s, batches: 1 },
    bindings: { A, B, X2, L, C },
    constants: { A_KM: o.aKM ? 1 : 0, B_KN: o.bKN ? 1 : 0, L_RN: o.lRN ? 1 : 0, ACCUMULATE: o.accumulate ? 1 : 0, ...constants },
  });
}
