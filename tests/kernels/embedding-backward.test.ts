import { describe, expect, it } from 'vitest';
import { embeddingBackward, embeddingRowLists, type EmbeddingBackwardOptions } from '../../src/kernels/embedding.ts';
import { embeddingBackwardRef } from '../../src/reference/llama-grads.ts';
import { embeddingRef } from '../../src/reference/llama-ops.ts';
import { dotLoss, expectGradClose, finiteDiffGrad } from '../helpers/finite-diff.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// Reference vs central differences (float64, h = 1e-6; the loss is linear in the table): atol 1e-8, rtol 1e-6
// (measured: max |diff| 2e-10).
const FD_ATOL = 1e-8;
const FD_RTOL = 1e-6;
// GPU vs reference: f32 sums of up to R rows onto the old value: atol 1e-5, rtol 1e-4 (measured: at most
// 0.06 of the bound, max |diff| 4e-6 at R = 1024).
const ATOL = 1e-5;
const RTOL = 1e-4;

function ids(R: number, V: number, seed: number): Uint32Array {
  const u = randn(R, seed);
  return Uint32Array.from(u, (x) => Math.floor(((x + 1) / 2) * V) % V);
}

describe('embedding backward: reference vs finite differences', () => {
  it('R=9 V=5 D=3, repeated ids and an out-of-range id', () => {
    const [R, V, D] = [9, 5, 3];
    const idv = [0, 3, 3, 1, 5, 3, 0, 4, 7]; // 5 and 7 are out of range: zero rows, no gradient
    const table = Float64Array.from(randn(V * D, 1)), dx = Float64Array.from(randn(R * D, 2));
    const ref = embeddingBackwardRef(idv, dx, V, D);
    expectGradClose(ref, finiteDiffGrad(() => dotLoss(dx, embeddingRef(idv, table, V, D)), table), FD_ATOL, FD_RTOL, 'dtable');
    expect(Array.from(ref.slice(2 * D, 3 * D))).toEqual([0, 0, 0]); // id 2 never occurs
  });
});

describe('embedding backward kernel vs float64 reference', () => {
  const cases: [R: number, V: number, D: number][] = [
    [1, 1, 1], [7, 5, 7], [33, 17, 33], [300, 50, 65], [300, 3, 33], [256, 512, 64], [64, 512, 288],
  ];
  const modes: { name: string; columns?: number; lists?: boolean }[] = [
    { name: 'scan, default columns' }, { name: 'scan, 1 column', columns: 1 }, { name: 'scan, 16 columns', columns: 16 },
    { name: 'row lists', lists: true }, { name: 'row lists, 4 columns', columns: 4, lists: true },
  ];
  for (const [R, V, D] of cases) for (const mode of modes) {
    it(`R=${R} V=${V} D=${D} ${mode.name}`, async () => {
      const gpu = await testGpu();
      const idv = ids(R, V, R + V);
      if (R > 3) idv[3] = V + 2; // out of range: ignored
      const dx = randn(R * D, D + 3), dt0 = randn(V * D, 4);
      const I = gpu.upload('ids', [R], idv), DX = gpu.upload('dx', [R, D], dx), dT = gpu.upload('dtable', [V, D], dt0);
      const opts: EmbeddingBackwardOptions = { columns: mode.columns };
      if (mode.lists) {
        const l = embeddingRowLists(idv, V);
        opts.rowLists = { offsets: gpu.upload('offsets', [V + 1], l.offsets), rows: gpu.upload('rows', [l.rows.length], l.rows) };
      }
      embeddingBackward(gpu, I, DX, dT, opts);
      const ref = embeddingBackwardRef(idv, dx, V, D);
      expectClose(await gpu.read(dT), ref.map((v, i) => v + dt0[i]), ATOL, RTOL, 'dtable'); // added to
      gpu.release(I, DX, dT, opts.rowLists?.offsets, opts.rowLists?.rows);
    });
  }

  it('is deterministic: bit-identical across runs, column splits and row lists', async () => {
    const gpu = await testGpu();
    const [R, V, D] = [513, 7, 40]; // ~73 rows per id, R not a multiple of 4
    const idv = ids(R, V, 9), dx = randn(R * D, 10);
    const I = gpu.upload('ids', [R], idv), DX = gpu.upload('dx', [R, D], dx);
    const l = embeddingRowLists(idv, V);
    const rowLists = { offsets: gpu.upload('offsets', [V + 1], l.offsets), rows: gpu.upload('rows', [R], l.rows) };
    const runs: number[][] = [];
    for (const opts of [{ columns: 40 }, { columns: 40 }, { columns: 16 }, { columns: 1 }, { rowLists }, { rowLists, columns: 3 }]) {
      const dT = gpu.upload('dtable', [V, D], new Float32Array(V * D));
      embeddingBackward(gpu, I, DX, dT, opts);
      runs.push(Array.from(await gpu.read(dT)));
      gpu.release(dT);
    }
    expectClose(runs[0]!, embeddingBackwardRef(idv, dx, V, D), ATOL, RTOL, 'dtable');
    for (const r of runs.slice(1)) expect(r).toEqual(runs[0]);
    gpu.release(I, DX, rowLists.offsets, rowLists.rows);
  });

  it('row lists: a counting sort that keeps rows in order and drops out-of-range ids', () => {
    const l = embeddingRowLists([2, 0, 2, 9, 1, 2, 0], 4);
    expect(Array.from(l.offsets)).toEqual([0, 2, 3, 6, 6]);
    expect(Array.from(l.rows)).toEqual([1, 6, 4, 0, 2, 5]);
  });

  it('rejects mismatched shapes', async () => {
    const gpu = await testGpu();
    const i = gpu.tensor('ids', [4]), dx = gpu.tensor('dx', [4, 7]), dt = gpu.tensor('dtable', [9, 8]);
    expect(() => embeddingBackward(gpu, i, dx, dt)).toThrow(/expected 4·8/);
    gpu.release(i, dx, dt);
  });
});
