import { describe, expect, it } from 'vitest';
import { embedding } from '../../src/kernels/embedding.ts';
import { embeddingRef } from '../../src/reference/llama-ops.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// A lookup copies values: exact (atol 0, rtol 0).
const cases: [R: number, V: number, D: number][] = [
  [1, 1, 1], [7, 5, 7], [33, 17, 33], [300, 50, 65], [64, 512, 288],
];

function ids(R: number, V: number, seed: number): Uint32Array {
  const u = randn(R, seed);
  return Uint32Array.from(u, (x) => Math.floor(((x + 1) / 2) * V) % V);
}

describe('embedding kernel vs float64 reference', () => {
  for (const [R, V, D] of cases) {
    it(`R=${R} V=${V} D=${D}`, async () => {
      const gpu = await testGpu();
      const idv = ids(R, V, R + V), tab = randn(V * D, D);
      const I = gpu.upload('ids', [R], idv), W = gpu.upload('table', [V, D], tab), out = gpu.tensor('out', [R, D]);
      embedding(gpu, I, W, out);
      expectClose(await gpu.read(out), embeddingRef(idv, tab, V, D), 0, 0, 'out');
      gpu.release(I, W, out);
    });
  }

  it('gives zero rows for ids ≥ V (no out-of-bounds read)', async () => {
    const gpu = await testGpu();
    const [V, D] = [5, 9];
    const idv = Uint32Array.from([0, 5, 4, 6, 0xffffffff, 2, 1000]);
    const tab = randn(V * D, 11);
    // Place the table right before other data so an unchecked read would pick up nonzero values.
    const I = gpu.upload('ids', [idv.length], idv), W = gpu.upload('table', [V, D], tab);
    const out = gpu.upload('out', [idv.length, D], new Float32Array(idv.length * D).fill(7));
    embedding(gpu, I, W, out);
    const got = await gpu.read(out);
    expectClose(got, embeddingRef(idv, tab, V, D), 0, 0, 'out');
    expect(Array.from(got.subarray(D, 2 * D))).toEqual(new Array(D).fill(0));
    gpu.release(I, W, out);
  });

  it('covers more than 65535 workgroups (2-D dispatch)', async () => {
    const gpu = await testGpu();
    const [R, V, D] = [70000, 3, 257]; // 17 990 000 elements → 70 274 workgroups of 256
    const idv = ids(R, V, 3), tab = randn(V * D, 4);
    const I = gpu.upload('ids', [R], idv), W = gpu.upload('table', [V, D], tab), out = gpu.tensor('out', [R, D]);
    embedding(gpu, I, W, out);
    expectClose(await gpu.read(out), embeddingRef(idv, tab, V, D), 0, 0, 'out');
    gpu.release(I, W, out);
  });

  it('rejects an output of the wrong size', async () => {
    const gpu = await testGpu();
    const I = gpu.upload('ids', [2], Uint32Array.from([0, 1])), W = gpu.upload('table', [3, 4], randn(12, 1));
    const out = gpu.tensor('out', [2, 5]);
    expect(() => embedding(gpu, I, W, out)).toThrow(/out/);
    gpu.release(I, W, out);
  });
});
