import { describe, expect, it } from 'vitest';
import { swigluBackward } from '../../src/kernels/elementwise.ts';
import { swigluBackwardRef } from '../../src/reference/llama-grads.ts';
import { swigluRef } from '../../src/reference/llama-ops.ts';
import { dotLoss, expectGradClose, finiteDiffGrad } from '../helpers/finite-diff.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// Reference vs central differences (float64, h = 1e-6, loss Σ dout ⊙ swiglu ~ 10): truncation ~h²·|f'''| ≈ 1e-12,
// rounding ~1e-16·|loss|/h ≈ 1e-9, so atol 1e-8, rtol 1e-6 (measured: at most 0.14 of the bound).
const FD_ATOL = 1e-8;
const FD_RTOL = 1e-6;
// GPU vs reference, elementwise: atol 1e-6, rtol 1e-5 (a few f32 roundings; 1 + g·(1 − σ) cancels near
// g ≈ −1.28, which the atol covers: |dgate| error ≤ ~1e-7·|dout·u|). Measured: at most 0.04 of the bound,
// max |diff| 1e-6 (|gate| ≤ 6).
const ATOL = 1e-6;
const RTOL = 1e-5;

describe('swiglu backward: reference vs finite differences', () => {
  for (const scale of [1, 6, 20]) {
    it(`|gate| ≤ ${scale}`, () => {
      const N = 33;
      const g = Float64Array.from(randn(N, 11 + scale, scale)), u = Float64Array.from(randn(N, 12, 2));
      const dout = Float64Array.from(randn(N, 13, 1.5));
      const ref = swigluBackwardRef(g, u, dout);
      const loss = () => dotLoss(dout, swigluRef(g, u));
      expectGradClose(ref.dgate, finiteDiffGrad(loss, g), FD_ATOL, FD_RTOL, 'dgate');
      expectGradClose(ref.dup, finiteDiffGrad(loss, u), FD_ATOL, FD_RTOL, 'dup');
    });
  }
});

describe('swiglu backward kernel vs float64 reference', () => {
  for (const N of [1, 7, 33, 257, 12288]) {
    it(`N=${N}`, async () => {
      const gpu = await testGpu();
      const g = randn(N, N + 5, 6), u = randn(N, N + 6, 2), dout = randn(N, N + 7, 1.5);
      const G = gpu.upload('gate', [N], g), U = gpu.upload('up', [N], u), DO = gpu.upload('dout', [N], dout);
      // garbage in the outputs: they are overwritten, not added to
      const dG = gpu.upload('dgate', [N], new Float32Array(N).fill(NaN)), dU = gpu.upload('dup', [N], new Float32Array(N).fill(7));
      swigluBackward(gpu, G, U, DO, dG, dU);
      const ref = swigluBackwardRef(g, u, dout);
      expectClose(await gpu.read(dG), ref.dgate, ATOL, RTOL, 'dgate');
      expectClose(await gpu.read(dU), ref.dup, ATOL, RTOL, 'dup');
      gpu.release(G, U, DO, dG, dU);
    });
  }

  it('is stable for large |gate|', async () => {
    const gpu = await testGpu();
    const g = Float32Array.from([-1e38, -1e30, -1000, -100, -88.7, -30, -10, -1.28, -1e-30, 0, 1e-30, 10, 30, 88.7, 100, 1000, 1e30, 1e38]);
    const N = g.length;
    const u = Float32Array.from(g, (_, i) => (i % 2 ? 0.5 : -1.25)), dout = Float32Array.from(g, (_, i) => (i % 3 ? 2 : -0.75));
    const G = gpu.upload('gate', [N], g), U = gpu.upload('up', [N], u), DO = gpu.upload('dout', [N], dout);
    const dG = gpu.tensor('dgate', [N]), dU = gpu.tensor('dup', [N]);
    swigluBackward(gpu, G, U, DO, dG, dU);
    const ref = swigluBackwardRef(g, u, dout);
    const dgate = await gpu.read(dG), dup = await gpu.read(dU);
    expect(dgate.every(Number.isFinite)).toBe(true);
    expectClose(dgate, ref.dgate, ATOL, RTOL, 'dgate');
    // dup = dout·g·σ(g) grows like g for g → +∞ (to 1e38 here, still finite in f32)
    expect(dup.every(Number.isFinite)).toBe(true);
    expectClose(dup, ref.dup, ATOL, RTOL, 'dup');
    gpu.release(G, U, DO, dG, dU);
  });

  it('rejects mismatched sizes', async () => {
    const gpu = await testGpu();
    const a = gpu.tensor('a', [4]), b = gpu.tensor('b', [5]);
    expect(() => swigluBackward(gpu, a, a, a, a, b)).toThrow(/differ/);
    gpu.release(a, b);
  });
});
