/** Matrix products: the linear-layer form y = x·Wᵀ and the transposed forms backward needs. */
import code from '../../shaders/matmul.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';

export const matmulKernel = defineKernel({
  name: 'matmul',
  code,
  uniforms: { M: 'u32', N: 'u32', K: 'u32', strideA: 'u32', strideB: 'u32', strideC: 'u32', alpha: 'f32' },
  inputs: ['A', 'B'],
  outputs: ['C'],
});

export interface MatmulOptions {
  /** A is stored (K, M) instead of (M, K). */
  aKM?: boolean;
  /** B is stored (K, N) instead of (N, K). */
  bKN?: boolean;
  /** C += result instead of C = result. */
  accumulate?: boolean;
  alpha?: number;
  /** Batched product: element strides between consecutive matrices (0 shares the operand). */
  batches?: number;
  strideA?: number;
  strideB?: number;
  strideC?: number;
}

/** Record C(M, N) = alpha · op(A) · op(B); see shaders/matmul.wgsl for the layouts. */
export function matmul(gpu: Gpu, A: Tensor, B: Tensor, C: Tensor, M: number, N: number, K: number, o: MatmulOptions = {}): void {
  const batches = o.batches ?? 1;
  gpu.dispatch(matmulKernel, {
    uniforms: {
      M, N, K,
      strideA: o.strideA ?? M * K,
      strideB: o.strideB ?? N * K,
      strideC: o.strideC ?? M * N,
      alpha: o.alpha ?? 1,
    },
    bindings: { A, B, C },
    workgroups: [Math.ceil(N / 32), Math.ceil(M / 32), batches],
    constants: { A_KM: o.aKM ? 1 : 0, B_KN: o.bKN ? 1 : 0, ACCUMULATE: o.accumulate ? 1 : 0 },
  });
}

/** y(rows, out) = x(rows, in) · W(out, in)ᵀ into a new tensor. */
export function linear(gpu: Gpu, x: Tensor, W: Tensor, label: string): Tensor {
  const [out, inF] = W.shape as [number, number];
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (x.shape[x.shape.length - 1] !== inF) {
    throw new Error(`linear ${label}: input ${x.label} has last dim ${x.shape[x.shape.length - 1]}, weight ${W.label} expects ${inF}`);
  }
  const y = gpu.tensor(label, [...x.shape.slice(0, -1), out]);
  matmul(gpu, x, W, y, rows, out, inF);
  return y;
}
