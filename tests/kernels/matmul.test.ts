import { describe, expect, it } from 'vitest';
import { acquireNodeDevice } from '../../src/gpu/node-device.ts';
import { Gpu } from '../../src/gpu/gpu.ts';
import { autotuneMatmul } from '../../src/kernels/autotune.ts';
import {
  linear, MATMUL_VARIANTS, matmul, matmulPlan, matmulWith, selectMatmulVariant, setMatmulPlan, type MatmulVariant,
} from '../../src/kernels/matmul.ts';
import { CPU_MATMUL_PLAN, forcedPlan, SHAPE_CLASSES } from '../../src/kernels/plan.ts';
import { matmulRef } from '../../src/reference/ops.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// f32 matmul tolerance: atol 1e-4, rtol 1e-3 (K up to 576 sums of products of values in [-1, 1]).
const ATOL = 1e-4;
const RTOL = 1e-3;

const shapes: [number, number, number][] = [
  [1, 1, 1], [7, 7, 7], [33, 33, 33], [1, 172, 64], [33, 7, 65], [67, 130, 31], [64, 576, 192],
];
const layouts = [[false, false], [false, true], [true, true], [true, false]] as const;

const up4 = (n: number) => Math.ceil(n / 4) * 4;

/** The nearest shape `v` can compute: vec4 variants need 4-aligned contiguous dimensions; the rest stays awkward. */
function fit(v: MatmulVariant, [M, N, K]: [number, number, number], aKM: boolean, bKN: boolean): [number, number, number] {
  if (v.name === 'scalar' || v.name === 'tiled') return [M, N, K];
  return [aKM ? up4(M) : M, bKN ? up4(N) : N, up4(K)];
}

describe.each(Object.values(MATMUL_VARIANTS))('matmul variant $name vs float64 reference', (variant) => {
  for (const base of shapes) {
    for (const [aKM, bKN] of layouts) {
      const [M, N, K] = fit(variant, base, aKM, bKN);
      it(`M=${M} N=${N} K=${K} aKM=${aKM} bKN=${bKN}, accumulate with alpha and overwrite`, async () => {
        const gpu = await testGpu();
        const a = randn(M * K, 1 + M), b = randn(N * K, 2 + N), c0 = randn(M * N, 3), junk = randn(M * N, 4, 100);
        const A = gpu.upload('A', [M * K], a), B = gpu.upload('B', [N * K], b);
        const C1 = gpu.upload('C1', [M * N], c0), C2 = gpu.upload('C2', [M * N], junk);
        matmulWith(variant, gpu, A, B, C1, M, N, K, { aKM, bKN, alpha: 0.5, accumulate: true });
        matmulWith(variant, gpu, A, B, C2, M, N, K, { aKM, bKN, alpha: -1.5 });
        // f32 matmul: atol 1e-4, rtol 1e-3.
        expectClose(await gpu.read(C1), matmulRef(a, b, M, N, K, { aKM, bKN, alpha: 0.5, C0: c0 }), ATOL, RTOL, 'C += 0.5·A·B');
        expectClose(await gpu.read(C2), matmulRef(a, b, M, N, K, { aKM, bKN, alpha: -1.5 }), ATOL, RTOL, 'C = -1.5·A·B');
        gpu.release(A, B, C1, C2);
      });
    }
  }

  for (const [aKM, bKN] of layouts) {
    it(`batches with a shared B (strideB = 0) and a padded C stride, aKM=${aKM} bKN=${bKN}`, async () => {
      const gpu = await testGpu();
      const [M, N, K] = fit(variant, [5, 9, 6], aKM, bKN);
      const nb = 3, strideC = M * N + 3;
      const a = randn(nb * M * K, 4), b = randn(N * K, 5);
      const A = gpu.upload('A', [nb * M * K], a), B = gpu.upload('B', [N * K], b);
      const C = gpu.upload('C', [nb * strideC], new Float32Array(nb * strideC).fill(7));
      matmulWith(variant, gpu, A, B, C, M, N, K, { aKM, bKN, batches: nb, strideB: 0, strideC });
      const got = await gpu.read(C);
      for (let i = 0; i < nb; i++) {
        const ref = matmulRef(a.subarray(i * M * K, (i + 1) * M * K), b, M, N, K, { aKM, bKN });
        // f32 matmul: atol 1e-4, rtol 1e-3.
        expectClose(got.subarray(i * strideC, i * strideC + M * N), ref, ATOL, RTOL, `batch ${i}`);
        expect(Array.from(got.subarray(i * strideC + M * N, (i + 1) * strideC))).toEqual([7, 7, 7]); // padding untouched
      }
    });
  }
});

describe('matmul variant applicability', () => {
  it('vec4 variants refuse shapes whose contiguous dimension is not a multiple of 4', async () => {
    const gpu = await testGpu();
    const v = MATMUL_VARIANTS['vec4-8x8'];
    expect(v.applicable(7, 9, 8, {})).toBe(true); // only K is contiguous in y = x·Wᵀ
    expect(v.applicable(8, 8, 7, {})).toBe(false);
    expect(v.applicable(7, 8, 8, { aKM: true })).toBe(false);
    expect(v.applicable(8, 9, 8, { bKN: true })).toBe(false);
    expect(v.applicable(8, 8, 8, { batches: 2, strideA: 66 })).toBe(false);
    expect(MATMUL_VARIANTS.scalar.applicable(7, 9, 7, { aKM: true, bKN: true })).toBe(true);
    const T = gpu.tensor('T', [64]);
    expect(() => matmulWith(v, gpu, T, T, T, 8, 8, 7)).toThrow(/vec4-8x8 cannot compute 8×8×7/);
    gpu.release(T);
  });
});

describe('matmul selection', () => {
  it('follows the static plan on SwiftShader: 8×8 vec4 blocks, 4×4 for few rows, scalar when unaligned', async () => {
    const gpu = await testGpu();
    if (gpu.adapterClass !== 'cpu') return; // the static rule is SwiftShader's; other adapters autotune
    expect(matmulPlan(gpu)).toBe(CPU_MATMUL_PLAN);
    expect(selectMatmulVariant(gpu, 64, 576, 192).name).toBe('vec4-8x8');
    expect(selectMatmulVariant(gpu, 128, 288, 288, { aKM: true, bKN: true }).name).toBe('vec4-8x8');
    expect(selectMatmulVariant(gpu, 1, 288, 288).name).toBe('vec4-4x4');
    expect(selectMatmulVariant(gpu, 64, 576, 191).name).toBe('scalar');
    expect(selectMatmulVariant(gpu, 64, 575, 192, { bKN: true }).name).toBe('scalar');
  });

  it('matmul dispatches the selected kernel once and matches the reference; linear is y = x·Wᵀ', async () => {
    const gpu = await testGpu();
    const [M, N, K] = [33, 20, 12];
    const x = randn(M * K, 8), w = randn(N * K, 9);
    const X = gpu.upload('x', [3, 11, K], x), W = gpu.upload('W', [N, K], w), C = gpu.tensor('C', [M * N]);
    const profiling = gpu.startProfile();
    const before = gpu.dispatchCount;
    matmul(gpu, X, W, C, M, N, K);
    const Y = linear(gpu, X, W, 'y');
    expect(gpu.dispatchCount - before).toBe(2);
    if (profiling) {
      const kernels = (await gpu.endProfile()).map((p) => p.kernel.split(' ')[0]);
      expect(kernels).toEqual([selectMatmulVariant(gpu, M, N, K).kernel.name]);
    }
    const ref = matmulRef(x, w, M, N, K);
    // f32 matmul: atol 1e-4, rtol 1e-3.
    expectClose(await gpu.read(C), ref, ATOL, RTOL, 'matmul');
    expectClose(await gpu.read(Y), ref, ATOL, RTOL, 'linear');
    expect(Y.shape).toEqual([3, 11, N]);
    gpu.release(X, W, C, Y);
  });

  it('a forced plan runs its variant where it applies and falls back to scalar elsewhere', async () => {
    const gpu = await testGpu();
    const saved = matmulPlan(gpu);
    try {
      setMatmulPlan(gpu, forcedPlan('tiled'));
      expect(selectMatmulVariant(gpu, 7, 7, 7, { aKM: true }).name).toBe('tiled');
      setMatmulPlan(gpu, forcedPlan('vec4-4x4'));
      expect(selectMatmulVariant(gpu, 7, 7, 8).name).toBe('vec4-4x4');
      expect(selectMatmulVariant(gpu, 7, 7, 7).name).toBe('scalar');
      const [M, N, K] = [9, 13, 7];
      const a = randn(M * K, 10), b = randn(N * K, 11);
      const A = gpu.upload('A', [M * K], a), B = gpu.upload('B', [N * K], b), C = gpu.tensor('C', [M * N]);
      matmul(gpu, A, B, C, M, N, K, { aKM: true });
      // f32 matmul: atol 1e-4, rtol 1e-3.
      expectClose(await gpu.read(C), matmulRef(a, b, M, N, K, { aKM: true }), ATOL, RTOL, 'fallback');
      gpu.release(A, B, C);
    } finally {
      setMatmulPlan(gpu, saved);
    }
  });
});

describe('matmul autotune', () => {
  it('keeps the measured static plan on SwiftShader unless forced', async () => {
    const gpu = await testGpu();
    if (gpu.adapterClass !== 'cpu') return;
    const result = await autotuneMatmul(gpu);
    expect(result.skipped).toBe(true);
    expect(result.plan).toBe(CPU_MATMUL_PLAN);
    expect(await autotuneMatmul(gpu)).toBe(result); // cached per Gpu
  });

  it('ranks every variant per shape class, installs the plan, and matmul stays correct', async () => {
    const gpu = new Gpu(await acquireNodeDevice());
    try {
      const result = await autotuneMatmul(gpu, { force: true, block: [16, 32, 16], rows: [4, 32, 16], samples: 1, sampleMs: 1 });
      expect(result.skipped).toBe(false);
      expect(matmulPlan(gpu)).toBe(result.plan);
      for (const c of SHAPE_CLASSES) {
        const ranked = result.timings.filter((t) => t.shapeClass === c);
        expect(ranked.map((t) => t.variant).sort()).toEqual(Object.keys(MATMUL_VARIANTS).sort());
        for (const t of ranked) expect(t.ms).toBeGreaterThan(0);
        // Fastest first, then scalar as the catch-all.
        const order = [...ranked].sort((x, y) => x.ms - y.ms).map((t) => t.variant).filter((v) => v !== 'scalar');
        expect(result.plan[c]).toEqual([...order, 'scalar']);
      }
      const [M, N, K] = [20, 24, 16];
      const a = randn(M * K, 12), b = randn(N * K, 13);
      const A = gpu.upload('A', [M * K], a), B = gpu.upload('B', [N * K], b), C = gpu.tensor('C', [M * N]);
      matmul(gpu, A, B, C, M, N, K, { bKN: true });
      // f32 matmul: atol 1e-4, rtol 1e-3.
      expectClose(await gpu.read(C), matmulRef(a, b, M, N, K, { bKN: true }), ATOL, RTOL, 'after autotune');
    } finally {
      gpu.destroy();
    }
  });
});
