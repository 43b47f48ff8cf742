import { describe, expect, it } from 'vitest';
import { gaussian } from '../../src/linalg/random.ts';
import {
  blockSweepOrder, jacobiRotation, roundRobinOrder, matmul64, mgsRef, orthogonalityError, qrRef, reconstructionError, svdRef,
} from '../../src/linalg/reference-svd.ts';
import { logSpaced, randomOrthonormal } from './helpers.ts';

describe('float64 references', () => {
  it('jacobiRotation makes a pair orthogonal and is a rotation (also in the τ form)', () => {
    for (const [alpha, beta, gamma] of [[2, 1, 0.5], [1, 1, 0.3], [1e-8, 1, 1e-5], [1, 1 + 1e-12, -1e-9]]) {
      const { c, s, tau } = jacobiRotation(alpha!, beta!, gamma!);
      expect(Math.abs(c * c + s * s - 1)).toBeLessThan(1e-15);
      expect(Math.abs(1 - s * tau - c)).toBeLessThan(1e-15);
      // Off-diagonal of [[α, γ], [γ, β]] after the rotation: cs(α − β) + (c² − s²)γ.
      const off = c * s * (alpha! - beta!) + (c * c - s * s) * gamma!;
      expect(Math.abs(off)).toBeLessThan(1e-15 * Math.max(alpha!, beta!));
    }
  });

  it('svdRef recovers a known spectrum with orthonormal factors (both orientations)', () => {
    for (const [m, n] of [[30, 12], [12, 30], [17, 17]] as [number, number][]) {
      const k = Math.min(m, n);
      const sigma = logSpaced(k, 1e-6);
      const U0 = randomOrthonormal(m, k, 3), V0 = randomOrthonormal(n, k, 4);
      const US = new Float64Array(m * k);
      for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) US[i * k + j] = U0[i * k + j]! * sigma[j]!;
      const W = matmul64(US, V0, m, n, k, false, true);
      const r = svdRef(W, m, n);
      expect(r.converged).toBe(true);
      for (let i = 0; i < k; i++) expect(Math.abs(r.S[i]! - sigma[i]!)).toBeLessThan(1e-14);
      // One-sided Jacobi keeps the small ones relatively accurate: σ = 1e-6 to ~1e-9 relative.
      expect(Math.abs(r.S[k - 1]! - 1e-6) / 1e-6).toBeLessThan(1e-8);
      expect(reconstructionError(W, r.U, r.S, r.V, m, n, k)).toBeLessThan(1e-14);
      expect(orthogonalityError(r.U, m, k).fro).toBeLessThan(1e-12);
      expect(orthogonalityError(r.V, n, k).fro).toBeLessThan(1e-12);
    }
  });

  it('both pair orders meet every pair of columns exactly once per sweep', () => {
    for (const c of [1, 2, 7, 16, 33, 64]) {
      for (const order of [roundRobinOrder(c), blockSweepOrder(c, 16), blockSweepOrder(c, 4)]) {
        const seen = new Set(order.map(([p, q]) => (expect(p).toBeLessThan(q), p * c + q)));
        expect(order.length).toBe((c * (c - 1)) / 2);
        expect(seen.size).toBe(order.length);
      }
    }
  });

  it('svdRef in block order gives the same SVD', () => {
    const W = gaussian(30 * 20, 2);
    const a = svdRef(W, 30, 20), b = svdRef(W, 30, 20, { blocks: 4 });
    expect(b.converged).toBe(true);
    for (let i = 0; i < 20; i++) expect(Math.abs(a.S[i]! - b.S[i]!)).toBeLessThan(1e-13);
  });

  it('svdRef reports the sweep cap', () => {
    const r = svdRef(gaussian(40 * 40, 1), 40, 40, { maxSweeps: 1 });
    expect(r).toMatchObject({ converged: false, sweeps: 1 });
  });

  it('qrRef and mgsRef factor a panel: A = QR, QᵀQ = I, R upper triangular', () => {
    const m = 50, n = 9;
    const A = gaussian(m * n, 8);
    const { Q, R } = qrRef(A, m, n);
    const QR = matmul64(Q, R, m, n, n);
    for (let i = 0; i < A.length; i++) expect(Math.abs(QR[i]! - A[i]!)).toBeLessThan(1e-13);
    expect(orthogonalityError(Q, m, n).fro).toBeLessThan(1e-14);
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(R[i * n + j]).toBe(0);
    // MGS on the rows of Aᵀ spans the same columns: |Q_mgsᵀ·Q_householder| = I.
    const At = new Float64Array(n * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) At[j * m + i] = A[i * n + j]!;
    const Qm = mgsRef(At, n, m);
    const C = matmul64(Qm, Q, n, n, m); // (n, m)·(m, n)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      expect(Math.abs(Math.abs(C[i * n + j]!) - (i === j ? 1 : 0))).toBeLessThan(1e-12);
    }
  });
});
