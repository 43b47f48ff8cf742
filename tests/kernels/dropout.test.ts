import { describe, expect, it } from 'vitest';
import { dropout, dropoutBackwardAdd } from '../../src/kernels/dropout.ts';
import { dropoutKeepRef } from '../../src/reference/ops.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

describe('dropout', () => {
  for (const [n, p] of [[1, 0.5], [7, 0.1], [1000, 0.3], [70001, 0.05]] as const) {
    it(`n=${n} p=${p}: forward and backward use the reference mask`, async () => {
      const gpu = await testGpu();
      const x = randn(n, n), g = randn(n, n + 1), d0 = randn(n, n + 2);
      const X = gpu.upload('x', [n], x), out = gpu.tensor('out', [n]), G = gpu.upload('g', [n], g), dx = gpu.upload('dx', [n], d0);
      dropout(gpu, X, out, p, 1234);
      dropoutBackwardAdd(gpu, G, dx, p, 1234);
      const keep = dropoutKeepRef(n, p, 1234);
      const s = 1 / (1 - p);
      // elementwise: atol 1e-6, rtol 1e-5
      expectClose(await gpu.read(out), Array.from(x, (v, i) => (keep[i] ? v * s : 0)), 1e-6, 1e-5, 'forward');
      expectClose(await gpu.read(dx), Array.from(d0, (v, i) => v + (keep[i] ? g[i] * s : 0)), 1e-6, 1e-5, 'backward');
      if (n >= 1000) {
        const dropped = keep.reduce((a, k) => a + (1 - k), 0) / n;
        expect(Math.abs(dropped - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n)); // within 4 std
      }
      gpu.release(X, out, G, dx);
    });
  }
});
