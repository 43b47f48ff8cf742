import { describe, expect, it } from 'vitest';
import { rmsnormBackward, type RmsnormVariant } from '../../src/kernels/rmsnorm.ts';
import { rmsnormBackwardRef } from '../../src/reference/llama-grads.ts';
import { rmsnormRef } from '../../src/reference/llama-ops.ts';
import { dotLoss, expectGradClose, finiteDiffGrad } from '../helpers/finite-diff.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// Reference vs central differences (float64, h = 1e-6): rtol 1e-6, atol 1e-8 (rounding ~1e-16·|loss|/h ≤ 1e-9;
// measured: at most 0.12 of the bound).
const FD_ATOL = 1e-8;
const FD_RTOL = 1e-6;
// GPU vs reference: reductions over D (dx) and over R rows (dw), f32: atol 1e-5, rtol 1e-4 (measured, both
// variants, R up to 1024: at most 0.023 of the bound for dx, 0.11 for dw).
const ATOL = 1e-5;
const RTOL = 1e-4;

describe('rmsnorm backward: reference vs finite differences', () => {
  const cases: [R: number, D: number, eps: number, scale: number][] = [
    [1, 1, 1e-5, 1], [3, 7, 1e-5, 1], [2, 33, 1e-6, 1], [2, 64, 1e-5, 0.01],
  ];
  for (const [R, D, eps, scale] of cases) {
    it(`R=${R} D=${D} eps=${eps} |x|≤${scale}`, () => {
      const x = Float64Array.from(randn(R * D, R + D, scale)), w = Float64Array.from(randn(D, D + 2, 2));
      const dy = Float64Array.from(randn(R * D, R * D + 3));
      const ref = rmsnormBackwardRef(x, w, dy, R, D, eps);
      const loss = () => dotLoss(dy, rmsnormRef(x, w, R, D, eps));
      // with |x| ~ 0.01 the gradient is ~1/sqrt(mean x² + eps) ~ 100 times larger: the steps scale with x
      const h = 1e-6 * scale;
      expectGradClose(ref.dx, finiteDiffGrad(loss, x, { h }), FD_ATOL / scale, FD_RTOL, 'dx');
      expectGradClose(ref.dw, finiteDiffGrad(loss, w), FD_ATOL, FD_RTOL, 'dw');
    });
  }
});

const cases: [R: number, D: number, eps: number, scale: number][] = [
  [1, 1, 1e-5, 1], [3, 7, 1e-5, 1], [7, 33, 1e-6, 1], [33, 64, 1e-5, 1], [5, 129, 1e-5, 1],
  [64, 288, 1e-5, 1], [300, 64, 1e-5, 1], [2, 1024, 1e-5, 1], [9, 288, 1e-5, 100], [9, 33, 1e-5, 1e-3],
];
const variants: RmsnormVariant[] = ['workgroup', 'row'];

describe('rmsnorm backward kernel vs float64 reference', () => {
  for (const [R, D, eps, scale] of cases) for (const variant of variants) {
    it(`${variant}: R=${R} D=${D} eps=${eps} |x|≤${scale}`, async () => {
      const gpu = await testGpu();
      const x = randn(R * D, R * 31 + D, scale), w = randn(D, D + 1, 2), dy = randn(R * D, R + 7 * D);
      const dx0 = randn(R * D, 5), dw0 = randn(D, 6);
      const X = gpu.upload('x', [R, D], x), W = gpu.upload('w', [D], w), DY = gpu.upload('dy', [R, D], dy);
      const dX = gpu.upload('dx', [R, D], dx0), dW = gpu.upload('dw', [D], dw0);
      rmsnormBackward(gpu, X, W, DY, dX, dW, eps, variant);
      const ref = rmsnormBackwardRef(x, w, dy, R, D, eps);
      // both gradients are added to what was there
      expectClose(await gpu.read(dX), ref.dx.map((v, i) => v + dx0[i]), ATOL, RTOL, 'dx');
      expectClose(await gpu.read(dW), ref.dw.map((v, i) => v + dw0[i]), ATOL, RTOL, 'dw');
      gpu.release(X, W, DY, dX, dW);
    });
  }

  for (const variant of variants) it(`${variant}: dw = null (frozen) still gives dx; repeated runs are bit-identical`, async () => {
    const gpu = await testGpu();
    const [R, D, eps] = [257, 96, 1e-5];
    const x = randn(R * D, 1), w = randn(D, 2), dy = randn(R * D, 3);
    const X = gpu.upload('x', [R, D], x), W = gpu.upload('w', [D], w), DY = gpu.upload('dy', [R, D], dy);
    const dX = gpu.upload('dx', [R, D], new Float32Array(R * D));
    rmsnormBackward(gpu, X, W, DY, dX, null, eps, variant);
    const ref = rmsnormBackwardRef(x, w, dy, R, D, eps);
    expectClose(await gpu.read(dX), ref.dx, ATOL, RTOL, 'dx');
    const runs: Float32Array[] = [];
    for (let i = 0; i < 2; i++) {
      const dW = gpu.upload('dw', [D], new Float32Array(D));
      rmsnormBackward(gpu, X, W, DY, dX, dW, eps, variant);
      runs.push(await gpu.read(dW));
      gpu.release(dW);
    }
    expectClose(runs[0]!, ref.dw, ATOL, RTOL, 'dw');
    expect(Array.from(runs[1]!)).toEqual(Array.from(runs[0]!));
    gpu.release(X, W, DY, dX);
  });

  it('rejects mismatched shapes and dx aliasing an input', async () => {
    const gpu = await testGpu();
    const x = gpu.tensor('x', [4, 8]), w = gpu.tensor('w', [8]), dw = gpu.tensor('dw', [7]), dx = gpu.tensor('dx', [4, 8]);
    expect(() => rmsnormBackward(gpu, x, w, x, dx, dw, 1e-5)).toThrow(/do not agree/);
    expect(() => rmsnormBackward(gpu, x, w, dx, x, null, 1e-5)).toThrow(/aliases/);
    gpu.release(x, w, dw, dx);
  });
});
