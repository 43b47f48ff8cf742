import { afterAll, describe, expect, it } from 'vitest';
import { orthonormalizeRows, qrRows } from '../../src/linalg/qr.ts';
import { matmul64, mgsRef, orthogonalityError } from '../../src/linalg/reference-svd.ts';
import { testGpu } from '../helpers/gpu.ts';
import { gaussianF32, Report } from './helpers.ts';

const report = new Report('GPU MGS2 QR of panels stored by rows: ‖QQᵀ − I‖_F, ‖QᵀR − Y‖_F/‖Y‖_F, max |Q − Q_ref|');
afterAll(() => report.print());

/** A panel (rows, L) whose rows are scaled by 1, 10^(−step), 10^(−2·step), … (condition ~10^(step·(rows−1))). */
function graded(rows: number, L: number, step: number, seed: number): Float32Array {
  const y = gaussianF32(rows * L, seed);
  for (let i = 0; i < rows; i++) for (let e = 0; e < L; e++) y[i * L + e] = y[i * L + e]! * 10 ** (-step * i);
  return y;
}

describe('qrRows (MGS2 on the GPU) vs float64', () => {
  const cases: [rows: number, L: number, step: number][] = [[1, 5, 0], [7, 33, 0], [18, 172, 0], [9, 576, 0.5], [12, 64, 0.5]];
  for (const [rows, L, step] of cases) {
    it(`${rows} rows of length ${L}${step ? `, rows graded down to 1e-${step * (rows - 1)}` : ''}`, async () => {
      const gpu = await testGpu();
      const y = graded(rows, L, step, rows * 7 + L);
      const Y = gpu.upload('Y', [rows, L], y);
      const { Qt, R } = qrRows(gpu, Y, rows, L);
      const q = await gpu.read(Qt), r = await gpu.read(R);
      gpu.release(Y, Qt, R);
      // Orthonormal rows: Q = Qtᵀ (L, rows) has orthonormal columns.
      const Q = new Float64Array(L * rows);
      for (let i = 0; i < rows; i++) for (let e = 0; e < L; e++) Q[e * rows + i] = q[i * L + e]!;
      const orth = orthogonalityError(Q, L, rows).fro;
      // Column j of the panel = Σᵢ R[i, j]·q_i, i.e. Y = Rᵀ·Qt.
      const back = matmul64(r, q, rows, L, rows, true, false);
      let num = 0, den = 0;
      for (let i = 0; i < y.length; i++) {
        num += (back[i]! - y[i]!) ** 2;
        den += y[i]! ** 2;
      }
      const qRef = mgsRef(Float64Array.from(y), rows, L);
      let dq = 0;
      for (let i = 0; i < q.length; i++) dq = Math.max(dq, Math.abs(q[i]! - qRef[i]!));
      report.add(`${rows}×${L} step ${step}`, { orth, recon: Math.sqrt(num / den), dq });
      // f32 MGS2: orthogonal to a few ulps·√rows; Y reproduced to f32 rounding.
      expect(orth).toBeLessThanOrEqual(1e-6);
      expect(Math.sqrt(num / den)).toBeLessThanOrEqual(1e-6);
      // Same algorithm as the reference: the same Q up to f32 rounding (measured ≤ 6e-8).
      expect(dq).toBeLessThanOrEqual(1e-5);
    });
  }

  it('a row that depends exactly on earlier rows becomes zero instead of NaN', async () => {
    const gpu = await testGpu();
    const L = 16;
    const y = new Float32Array(3 * L);
    for (let e = 0; e < L; e++) {
      y[e] = e % 2;
      y[L + e] = 0; // a zero row
      y[2 * L + e] = 1 - (e % 2);
    }
    const Y = gpu.upload('Y', [3, L], y);
    orthonormalizeRows(gpu, Y, 3, L);
    const q = await gpu.read(Y);
    gpu.release(Y);
    expect(q.every(Number.isFinite)).toBe(true);
    for (let e = 0; e < L; e++) expect(q[L + e]).toBe(0);
    expect(q[1]).toBeCloseTo(1 / Math.sqrt(8), 6);
  });
});
