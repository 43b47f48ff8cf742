import { describe, expect, it } from 'vitest';
import { matmul64, svdRef } from '../../src/linalg/reference-svd.ts';
import { columns, rank90, subspaceOverlap, updateOverlaps } from '../../src/linalg/spectra.ts';
import { randomOrthonormal } from './helpers.ts';

describe('rank90', () => {
  it('is the smallest k whose σ² explain 90%', () => {
    expect(rank90([3, 1])).toBe(1); // 9/10 = 0.9 exactly counts
    expect(rank90([1, 1, 1, 1, 1, 1, 1, 1, 1, 1])).toBe(9);
    expect(rank90([3, 1, 1, 1])).toBe(3); // 9, 10, 11 of 12: 11/12 ≥ 0.9
    expect(rank90([2, 1, 1, 1, 1])).toBe(5); // 4, 5, 6, 7 of 8: 7/8 < 0.9
    expect(rank90([1, 1, 3, 1])).toBe(3); // order does not matter
    expect(rank90([5])).toBe(1);
    expect(rank90([0, 0])).toBe(0);
    expect(rank90([])).toBe(0);
  });
});

describe('subspaceOverlap', () => {
  it('is 1 for the same subspace, 0 for orthogonal ones, and k/d-ish for random ones', () => {
    const d = 200, k = 8;
    const Q = randomOrthonormal(d, 2 * k, 1);
    expect(subspaceOverlap(columns(Q, d, 2 * k, 0, k), columns(Q, d, 2 * k, 0, k))).toBeCloseTo(1, 12);
    expect(subspaceOverlap(columns(Q, d, 2 * k, 0, k), columns(Q, d, 2 * k, k, 2 * k))).toBeCloseTo(0, 12);
    // A subspace inside a larger one: normalised by the smaller dimension.
    expect(subspaceOverlap(columns(Q, d, 2 * k, 0, 3), columns(Q, d, 2 * k, 0, 2 * k))).toBeCloseTo(1, 12);
    const R = randomOrthonormal(d, k, 2);
    const random = subspaceOverlap(columns(Q, d, 2 * k, 0, k), columns(R, d, k));
    expect(random).toBeGreaterThan(0.1 * k / d);
    expect(random).toBeLessThan(4 * k / d);
  });
});

describe('updateOverlaps', () => {
  it('an update built from W₀\'s minor directions overlaps the minor subspace, not the principal one', () => {
    const out = 30, inF = 20, r = 3;
    const W0 = matmul64(randomOrthonormal(out, 20, 5), randomOrthonormal(inF, 20, 6), out, inF, 20, false, true);
    const w = svdRef(W0, out, inF);
    // ΔW = Σ over the last r triplets of W₀ with new weights: lives exactly in the minor subspaces.
    const k = w.k;
    const dW = new Float64Array(out * inF);
    for (let j = k - r; j < k; j++) {
      for (let a = 0; a < out; a++) for (let b = 0; b < inF; b++) dW[a * inF + b] += (j + 1) * w.U[a * k + j]! * w.V[b * k + j]!;
    }
    const d = svdRef(dW, out, inF);
    const o = updateOverlaps(w, d, out, inF, r);
    expect(o.minor.left).toBeCloseTo(1, 10);
    expect(o.minor.right).toBeCloseTo(1, 10);
    expect(o.principal.mean).toBeCloseTo(0, 10);
  });
});
