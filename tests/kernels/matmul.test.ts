import { describe, expect, it } from 'vitest';
import { matmul } from '../../src/kernels/matmul.ts';
import { matmulRef } from '../../src/reference/ops.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// f32 matmul tolerance: atol 1e-4, rtol 1e-3 (K up to 576 sums of products of values in [-1, 1]).
const ATOL = 1e-4;
const RTOL = 1e-3;

const shapes: [number, number, number][] = [
  [1, 1, 1], [7, 7, 7], [33, 33, 33], [1, 172, 64], [33, 7, 65], [67, 130, 31], [64, 576, 192],
];

describe('matmul kernel vs float64 reference', () => {
  for (const [M, N, K] of shapes) {
    for (const [aKM, bKN] of [[false, false], [false, true], [true, true], [true, false]]) {
      it(`M=${M} N=${N} K=${K} aKM=${aKM} bKN=${bKN}`, async () => {
        const gpu = await testGpu();
        const a = randn(M * K, 1 + M), b = randn(N * K, 2 + N), c0 = randn(M * N, 3);
        const A = gpu.upload('A', [M * K], a), B = gpu.upload('B', [N * K], b), C = gpu.upload('C', [M * N], c0);
        matmul(gpu, A, B, C, M, N, K, { aKM, bKN, alpha: 0.5, accumulate: true });
        const got = await gpu.read(C);
        expectClose(got, matmulRef(a, b, M, N, K, { aKM, bKN, alpha: 0.5, C0: c0 }), ATOL, RTOL, 'C');
        gpu.release(A, B, C);
      });
    }
  }

  it('runs batches with a shared operand (strideB = 0)', async () => {
    const gpu = await testGpu();
    const [M, N, K, nb] = [5, 9, 6, 3];
    const a = randn(nb * M * K, 4), b = randn(N * K, 5);
    const A = gpu.upload('A', [nb * M * K], a), B = gpu.upload('B', [N * K], b), C = gpu.tensor('C', [nb * M * N]);
    matmul(gpu, A, B, C, M, N, K, { batches: nb, strideB: 0 });
    const got = await gpu.read(C);
    for (let i = 0; i < nb; i++) {
      const ref = matmulRef(a.subarray(i * M * K, (i + 1) * M * K), b, M, N, K);
      expectClose(got.subarray(i * M * N, (i + 1) * M * N), ref, ATOL, RTOL, `batch ${i}`);
    }
    expect(got.length).toBe(nb * M * N);
  });
});
