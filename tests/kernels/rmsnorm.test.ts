import { describe, expect, it } from 'vitest';
import { rmsnorm, type RmsnormVariant } from '../../src/kernels/rmsnorm.ts';
import { rmsnormRef } from '../../src/reference/llama-ops.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// A reduction over D (sums of up to 2048 squares in f32): atol 1e-5, rtol 1e-4 (measured: at most
// 0.01 of the bound, max |diff| ~1e-6 at D = 2048 for the serial 'row' variant).
const ATOL = 1e-5;
const RTOL = 1e-4;

const cases: [R: number, D: number, eps: number, scale: number][] = [
  [1, 1, 1e-5, 1], [3, 7, 1e-5, 1], [7, 33, 1e-6, 1], [33, 64, 1e-5, 1], [5, 129, 1e-5, 1],
  [64, 288, 1e-5, 1], [4, 2048, 1e-6, 1], [9, 288, 1e-5, 100], [9, 33, 1e-5, 1e-3],
];

const variants: RmsnormVariant[] = ['workgroup', 'row'];

describe('rmsnorm kernel vs float64 reference', () => {
  for (const [R, D, eps, scale] of cases) for (const variant of variants) {
    it(`${variant}: R=${R} D=${D} eps=${eps} |x|≤${scale}`, async () => {
      const gpu = await testGpu();
      const x = randn(R * D, R * 31 + D, scale), w = randn(D, D + 1, 2);
      const X = gpu.upload('x', [R, D], x), W = gpu.upload('w', [D], w), out = gpu.tensor('out', [R, D]);
      rmsnorm(gpu, X, W, out, eps, variant);
      expectClose(await gpu.read(out), rmsnormRef(x, w, R, D, eps), ATOL, RTOL, 'out');
      gpu.release(X, W, out);
    });
  }

  for (const variant of variants) it(`${variant}: uses eps (tiny inputs are not blown up)`, async () => {
    const gpu = await testGpu();
    const [R, D, eps] = [2, 16, 1e-2];
    const x = randn(R * D, 5, 1e-4), w = new Float32Array(D).fill(1);
    const X = gpu.upload('x', [R, D], x), W = gpu.upload('w', [D], w), out = gpu.tensor('out', [R, D]);
    rmsnorm(gpu, X, W, out, eps, variant);
    const got = await gpu.read(out);
    expectClose(got, rmsnormRef(x, w, R, D, eps), ATOL, RTOL, 'out');
    expect(Math.max(...got.map(Math.abs))).toBeLessThan(2e-3); // x / sqrt(eps) ≤ 1e-4 / 0.1
    gpu.release(X, W, out);
  });
});
