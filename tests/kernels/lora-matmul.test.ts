import { describe, it } from 'vitest';
import { loraMatmul } from '../../src/kernels/lora-matmul.ts';
import { loraMatmulRef } from '../../src/reference/ops.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// f32 matmul tolerance: atol 1e-4, rtol 1e-3.
const ATOL = 1e-4;
const RTOL = 1e-3;

describe('fused low-rank matmul vs float64 reference', () => {
  const shapes: [number, number, number, number][] = [
    [1, 1, 1, 1], [7, 7, 7, 2], [33, 65, 31, 8], [64, 172, 64, 16], [5, 33, 7, 1],
  ];
  for (const [M, N, K, R] of shapes) {
    for (const [aKM, bKN, lRN] of [[false, false, false], [false, true, true], [true, true, false]]) {
      it(`M=${M} N=${N} K=${K} R=${R} aKM=${aKM} bKN=${bKN} lRN=${lRN}`, async () => {
        const gpu = await testGpu();
        const a = randn(M * K, 11 + M), b = randn(N * K, 12 + N), x2 = randn(M * R, 13), l = randn(N * R, 14), c0 = randn(M * N, 15);
        const T = (name: string, d: Float32Array) => gpu.upload(name, [d.length], d);
        const A = T('A', a), B = T('B', b), X2 = T('X2', x2), L = T('L', l), C = T('C', c0);
        loraMatmul(gpu, A, B, X2, L, C, M, N, K, R, 0.75, { aKM, bKN, lRN, accumulate: true, alpha: 0.5 });
        const ref = loraMatmulRef(a, b, x2, l, M, N, K, R, 0.75, { aKM, bKN, lRN, alpha: 0.5, C0: c0 });
        expectClose(await gpu.read(C), ref, ATOL, RTOL, 'C');
        gpu.release(A, B, X2, L, C);
      });
    }
  }
});
