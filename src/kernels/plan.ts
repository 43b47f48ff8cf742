/**
 * The kernel plan: which variant of each kernel family runs on a Gpu. Decided once per Gpu from its
 * adapter class (gpu.adapterClass); matmul's ranking is replaced by `autotuneMatmul` on hardware GPUs.
 * Every family reads its default here; an explicit `variant` argument still wins.
 */
import type { AdapterClass, Gpu } from '../gpu/gpu.ts';

/** 'workgroup': a workgroup reduction per row (GPUs). 'row': one invocation per row, no barriers. */
export type RmsnormVariant = 'workgroup' | 'row';

/**
 * 'workgroup': a workgroup per row with a tree reduction (GPUs). 'row': one invocation per row and one
 * for the mean, no barriers (CPU adapters, where each barrier costs ~0.1 ms per workgroup).
 */
export type CrossEntropyVariant = 'workgroup' | 'row';

/**
 * 'workgroup': per-workgroup tree reductions (GPUs). 'strided': one invocation per partial, no barriers —
 * SwiftShader pays ~0.5 ms per 256-wide workgroup of barriers, which made Σg² cost seconds per step.
 */
export type SumSquaresVariant = 'workgroup' | 'strided';

/**
 * 'workgroup': flash-style workgroup per query row (GPUs). 'row': one invocation per query row, no barriers.
 * The CPU (SwiftShader) forms, where every storage load is a 4-lane gather and barriers are costly:
 * 'quad': 4 queries (keys) per invocation with rows in registers, no scratch (hd % 4 == 0, hd ≤ 32);
 * 'tiled': matmul-shaped 4×4 register tiles through a (query, key) scratch (hd % 4 == 0, any hd).
 * A variant that does not apply to a shape falls back: 'quad' → 'tiled' → 'row'.
 */
export type AttentionVariant = 'workgroup' | 'row' | 'tiled' | 'quad';

/**
 * 'workgroup': one 64-wide workgroup per column pair, cEven − 1 dispatches per sweep (GPUs).
 * 'row': one invocation per column pair, no barriers (SwiftShader pays ~0.1 ms per workgroup barrier).
 * 'block': one invocation per pair of column blocks, JACOBI_BLOCKS dispatches per sweep (SwiftShader,
 * where a dispatch costs more than a whole step of a small matrix).
 */
export type JacobiVariant = 'row' | 'block' | 'workgroup';

export type MatmulVariantName = 'scalar' | 'vec4-4x4' | 'vec4-8x8' | 'tiled';

/** Shape classes a matmul plan ranks variants for: operand layouts × few rows (M < 8, decode-like) or a block. */
export type MatmulShapeClass = `${'aMK' | 'aKM'}-${'bNK' | 'bKN'}-${'rows' | 'block'}`;

/** Matmul variants to try in order, per shape class; the first applicable one runs. 'scalar' always applies. */
export type MatmulPlan = Record<MatmulShapeClass, readonly MatmulVariantName[]>;

export interface KernelPlan {
  readonly rmsnorm: RmsnormVariant;
  readonly crossEntropy: CrossEntropyVariant;
  readonly sumSquares: SumSquaresVariant;
  /** The attention family; attention.ts narrows 'tiled' to 'quad' for head dims the quad kernels take. */
  readonly attention: 'workgroup' | 'tiled';
  /** Jacobi step for c rotated columns: 'block' while c ≤ jacobiBlockMaxColumns, else `jacobi`. */
  readonly jacobi: JacobiVariant;
  readonly jacobiBlockMaxColumns: number;
  /** dtable columns per embedding-backward invocation: whole rows, or slices for ~16K invocations. */
  readonly embeddingBackward: 'rows' | 'slices';
  readonly matmul: MatmulPlan;
  /** The same ranking for a B operand stored in 16 bits (a frozen BF16/F16 weight); variants without a 16-bit twin are skipped. */
  readonly matmul16: MatmulPlan;
}

export const SHAPE_CLASSES: readonly MatmulShapeClass[] = (['aMK', 'aKM'] as const).flatMap((a) =>
  (['bNK', 'bKN'] as const).flatMap((b) => (['rows', 'block'] as const).map((s) => `${a}-${b}-${s}` as const)),
);

function uniformPlan(rows: readonly MatmulVariantName[], block: readonly MatmulVariantName[]): MatmulPlan {
  return Object.fromEntries(SHAPE_CLASSES.map((c) => [c, c.endsWith('rows') ? rows : block])) as MatmulPlan;
}

/** A matmul plan that runs `name` wherever it applies and the scalar kernel elsewhere. */
export function forcedPlan(name: MatmulVariantName): MatmulPlan {
  return uniformPlan([name, 'scalar'], [name, 'scalar']);
}

/**
 * SwiftShader (2 cores, GFLOP/s, 128×288×288 … 512×512×512, all four layouts): vec4-8x8 2.8–4.1,
 * vec4-4x4 2.1–2.8, scalar 1.4–1.7, tiled 0.7–1.1 (barriers are expensive there) and 0.01 for M ≤ 8.
 * With M < 8, 8×8 blocks compute mostly clamped rows: vec4-4x4 0.5 vs 0.35. Measured, not autotuned:
 * wall-clock timing on a shared CPU is too noisy to rank variants reliably at start-up.
 */
export const CPU_MATMUL_PLAN: MatmulPlan = uniformPlan(['vec4-4x4', 'scalar'], ['vec4-8x8', 'vec4-4x4', 'scalar']);

/** Before `autotuneMatmul` has run on a hardware GPU: workgroup-memory tiles for blocks. */
export const GPU_MATMUL_PLAN: MatmulPlan = uniformPlan(['vec4-4x4', 'scalar'], ['tiled']);

/**
 * 16-bit B, any adapter: the register-tiled vec4 twins (a vec2<u32> load is four 16-bit elements);
 * there is no workgroup-memory 16-bit kernel. Bench row "matmul 16-bit B vs f32" (bench/matmul16.ts).
 */
export const MATMUL16_PLAN: MatmulPlan = uniformPlan(['vec4-4x4', 'scalar'], ['vec4-8x8', 'vec4-4x4', 'scalar']);

/** Each adapter class's plan. CPU adapters: no barriers anywhere, fewest dispatches (measured on SwiftShader). */
export const KERNEL_PLANS: Readonly<Record<AdapterClass, KernelPlan>> = {
  cpu: {
    rmsnorm: 'row', // ~1 ms per workgroup of barriers
    crossEntropy: 'row',
    sumSquares: 'strided',
    attention: 'tiled',
    // 'block' while the c − 1 dispatches of a 'row' sweep cost more than its work (2 cores: 64×172 ~80 vs
    // ~95 ms, 96×96 ~140 vs ~190 ms; 256×256 ~3.7 vs ~3.0 s, 'row' keeps the 4 SIMD lanes busier).
    jacobi: 'row',
    jacobiBlockMaxColumns: 160,
    embeddingBackward: 'rows', // fewest invocations and id scans
    matmul: CPU_MATMUL_PLAN,
    matmul16: MATMUL16_PLAN,
  },
  gpu: {
    rmsnorm: 'workgroup',
    crossEntropy: 'workgroup',
    sumSquares: 'workgroup',
    attention: 'workgroup',
    jacobi: 'workgroup',
    jacobiBlockMaxColumns: 0,
    embeddingBackward: 'slices', // with the scan kernel every slice rescans all ids
    matmul: GPU_MATMUL_PLAN,
    matmul16: MATMUL16_PLAN,
  },
};

const plans = new WeakMap<Gpu, KernelPlan>();

/** The plan the kernel families follow on this Gpu. */
export function kernelPlan(gpu: Gpu): KernelPlan {
  let plan = plans.get(gpu);
  if (!plan) {
    plan = KERNEL_PLANS[gpu.adapterClass];
    plans.set(gpu, plan);
  }
  return plan;
}

/** Replace part of this Gpu's plan (autotune results, or a forced variant in tests and benchmarks). */
export function setKernelPlan(gpu: Gpu, change: Partial<KernelPlan>): KernelPlan {
  const plan = { ...kernelPlan(gpu), ...change };
  plans.set(gpu, plan);
  return plan;
}
