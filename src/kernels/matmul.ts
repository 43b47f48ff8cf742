/**
 * Matrix products: the linear-layer form y = x·Wᵀ and the transposed forms backward needs.
 * Several kernels compute the same product (src/reference/ops.ts matmulRef); `matmul` picks one per
 * call from the Gpu's plan: a measured static rule on SwiftShader, `autotuneMatmul` (autotune.ts)
 * elsewhere.
 */
import code from '../../shaders/matmul.wgsl?raw';
import tiledCode from '../../shaders/matmul-tiled.wgsl?raw';
import vec4Code from '../../shaders/matmul-vec4.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, type KernelDef } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';

/**
 * Shared by every matmul shader's Params struct, plain and low-rank entry points alike; R and s are
 * the low-rank epilogue's (plain kernels get 0, 0).
 */
const uniforms = {
  M: 'u32', N: 'u32', K: 'u32', strideA: 'u32', strideB: 'u32', strideC: 'u32', alpha: 'f32', R: 'u32', s: 'f32',
} as const;

/** The plain kernel C = alpha·op(A)·op(B) and its fused low-rank twin (+ s·X2·op(L)) at `entryPoint`_lowrank. */
function kernelPair(name: string, code: string, entryPoint: string): { kernel: KernelDef; lowRank: KernelDef } {
  return {
    kernel: defineKernel({ name, code, entryPoint, uniforms, inputs: ['A', 'B'], outputs: ['C'] }),
    lowRank: defineKernel({
      name: `${name}-lowrank`, code, entryPoint: `${entryPoint}_lowrank`, uniforms, inputs: ['A', 'B', 'X2', 'L'], outputs: ['C'],
    }),
  };
}

/** Scalar loads, a 4×4 block of C per invocation: any shape, any layout. */
const scalarKernels = kernelPair('matmul', code, 'main');
export const matmulKernel = scalarKernels.kernel;
/** The vec4 variants' low-rank twin with vec4 loads in the epilogue too (R % 4 == 0, L stored (N, R)). */
function lowRank4(name: string, entryPoint: string): KernelDef {
  return defineKernel({
    name: `${name}-lowrank4`, code: vec4Code, entryPoint: `${entryPoint}_lowrank4`, uniforms, inputs: ['A', 'B', 'X2', 'L'], outputs: ['C'],
  });
}
const vec4x4Kernels = { ...kernelPair('matmul-vec4-4x4', vec4Code, 'tile4x4'), lowRank4: lowRank4('matmul-vec4-4x4', 'tile4x4') };
const vec8x8Kernels = { ...kernelPair('matmul-vec4-8x8', vec4Code, 'tile8x8'), lowRank4: lowRank4('matmul-vec4-8x8', 'tile8x8') };
const tiledKernels = kernelPair('matmul-tiled', tiledCode, 'main');

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

export type MatmulVariantName = 'scalar' | 'vec4-4x4' | 'vec4-8x8' | 'tiled';

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
  /** Rows × columns of C per workgroup. */
  readonly block: readonly [number, number];
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
  scalar: { name: 'scalar', ...scalarKernels, block: [32, 32], applicable: anyShape },
  'vec4-4x4': { name: 'vec4-4x4', ...vec4x4Kernels, block: [32, 32], applicable: vec4Aligned },
  'vec4-8x8': { name: 'vec4-8x8', ...vec8x8Kernels, block: [64, 64], applicable: vec4Aligned },
  tiled: { name: 'tiled', ...tiledKernels, block: [64, 64], applicable: anyShape },
};

/** Record C(M, N) = alpha · op(A) · op(B) with one particular kernel; throws if it cannot handle the shape. */
export function matmulWith(
  variant: MatmulVariant, gpu: Gpu, A: Tensor, B: Tensor, C: Tensor, M: number, N: number, K: number, o: MatmulOptions = {},
): void {
  if (!variant.applicable(M, N, K, o)) {
    throw new Error(`matmul variant ${variant.name} cannot compute ${M}×${N}×${K} aKM=${!!o.aKM} bKN=${!!o.bKN} (needs 4-aligned dimensions)`);
  }
  const [bm, bn] = variant.block;
  gpu.dispatch(variant.kernel, {
    uniforms: {
      M, N, K,
      strideA: o.strideA ?? M * K,
      strideB: o.strideB ?? N * K,
      strideC: o.strideC ?? M * N,
      alpha: o.alpha ?? 1,
      R: 0, s: 0,
    },
    bindings: { A, B, C },
    workgroups: [Math.ceil(N / bn), Math.ceil(M / bm), o.batches ?? 1],
    constants: { A_KM: o.aKM ? 1 : 0, B_KN: o.bKN ? 1 : 0, ACCUMULATE: o.accumulate ? 1 : 0 },
  });
}

// ---- selection ----------------------------------------------------------------------------------

/** Shape classes a plan ranks variants for: operand layouts × few rows (M < 8, decode-like) or a block. */
export type MatmulShapeClass = `${'aMK' | 'aKM'}-${'bNK' | 'bKN'}-${'rows' | 'block'}`;

/** Variants to try in order, per shape class; the first applicable one runs. 'scalar' always applies. */
export type MatmulPlan = Record<MatmulShapeClass, readonly MatmulVariantName[]>;

export const FEW_ROWS = 8;

export function shapeClass(M: number, o: MatmulOptions): MatmulShapeClass {
  return `${o.aKM ? 'aKM' : 'aMK'}-${o.bKN ? 'bKN' : 'bNK'}-${M < FEW_ROWS ? 'rows' : 'block'}`;
}

export const SHAPE_CLASSES: readonly MatmulShapeClass[] = (['aMK', 'aKM'] as const).flatMap((a) =>
  (['bNK', 'bKN'] as const).flatMap((b) => (['rows', 'block'] as const).map((s) => `${a}-${b}-${s}` as const)),
);

function uniformPlan(rows: readonly MatmulVariantName[], block: readonly MatmulVariantName[]): MatmulPlan {
  return Object.fromEntries(SHAPE_CLASSES.map((c) => [c, c.endsWith('rows') ? rows : block])) as MatmulPlan;
}

/**
 * SwiftShader (2 cores, GFLOP/s, 128×288×288 … 512×512×512, all four layouts): vec4-8x8 2.8–4.1,
 * vec4-4x4 2.1–2.8, scalar 1.4–1.7, tiled 0.7–1.1 (barriers are expensive there) and 0.01 for M ≤ 8.
 * With M < 8, 8×8 blocks compute mostly clamped rows: vec4-4x4 0.5 vs 0.35. Measured, not autotuned:
 * wall-clock timing on a shared CPU is too noisy to rank variants reliably at start-up.
 */
export const SWIFTSHADER_PLAN: MatmulPlan = uniformPlan(['vec4-4x4', 'scalar'], ['vec4-8x8', 'vec4-4x4', 'scalar']);

/** Before `autotuneMatmul` has run on a hardware GPU: workgroup-memory tiles for blocks. */
export const DEFAULT_GPU_PLAN: MatmulPlan = uniformPlan(['vec4-4x4', 'scalar'], ['tiled']);

export function isSwiftShader(gpu: Gpu): boolean {
  const i = gpu.adapterInfo;
  return /swiftshader/i.test(`${i.architecture} ${i.device} ${i.description}`);
}

const plans = new WeakMap<Gpu, MatmulPlan>();

/** The plan `matmul` follows on this Gpu. */
export function matmulPlan(gpu: Gpu): MatmulPlan {
  let plan = plans.get(gpu);
  if (!plan) {
    plan = isSwiftShader(gpu) ? SWIFTSHADER_PLAN : DEFAULT_GPU_PLAN;
    plans.set(gpu, plan);
  }
  return plan;
}

/** Replace the plan for this Gpu (autotune results, or a forced variant in tests and benchmarks). */
export function setMatmulPlan(gpu: Gpu, plan: MatmulPlan): void {
  plans.set(gpu, plan);
}

/** A plan that runs `name` wherever it applies and the scalar kernel elsewhere. */
export function forcedPlan(name: MatmulVariantName): MatmulPlan {
  return uniformPlan([name, 'scalar'], [name, 'scalar']);
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
