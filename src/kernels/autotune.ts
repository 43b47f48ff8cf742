/**
 * Start-up autotune for `matmul`: time every applicable variant on one representative product per
 * shape class and rank them, fastest first, into the Gpu's kernel plan. Skipped on CPU adapters, whose
 * measured static plan (plan.ts CPU_MATMUL_PLAN) is steadier than timings on a busy CPU.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { MATMUL_VARIANTS, matmulPlan, matmulWith, setMatmulPlan, type MatmulOptions } from './matmul.ts';
import { SHAPE_CLASSES, type MatmulPlan, type MatmulShapeClass, type MatmulVariantName } from './plan.ts';

export interface AutotuneOptions {
  /** Run even on a CPU adapter. */
  force?: boolean;
  /** Representative (M, N, K) for 'block' and 'rows' classes; all multiples of 4 so every variant applies. */
  block?: readonly [number, number, number];
  rows?: readonly [number, number, number];
  /** Timed samples per variant (the fastest counts). */
  samples?: number;
  /** Aim for at least this many milliseconds of work per sample. */
  sampleMs?: number;
}

export interface AutotuneTiming {
  shapeClass: MatmulShapeClass;
  variant: MatmulVariantName;
  shape: readonly [number, number, number];
  ms: number;
  gflops: number;
}

export interface AutotuneResult {
  plan: MatmulPlan;
  timings: AutotuneTiming[];
  /** True when the static plan was kept (a CPU adapter without `force`). */
  skipped: boolean;
}

const cache = new WeakMap<Gpu, Promise<AutotuneResult>>();

/** Autotune once per Gpu (later calls return the first result) and install the plan `matmul` follows. */
export function autotuneMatmul(gpu: Gpu, opts: AutotuneOptions = {}): Promise<AutotuneResult> {
  let result = cache.get(gpu);
  if (!result) {
    result = run(gpu, opts);
    cache.set(gpu, result);
  }
  return result;
}

async function run(gpu: Gpu, opts: AutotuneOptions): Promise<AutotuneResult> {
  if (gpu.adapterClass === 'cpu' && !opts.force) return { plan: matmulPlan(gpu), timings: [], skipped: true };
  const timings: AutotuneTiming[] = [];
  const plan = {} as Record<MatmulShapeClass, MatmulVariantName[]>;
  for (const shapeClass of SHAPE_CLASSES) {
    const shape = shapeClass.endsWith('rows') ? (opts.rows ?? [4, 768, 256]) : (opts.block ?? [256, 768, 256]);
    const o: MatmulOptions = { aKM: shapeClass.startsWith('aKM'), bKN: shapeClass.includes('bKN') };
    const measured: AutotuneTiming[] = [];
    for (const variant of Object.values(MATMUL_VARIANTS)) {
      if (!variant.applicable(...shape, o)) continue;
      const ms = await timeVariant(gpu, shape, (A, B, C) => matmulWith(variant, gpu, A, B, C, ...shape, o), opts);
      const gflops = (2 * shape[0] * shape[1] * shape[2]) / ms / 1e6;
      measured.push({ shapeClass, variant: variant.name, shape, ms, gflops });
    }
    measured.sort((a, b) => a.ms - b.ms);
    plan[shapeClass] = [...measured.map((t) => t.variant).filter((v) => v !== 'scalar'), 'scalar'];
    timings.push(...measured);
  }
  setMatmulPlan(gpu, plan);
  return { plan, timings, skipped: false };
}

/** Fastest per-dispatch wall-clock milliseconds of `record` over a few samples, each run to completion. */
async function timeVariant(
  gpu: Gpu, [M, N, K]: readonly [number, number, number], record: (A: Tensor, B: Tensor, C: Tensor) => void, opts: AutotuneOptions,
): Promise<number> {
  const A = gpu.upload('autotune.A', [M * K], filled(M * K, 0.5));
  const B = gpu.upload('autotune.B', [N * K], filled(N * K, 0.25));
  const C = gpu.tensor('autotune.C', [M * N]);
  try {
    const once = async (reps: number) => {
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) record(A, B, C);
      await gpu.sync();
      return (performance.now() - t0) / reps;
    };
    await once(1); // compiles the pipeline
    const estimate = await once(1);
    const reps = Math.min(64, Math.max(1, Math.ceil((opts.sampleMs ?? 5) / Math.max(estimate, 1e-3))));
    let best = Infinity;
    for (let s = 0; s < (opts.samples ?? 3); s++) best = Math.min(best, await once(reps));
    return best;
  } finally {
    gpu.release(A, B, C);
  }
}

function filled(n: number, v: number): Float32Array {
  return new Float32Array(n).fill(v);
}
