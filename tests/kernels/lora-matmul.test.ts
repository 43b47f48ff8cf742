import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { loraMatmul, loraMatmulWith } from '../../src/kernels/lora-matmul.ts';
import {
  MATMUL_VARIANTS, matmul, matmulPlan, matmulWith, selectMatmulVariant, setMatmulPlan, type MatmulVariant,
} from '../../src/kernels/matmul.ts';
import { forcedPlan } from '../../src/kernels/plan.ts';
import { loraMatmulRef } from '../../src/reference/ops.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// f32 matmul tolerance: atol 1e-4, rtol 1e-3.
const ATOL = 1e-4;
const RTOL = 1e-3;

/** (M, N, K, R): awkward shapes, then 4-aligned ones (every variant runs them as given). */
const shapes: [number, number, number, number][] = [
  [1, 1, 1, 1], [7, 7, 7, 2], [33, 65, 31, 8], [64, 172, 64, 16], [5, 33, 7, 1],
  [16, 16, 16, 4],
];
const layouts = [false, true].flatMap((aKM) => [false, true].flatMap((bKN) => [false, true].map((lRN) => ({ aKM, bKN, lRN }))));

const up4 = (n: number) => Math.ceil(n / 4) * 4;

/** The nearest shape `v` can compute: vec4 variants need 4-aligned contiguous dimensions of A and B (not of L). */
function fit(v: MatmulVariant, [M, N, K, R]: [number, number, number, number], aKM: boolean, bKN: boolean): [number, number, number, number] {
  if (v.name === 'scalar' || v.name === 'tiled') return [M, N, K, R];
  return [aKM ? up4(M) : M, bKN ? up4(N) : N, up4(K), R];
}

/** Indices where a !== b (so +0 and −0 agree, NaN never does). */
function mismatches(a: Float32Array, b: Float32Array): number[] {
  expect(a.length).toBe(b.length);
  const bad: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) bad.push(i);
  return bad;
}

function upload(gpu: Gpu, name: string, d: Float32Array) {
  return gpu.upload(name, [d.length], d);
}

describe.each(Object.values(MATMUL_VARIANTS))('low-rank matmul variant $name vs float64 reference', (variant) => {
  for (const base of shapes) {
    for (const { aKM, bKN, lRN } of layouts) {
      const [M, N, K, R] = fit(variant, base, aKM, bKN);
      it(`M=${M} N=${N} K=${K} R=${R} aKM=${aKM} bKN=${bKN} lRN=${lRN}, accumulate with alpha and overwrite`, async () => {
        const gpu = await testGpu();
        const a = randn(M * K, 11 + M), b = randn(N * K, 12 + N), x2 = randn(M * R, 13), l = randn(N * R, 14);
        const c0 = randn(M * N, 15), junk = randn(M * N, 16, 100);
        const A = upload(gpu, 'A', a), B = upload(gpu, 'B', b), X2 = upload(gpu, 'X2', x2), L = upload(gpu, 'L', l);
        const C1 = upload(gpu, 'C1', c0), C2 = upload(gpu, 'C2', junk);
        loraMatmulWith(variant, gpu, A, B, X2, L, C1, M, N, K, R, 0.75, { aKM, bKN, lRN, accumulate: true, alpha: 0.5 });
        loraMatmulWith(variant, gpu, A, B, X2, L, C2, M, N, K, R, -2, { aKM, bKN, lRN });
        // f32 matmul: atol 1e-4, rtol 1e-3.
        expectClose(await gpu.read(C1), loraMatmulRef(a, b, x2, l, M, N, K, R, 0.75, { aKM, bKN, lRN, alpha: 0.5, C0: c0 }), ATOL, RTOL, 'C += 0.5·A·B + 0.75·X2·L');
        expectClose(await gpu.read(C2), loraMatmulRef(a, b, x2, l, M, N, K, R, -2, { aKM, bKN, lRN }), ATOL, RTOL, 'C = A·B − 2·X2·L');
        gpu.release(A, B, X2, L, C1, C2);
      });
    }
  }
});

describe.each(Object.values(MATMUL_VARIANTS))('low-rank matmul variant $name with L = 0 is bit-identical to matmul', (variant) => {
  const cases: [number, number, number, number][] = [[7, 7, 7, 2], [33, 65, 31, 8], [64, 172, 64, 16]];
  for (const base of cases) {
    for (const [aKM, bKN] of [[false, false], [false, true], [true, true], [true, false]] as const) {
      const [M, N, K, R] = fit(variant, base, aKM, bKN);
      it(`M=${M} N=${N} K=${K} R=${R} aKM=${aKM} bKN=${bKN}: overwrite, accumulate with alpha`, async () => {
        const gpu = await testGpu();
        const a = randn(M * K, 21 + M), b = randn(N * K, 22 + N), x2 = randn(M * R, 23), c0 = randn(M * N, 24);
        const A = upload(gpu, 'A', a), B = upload(gpu, 'B', b), X2 = upload(gpu, 'X2', x2), L = upload(gpu, 'L', new Float32Array(N * R));
        const lowOver = upload(gpu, 'low.over', c0), baseOver = upload(gpu, 'base.over', c0);
        const lowAcc = upload(gpu, 'low.acc', c0), baseAcc = upload(gpu, 'base.acc', c0);
        loraMatmulWith(variant, gpu, A, B, X2, L, lowOver, M, N, K, R, 2, { aKM, bKN });
        matmulWith(variant, gpu, A, B, baseOver, M, N, K, { aKM, bKN });
        loraMatmulWith(variant, gpu, A, B, X2, L, lowAcc, M, N, K, R, 0.75, { aKM, bKN, lRN: true, accumulate: true, alpha: 0.5 });
        matmulWith(variant, gpu, A, B, baseAcc, M, N, K, { aKM, bKN, accumulate: true, alpha: 0.5 });
        // Exact: the same K loop, plus s·0 = +0.
        expect(mismatches(await gpu.read(lowOver), await gpu.read(baseOver))).toEqual([]);
        expect(mismatches(await gpu.read(lowAcc), await gpu.read(baseAcc))).toEqual([]);
        gpu.release(A, B, X2, L, lowOver, baseOver, lowAcc, baseAcc);
      });
    }
  }
});

describe('loraMatmul selection', () => {
  it('runs the low-rank twin of the variant matmul picks, so a fresh adapter (L = 0) leaves matmul\'s output unchanged', async () => {
    const gpu = await testGpu();
    // Blocks (vec4-8x8 on SwiftShader), few rows (vec4-4x4), unaligned K (scalar).
    for (const [M, N, K, R] of [[64, 172, 64, 16], [3, 172, 64, 8], [33, 65, 31, 8]] as const) {
      const x = randn(M * K, 31), w = randn(N * K, 32), x2 = randn(M * R, 33);
      const X = upload(gpu, 'x', x), W = upload(gpu, 'W', w), X2 = upload(gpu, 'X2', x2), L = upload(gpu, 'L', new Float32Array(N * R));
      const Y1 = gpu.tensor('y.lora', [M * N]), Y2 = gpu.tensor('y.base', [M * N]);
      const profiling = gpu.startProfile();
      loraMatmul(gpu, X, W, X2, L, Y1, M, N, K, R, 2);
      if (profiling) {
        const kernels = (await gpu.endProfile()).map((p) => p.kernel.split(' ')[0]);
        const v = selectMatmulVariant(gpu, M, N, K);
        // vec4 variants load the epilogue as vec4 too when R % 4 == 0 (L stored (N, R), as here)
        expect(kernels).toEqual([(v.lowRank4 && R % 4 === 0 ? v.lowRank4 : v.lowRank).name]);
      }
      matmul(gpu, X, W, Y2, M, N, K);
      expect(mismatches(await gpu.read(Y1), await gpu.read(Y2))).toEqual([]);
      gpu.release(X, W, X2, L, Y1, Y2);
    }
  });

  it('follows a forced plan like matmul, falling back to scalar where the variant does not apply', async () => {
    const gpu = await testGpu();
    const saved = matmulPlan(gpu);
    try {
      for (const name of Object.keys(MATMUL_VARIANTS) as (keyof typeof MATMUL_VARIANTS)[]) {
        setMatmulPlan(gpu, forcedPlan(name));
        for (const [M, N, K, R] of [[20, 36, 16, 4], [9, 13, 7, 3]] as const) {
          const a = randn(M * K, 41), b = randn(N * K, 42), x2 = randn(M * R, 43);
          const A = upload(gpu, 'A', a), B = upload(gpu, 'B', b), X2 = upload(gpu, 'X2', x2), L = upload(gpu, 'L', new Float32Array(N * R));
          const C1 = gpu.tensor('C.lora', [M * N]), C2 = gpu.tensor('C.base', [M * N]);
          loraMatmul(gpu, A, B, X2, L, C1, M, N, K, R, 1, { bKN: true });
          matmul(gpu, A, B, C2, M, N, K, { bKN: true });
          expect(mismatches(await gpu.read(C1), await gpu.read(C2)), `${name} ${M}×${N}×${K}`).toEqual([]);
          gpu.release(A, B, X2, L, C1, C2);
        }
      }
    } finally {
      setMatmulPlan(gpu, saved);
    }
  });

  it('refuses a vec4 variant on an unaligned base product', async () => {
    const gpu = await testGpu();
    const T = gpu.tensor('T', [64]);
    expect(() => loraMatmulWith(MATMUL_VARIANTS['vec4-4x4'], gpu, T, T, T, T, T, 8, 8, 7, 2, 1)).toThrow(/vec4-4x4 cannot compute 8×8×7/);
    gpu.release(T);
  });
});
