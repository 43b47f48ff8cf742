/**
 * Matrix products: the linear-layer form y = x·Wᵀ and the transposed forms backward needs.
 * Several kernels compute the same product (src/reference/ops.ts matmulRef); `matmul` picks one per
 * call from the Gpu's kernel plan (plan.ts): a measured static rule on CPU adapters, `autotuneMatmul`
 * (autotune.ts) elsewhere.
 */
import code from '../../shaders/matmul.wgsl?raw';
import tiledCode from '../../shaders/matmul-tiled.wgsl?raw';
import vec4Code from '../../shaders/matmul-vec4.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, type KernelDef } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { kernelPlan, setKernelPlan, type MatmulPlan, type MatmulShapeClass, type MatmulVariantName } from './plan.ts';

/**
 * Shared by every matmul shader's Params struct, plain and low-rank entry points alike; R and s are
 * the low-rank epilogue's (plain kernels get 0, 0), batches the grid's z (low-rank kernels get 1).
 */
const uniforms = {
  M: 'u32', N: 'u32', K: 'u32', strideA: 'u32', strideB: 'u32', strideC: 'u32', alpha: 'f32', R: 'u32', s: 'f32', batches: 'u32',
} as const;

/** How a matmul shader tiles C: its workgroup and the (square) block of C each invocation computes. */
interface Tiling {
  workgroupSize: readonly [number, number];
  perInvocation: number;
}

/** Kernel `name` at `entryPoint` of `code`: one workgroup per (WGY·t) × (WGX·t) block of C, z the batch. */
function matmulDef(name: string, code: string, entryPoint: string, inputs: string[], t: Tiling): KernelDef {
  return defineKernel({
    name, code, entryPoint, uniforms, inputs, outputs: ['C'], workgroupSize: t.workgroupSize,
    dispatch: (u, [wx, wy]) => [Math.ceil(u.N / (wx * t.perInvocation)), Math.ceil(u.M / (wy * t.perInvocation)), u.batches],
  });
}

/** The plain kernel C = alpha·op(A)·op(B) and its fused low-rank twin (+ s·X2·op(L)) at `entryPoint`_lowrank. */
function kernelPair(name: string, code: string, entryPoint: string, t: Tiling): { kernel: KernelDef; lowRank: KernelDef } {
  return {
    kernel: matmulDef(name, code, entryPoint, ['A', 'B'], t),
    lowRank: matmulDef(`${name}-lowrank`, code, `${entryPoint}_lowrank`, ['A', 'B', 'X2', 'L'], t),
  };
}

const by4: Tiling = { workgroupSize: [8, 8], perInvocation: 4 };
const by8: Tiling = { workgroupSize: [8, 8], perInvocation: 8 };
/** 16×16 invocations of 4×4 each: the 64×64 block matmul-tiled.wgsl stages in workgroup memory. */
const staged: Tiling = { workgroupSize: [16, 16], perInvocation: 4 };

/** Scalar loads, a 4×4 block of C per invocation: any shape, any layout. */
const scalarKernels = kernelPair('matmul', code, 'main', by4);
export const matmulKernel = scalarKernels.kernel;
/** The vec4 variants' low-rank twin with vec4 loads in the epilogue too (R % 4 == 0, L stored (N, R)). */
function lowRank4(name: string, entryPoint: string, t: Tiling): KernelDef {
  return matmulDef(`${name}-lowrank4`, vec4Code, `${entryPoint}_lowrank4`, ['A', 'B', 'X2', 'L'], t);
}
const vec4x4Kernels = { ...kernelPair('matmul-vec4-4x4', vec4Code, 'tile4x4', by4), lowRank4: lowRank4('matmul-vec4-4x4', 'tile4x4', by4) };
const vec8x8Kernels = { ...kernelPair('matmul-vec4-8x8', vec4Code, 'tile8x8', by8), lowRank4: lowRank4('matmul-vec4-8x8', 'tile8x8', by8) };
const tiledKernels = kernelPair('matmul-tiled', tiledCode, 'main', staged);

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

// ---- variants -----------------------------------------------------------------------------------

export interface MatmulVariant {
  readonly name: MatmulVariantName;
  readonly kernel: KernelDef;
  /**
   * The same K loop with a rank-R epilogue, C = alpha·op(A)·op(B) + s·X2·op(L) (lora-matmul.ts):
   * with L = 0 it stores exactly what `kernel` stores. Bindings A, B, X2, L, C; not batched.
   */
  readonly lowRank: KernelDef;
  /** `lowRank` with vec4 loads in the epilogue, for R % 4 == 0 and L stored (N, R) (vec4 variants only). */
  readonly lowRank4?: KernelDef;
  /** Whether this kernel can compute the product (alignment requirements). */
  applicable(M: number, N: number, K: number, o: MatmulOptions): boolean;
}

const anyShape = () => true;

/** vec4 loads along each operand's contiguous dimension need it (and the batch strides) to be multiples of 4. */
function vec4Aligned(M: number, N: number, K: number, o: MatmulOptions): boolean {
  if (K % 4 !== 0 || (o.aKM && M % 4 !== 0) || (o.bKN && N % 4 !== 0)) return false;
  if ((o.batches ?? 1) === 1) return true;
  return (o.strideA ?? M * K) % 4 === 0 && (o.strideB ?? N * K) % 4 === 0;
}

export const MATMUL_VARIANTS: Readonly<Record<MatmulVariantName, MatmulVariant>> = {
  scalar: { name: 'scalar', ...scalarKernels, applicable: anyShape },
  'vec4-4x4': { name: 'vec4-4x4', ...vec4x4Kernels, applicable: vec4Aligned },
  'vec4-8x8': { name: 'vec4-8x8', ...vec8x8Kernels, applicable: vec4Aligned },
  tiled: { name: 'tiled', ...tiledKernels, applicable: anyShape },
};

/** Record C(M, N) = alpha · op(A) · op(B) with one particular kernel; throws if it cannot handle the shape. */
export function matmulWith(
  variant: MatmulVariant, gpu: Gpu, A: Tensor, B: Tensor, C: Tensor, M: number, N: number, K: number, o: MatmulOptions = {},
): void {
  if (!variant.applicable(M, N, K, o)) {
    throw new Error(`matmul variant ${variant.name} cannot compute ${M}×${N}×${K} aKM=${!!o.aKM} bKN=${!!o.bKN} (needs 4-aligned dimensions)`);
  }
  gpu.dispatch(variant.kernel, {
    uniforms: {
      M, N, K,
      strideA: o.strideA ?? M * K,
      strideB: o.strideB ?? N * K,
      strideC: o.strideC ?? M * N,
      alpha: o.alpha ?? 1,
      R: 0, s: 0,
      batches: o.batches ?? 1,
    },
    bindings: { A, B, C },
    constants: { A_KM: o.aKM ? 1 : 0, B_KN: o.bKN ? 1 : 0, ACCUMULATE: o.accumulate ? 1 : 0 },
  });
}

// ---- selection ----------------------------------------------------------------------------------

export const FEW_ROWS = 8;

export function shapeClass(M: number, o: MatmulOptions): MatmulShapeClass {
  return `${o.aKM ? 'aKM' : 'aMK'}-${o.bKN ? 'bKN' : 'bNK'}-${M < FEW_ROWS ? 'rows' : 'block'}`;
}

/** The matmul plan on this Gpu (its kernel plan's). */
export function matmulPlan(gpu: Gpu): MatmulPlan {
  return kernelPlan(gpu).matmul;
}

/** Replace the matmul plan for this Gpu (autotune results, or a forced variant in tests and benchmarks). */
export function setMatmulPlan(gpu: Gpu, plan: MatmulPlan): void {
  setKernelPlan(gpu, { matmul: plan });
}

/** The variant `matmul` would run for this product on this Gpu. */
export function selectMatmulVariant(gpu: Gpu, M: number, N: number, K: number, o: MatmulOptions = {}): MatmulVariant {
  for (const name of matmulPlan(gpu)[shapeClass(M, o)]) {
    const v = MATMUL_VARIANTS[name];
    if (v.applicable(M, N, K, o)) return v;
  }
  return MATMUL_VARIANTS.scalar;
}

// ---- public API ---------------------------------------------------------------------------------

/** Record C(M, N) = alpha · op(A) · op(B); see shaders/matmul.wgsl for the layouts. */
export function matmul(gpu: Gpu, A: Tensor, B: Tensor, C: Tensor, M: number, N: number, K: number, o: MatmulOptions = {}): void {
  matmulWith(selectMatmulVariant(gpu, M, N, K, o), gpu, A, B, C, M, N, K, o);
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
