import { describe, it } from 'vitest';
import { addInPlace, swiglu } from '../../src/kernels/elementwise.ts';
import { addRef, swigluRef } from '../../src/reference/llama-ops.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// Elementwise: atol 1e-6, rtol 1e-5.
const ATOL = 1e-6;
const RTOL = 1e-5;

const sizes = [1, 7, 33, 257, 12288];

describe('swiglu kernel vs float64 reference', () => {
  for (const N of sizes) {
    it(`N=${N}`, async () => {
      const gpu = await testGpu();
      const g = randn(N, N, 6), u = randn(N, N + 1, 2);
      const G = gpu.upload('gate', [N], g), U = gpu.upload('up', [N], u), out = gpu.tensor('out', [N]);
      swiglu(gpu, G, U, out);
      expectClose(await gpu.read(out), swigluRef(g, u), ATOL, RTOL, 'out');
      gpu.release(G, U, out);
    });
  }

  it('is stable for large |gate|', async () => {
    const gpu = await testGpu();
    const g = Float32Array.from([-1e30, -1000, -100, -88.7, -30, -10, -1e-30, 0, 1e-30, 10, 30, 88.7, 100, 1000, 1e30]);
    const u = Float32Array.from(g, (_, i) => (i % 2 ? 0.5 : -1.25));
    const G = gpu.upload('gate', [g.length], g), U = gpu.upload('up', [g.length], u), out = gpu.tensor('out', [g.length]);
    swiglu(gpu, G, U, out);
    expectClose(await gpu.read(out), swigluRef(g, u), ATOL, RTOL, 'out');
    gpu.release(G, U, out);
  });
});

describe('addInPlace kernel vs float64 reference', () => {
  for (const N of sizes) {
    it(`N=${N}`, async () => {
      const gpu = await testGpu();
      const x = randn(N, N + 2, 3), y = randn(N, N + 3, 3);
      const X = gpu.upload('x', [N], x), Y = gpu.upload('y', [N], y);
      addInPlace(gpu, X, Y);
      addInPlace(gpu, X, Y); // twice: x + 2y, checks it really reads the updated x
      expectClose(await gpu.read(X), addRef(addRef(x, y), y), ATOL, RTOL, 'x');
      gpu.release(X, Y);
    });
  }

  it('covers more than 65535 workgroups (2-D dispatch)', async () => {
    const gpu = await testGpu();
    const N = 65535 * 256 + 1000;
    const x = randn(N, 8), y = randn(N, 9);
    const X = gpu.upload('x', [N], x), Y = gpu.upload('y', [N], y);
    addInPlace(gpu, X, Y);
    expectClose(await gpu.read(X), addRef(x, y), ATOL, RTOL, 'x');
    gpu.release(X, Y);
  });
});
