import { describe, expect, it } from 'vitest';
import { loraMatmul, loraMatmulWith } from '../../src/kernels/lora-matmul.ts';
import { MATMUL_VARIANTS, matmul, matmulWith, selectMatmulVariant, type MatmulVariant } from '../../src/kernels/matmul.ts';
import { loraMatmulRef, matmulRef } from '../../src/reference/ops.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';
import { upload16, type Half } from '../helpers/half.ts';

// B is a frozen weight stored in 16 bits; its values are exactly the decoded 16-bit ones, so the product
// is an f32 matmul of exact inputs: atol 1e-4, rtol 1e-3 against float64 on the decoded B.
const ATOL = 1e-4;
const RTOL = 1e-3;

const shapes: [number, number, number][] = [[1, 1, 1], [7, 7, 7], [33, 7, 65], [67, 130, 31], [64, 576, 192]];
const layouts = [[false, false], [false, true], [true, true], [true, false]] as const;
const dtypes: Half[] = ['bf16', 'f16'];
const up4 = (n: number) => Math.ceil(n / 4) * 4;
const variants16 = Object.values(MATMUL_VARIANTS).filter((v) => v.b16);

function fit(v: MatmulVariant, [M, N, K]: [number, number, number], aKM: boolean, bKN: boolean): [number, number, number] {
  if (v.name === 'scalar') return [M, N, K];
  return [aKM ? up4(M) : M, bKN ? up4(N) : N, up4(K)];
}

describe.each(variants16)('16-bit-B matmul variant $name vs float64 reference', (variant) => {
  for (const dtype of dtypes) {
    for (const base of shapes) {
      for (const [aKM, bKN] of layouts) {
        const [M, N, K] = fit(variant, base, aKM, bKN);
        it(`${dtype} M=${M} N=${N} K=${K} aKM=${aKM} bKN=${bKN}: accumulate with alpha, overwrite; bit-identical to the f32 kernel on decoded B`, async () => {
          const gpu = await testGpu();
          const a = randn(M * K, 1 + M), c0 = randn(M * N, 3);
          const A = gpu.upload('A', [M * K], a);
          const { t: B16, values: b } = upload16(gpu, 'B16', [N * K], randn(N * K, 2 + N), dtype);
          const B32 = gpu.upload('B32', [N * K], b);
          const C1 = gpu.upload('C1', [M * N], c0), C2 = gpu.tensor('C2', [M * N]), C3 = gpu.tensor('C3', [M * N]);
          matmulWith(variant, gpu, A, B16, C1, M, N, K, { aKM, bKN, alpha: 0.5, accumulate: true });
          matmulWith(variant, gpu, A, B16, C2, M, N, K, { aKM, bKN, alpha: -1.5 });
          matmulWith(variant, gpu, A, B32, C3, M, N, K, { aKM, bKN, alpha: -1.5 });
          // f32 matmul of exact inputs: atol 1e-4, rtol 1e-3.
          expectClose(await gpu.read(C1), matmulRef(a, b, M, N, K, { aKM, bKN, alpha: 0.5, C0: c0 }), ATOL, RTOL, 'C += 0.5·A·B');
          const c2 = await gpu.read(C2);
          expectClose(c2, matmulRef(a, b, M, N, K, { aKM, bKN, alpha: -1.5 }), ATOL, RTOL, 'C = -1.5·A·B');
          // Exact: the same K loop on the same f32 values, only B's loads differ.
          expect(Array.from(c2)).toEqual(Array.from(await gpu.read(C3)));
          gpu.release(A, B16, B32, C1, C2, C3);
        });
      }
    }
  }

  it('batches with a shared 16-bit B (strideB = 0) and a per-batch B, padded C stride', async () => {
    const gpu = await testGpu();
    const [M, N, K] = fit(variant, [5, 9, 6], false, true);
    const nb = 3, strideC = M * N + 3;
    const a = randn(nb * M * K, 4);
    const A = gpu.upload('A', [nb * M * K], a);
    const { t: B, values: b } = upload16(gpu, 'B', [nb * N * K], randn(nb * N * K, 5), 'bf16');
    const C = gpu.upload('C', [nb * strideC], new Float32Array(nb * strideC).fill(7));
    matmulWith(variant, gpu, A, B, C, M, N, K, { bKN: true, batches: nb, strideB: N * K, strideC });
    const got = await gpu.read(C);
    for (let i = 0; i < nb; i++) {
      const ref = matmulRef(a.subarray(i * M * K, (i + 1) * M * K), b.subarray(i * N * K, (i + 1) * N * K), M, N, K, { bKN: true });
      expectClose(got.subarray(i * strideC, i * strideC + M * N), ref, ATOL, RTOL, `batch ${i}`); // f32 matmul tolerance
      expect(Array.from(got.subarray(i * strideC + M * N, (i + 1) * strideC))).toEqual([7, 7, 7]);
    }
    gpu.release(A, B, C);
  });
});

describe.each(variants16)('16-bit-B low-rank matmul variant $name vs float64 reference', (variant) => {
  const cases: [number, number, number, number][] = [[1, 1, 1, 1], [7, 7, 7, 2], [33, 65, 31, 8], [64, 172, 64, 16]];
  for (const dtype of dtypes) {
    for (const [M0, N0, K0, R] of cases) {
      for (const [aKM, bKN, lRN] of [[false, false, false], [false, true, true], [true, false, false], [false, false, true]] as const) {
        const [M, N, K] = fit(variant, [M0, N0, K0], aKM, bKN);
        it(`${dtype} M=${M} N=${N} K=${K} R=${R} aKM=${aKM} bKN=${bKN} lRN=${lRN}`, async () => {
          const gpu = await testGpu();
          const a = randn(M * K, 11 + M), x2 = randn(M * R, 13), l = randn(N * R, 14), c0 = randn(M * N, 15);
          const A = gpu.upload('A', [M * K], a), X2 = gpu.upload('X2', [M * R], x2), L = gpu.upload('L', [N * R], l);
          const { t: B, values: b } = upload16(gpu, 'B', [N * K], randn(N * K, 12 + N), dtype);
          const C = gpu.upload('C', [M * N], c0);
          loraMatmulWith(variant, gpu, A, B, X2, L, C, M, N, K, R, 0.75, { aKM, bKN, lRN, accumulate: true, alpha: 0.5 });
          // f32 matmul of exact inputs: atol 1e-4, rtol 1e-3.
          expectClose(await gpu.read(C), loraMatmulRef(a, b, x2, l, M, N, K, R, 0.75, { aKM, bKN, lRN, alpha: 0.5, C0: c0 }), ATOL, RTOL, 'C += 0.5·A·B + 0.75·X2·L');
          gpu.release(A, B, X2, L, C);
        });
      }
    }
  }
});

describe('16-bit B through the kernel plan', () => {
  it('matmul and loraMatmul pick a variant with a 16-bit twin from the plan for a 16-bit B', async () => {
    const gpu = await testGpu();
    const [M, N, K, R] = [16, 12, 8, 4];
    expect(selectMatmulVariant(gpu, M, N, K, {}, 'bf16').b16).toBeDefined();
    const x = randn(M * K, 1), xa = randn(M * R, 2), l = randn(N * R, 3);
    const X = gpu.upload('x', [M, K], x), XA = gpu.upload('xa', [M, R], xa), L = gpu.upload('L', [N, R], l);
    const { t: W, values: w } = upload16(gpu, 'W', [N, K], randn(N * K, 4), 'f16');
    const Y = gpu.tensor('y', [M, N]), Z = gpu.tensor('z', [M, N]);
    matmul(gpu, X, W, Y, M, N, K);
    loraMatmul(gpu, X, W, XA, L, Z, M, N, K, R, 2);
    expectClose(await gpu.read(Y), matmulRef(x, w, M, N, K), ATOL, RTOL, 'y = x·Wᵀ'); // f32 matmul tolerance
    expectClose(await gpu.read(Z), loraMatmulRef(x, w, xa, l, M, N, K, R, 2), ATOL, RTOL, 'z = x·Wᵀ + 2·xa·Lᵀ');
    gpu.release(X, XA, L, W, Y, Z);
  });

  it('a 16-bit tensor bound where a kernel reads f32 is refused with the binding named', async () => {
    const gpu = await testGpu();
    const { t: W } = upload16(gpu, 'W16', [4, 4], randn(16, 5), 'bf16');
    const B = gpu.upload('B', [16], randn(16, 6)), C = gpu.tensor('C', [16]);
    expect(() => matmul(gpu, W, B, C, 4, 4, 4)).toThrow(/binding "A" \(W16\) holds bf16 elements/);
    expect(() => matmul(gpu, B, B, W, 4, 4, 4)).toThrow(/binding "C" \(W16\) holds bf16 elements/);
    gpu.release(W, B, C);
  });
});
