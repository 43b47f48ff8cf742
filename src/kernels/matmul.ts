/**
 * Matrix products: the linear-layer form y = x·Wᵀ and the transposed forms backward needs.
 * Several kernels compute the same product (src/reference/ops.ts matmulRef); `matmul` picks one per
 * call from the Gpu's kernel plan (plan.ts): a measured static rule on CPU adapters, `autotuneMatmul`
 * (autotune.ts) elsewhere. A B operand stored in 16 bits (a frozen BF16/F16 weight, tensor.ts) runs the
 * variant's 16-bit twin (shaders/*.b16.wgsl), chosen from the plan's `matmul16` ranking.
 */
import code from '../../shaders/matmul.wgsl?raw';
import tiledCode from '../../shaders/matmul-tiled.wgsl?raw';
import vec4Code from '../../shaders/matmul-vec4.wgsl?raw';
import code16 from '../../shaders/matmul.b16.wgsl?raw';
import vec4Code16 from '../../shaders/matmul-vec4.b16.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, type KernelDef } from '../gpu/kernel.ts';
import { dtypeOf, type Tensor, type TensorDtype } from '../gpu/tensor.ts';
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

/**
 * Kernel `name` at `entryPoint` of `code`: one workgroup per (WGY·t) × (WGX·t) block of C, z the batch.
 * `b16`: the shader reads B as 16-bit elements packed two per u32.
 */
function matmulDef(name: string, code: string, entryPoint: string, inputs: string[], t: Tiling, b16 = false): KernelDef {
  return defineKernel({
    name, code, entryPoint, uniforms, inputs, outputs: ['C'], workgroupSize: t.workgroupSize, packed16: b16 ? ['B'] : [],
    dispatch: (u, [wx, wy]) => [Math.ceil(u.N / (wx * t.perInvocation)), Math.ceil(u.M / (wy * t.perInvocation)), u.batches],
  });
}

/** The plain kernel C = alpha·op(A)·op(B) and its fused low-rank twin (+ s·X2·op(L)) at `entryPoint`_lowrank. */
function kernelPair(name: string, code: string, entryPoint: string, t: Tiling, b16 = false): { kernel: KernelDef; lowRank: KernelDef } {
  return {
    kernel: matmulDef(name, code, entryPoint, ['A', 'B'], t, b16),
    lowRank: matmulDef(`${name}-lowrank`, code, `${entryPoint}_lowrank`, ['A', 'B', 'X2', 'L'], t, b16),
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
function lowRank4(name: string, code: string, entryPoint: string, t: Tiling, b16 = false): KernelDef {
  return matmulDef(`${name}-lowrank4`, code, `${entryPoint}_lowrank4`, ['A', 'B', 'X2', 'L'], t, b16);
}
/** A vec4 variant's kernels from `code`: the plain and low-rank pair and the vec4-epilogue low-rank one. */
function vec4Kernels(name: string, code: string, entryPoint: string, t: Tiling, b16 = false): MatmulKernels {
  return { ...kernelPair(name, code, entryPoint, t, b16), lowRank4: lowRank4(name, code, entryPoint, t, b16) };
}
const vec4x4Kernels = vec4Kernels('matmul-vec4-4x4', vec4Code, 'tile4x4', by4);
const vec8x8Kernels = vec4Kernels('matmul-vec4-8x8', vec4Code, 'tile8x8', by8);
const tiledKernels = kernelPair('matmul-tiled', tiledCode, 'main', staged);
// The 16-bit-B twins (B_F16 set per call from B's dtype).
const scalarKernels16 = kernelPair('matmul.b16', code16, 'main', by4, true);
const vec4x4Kernels16 = vec4Kernels('matmul-vec4-4x4.b16', vec4Code16, 'tile4x4', by4, true);
const vec8x8Kernels16 = vec4Kernels('matmul-vec4-8x8.b16', vec4Code16, 'tile8x8', by8, true);

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

export interface MatmulKernels {
  readonly kernel: KernelDef;
  /**
   * The same K loop with a rank-R epilogue, C = alpha·op(A)·op(B) + s·X2·op(L) (lora-matmul.ts):
   * with L = 0 it stores exactly what `kernel` stores. Bindings A, B, X2, L, C; not batched.
   */
  readonly lowRank: KernelDef;
  /** `lowRank` with vec4 loads in the epilogue, for R % 4 == 0 and L stored (N, R) (vec4 variants only). */
  readonly lowRank4?: KernelDef;
}

export interface MatmulVariant extends MatmulKernels {
  readonly name: MatmulVariantName;
  /** The same kernels reading B as 16-bit elements (BF16 or F16, by the B_F16 override); absent: f32 B only. */
  readonly b16?: MatmulKernels;
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
  scalar: { name: 'scalar', ...scalarKernels, b16: scalarKernels16, applicable: anyShape },
  'vec4-4x4': { name: 'vec4-4x4', ...vec4x4Kernels, b16: vec4x4Kernels16, applicable: vec4Aligned },
  'vec4-8x8': { name: 'vec4-8x8', ...vec8x8Kernels, b16: vec8x8Kernels16, applicable: vec4Aligned },
  tiled: { name: 'tiled', ...tiledKernels, applicable: anyShape },
};

/**
 * The kernels of `variant` for a B operand stored as `dtype`, and the B_F16 override they take;
 * throws when the variant has no 16-bit twin.
 */
export function variantKernels(variant: MatmulVariant, dtype: TensorDtype): { kernels: MatmulKernels; constants: Record<string, number> } {
  if (dtype === 'f32') return { kernels: variant, constants: {} };
  if (!variant.b16) throw new Error(`matmul variant ${variant.name} has no 16-bit form for a ${dtype} B operand`);
  return { kernels: variant.b16, constants: { B_F16: dtype === 'f16' ? 1 : 0 } };
}

/** Record C(M, N) = alpha · op(A) · op(B) with one particular kernel; throws if it cannot handle the shape. */
export function matmulWith(
  variant: MatmulVariant, gpu: Gpu, A: Tensor, B: Tensor, C: Tensor, M: number, N: number, K: number, o: MatmulOptions = {},
): void {
  if (!variant.applicable(M, N, K, o)) {
    throw new Error(`matmul variant ${variant.name} cannot compute ${M}×${N}×${K} aKM=${!!o.aKM} bKN=${!!o.bKN} (needs 4-aligned dimensions)`);
  }
  const { kernels, constants } = variantKernels(variant, dtypeOf(B));
  gpu.dispatch(kernels.kernel, {
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
    constants: { A_KM: o.aKM ? 1 : 0, B_KN: o.bKN ? 1 : 0, ACCUMULATE: o.accumulate ? 1 : 0, ...constants },
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

/**
 * The variant `matmul` would run for this product on this Gpu, with B stored as `bDtype`: the plan's
 * `matmul` ranking for f32 B, its `matmul16` ranking (variants with a 16-bit twin) for BF16/F16 B.
 */
export function selectMatmulVariant(gpu: Gpu, M: number, N: number, K: number, o: MatmulOptions = {}, bDtype: TensorDtype = 'f32'): MatmulVariant {
  const plan = kernelPlan(gpu);
  const b16 = bDtype !== 'f32';
  for (const name of (b16 ? plan.matmul16 : plan.matmul)[shapeClass(M, o)]) {
    const v = MATMUL_VARIANTS[name];
    if (v.applicable(M, N, K, o) && (!b16 || v.b16)) return v;
  }
  return MATMUL_VARIANTS.scalar;
}

// ---- public API ---------------------------------------------------------------------------------

/**
 * Record C(M, N) = alpha · op(A) · op(B); see shaders/matmul.wgsl for the layouts. B may be a 16-bit
 * tensor (a frozen weight): its variant is then picked from the plan's `matmul16` ranking.
 */
export function matmul(gpu: Gpu, A: Tensor, B: Tensor, C: Tensor, M: number, N: number, K: number, o: MatmulOptions = {}): void {
  matmulWith(selectMatmulVariant(gpu, M, N, K, o, dtypeOf(B)), gpu, A, B, C, M, N, K, o);
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
