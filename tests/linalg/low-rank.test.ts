import { afterAll, describe, expect, it } from 'vitest';
import { lowRankSpectrum } from '../../src/linalg/low-rank.ts';
import { matmul64, orthogonalityError, reconstructionError, svdRef } from '../../src/linalg/reference-svd.ts';
import { svdFull } from '../../src/linalg/svd.ts';
import { testGpu } from '../helpers/gpu.ts';
import { gaussianF32, Report } from './helpers.ts';

const report = new Report('low-rank spectrum of ΔW = s·B·A vs the full GPU SVD of the formed ΔW: max |σᵢ − σᵢ_full|/σ₁, vs float64, recon, ‖UᵀU−I‖_F');
afterAll(() => report.print());

describe('lowRankSpectrum', () => {
  const cases: [out: number, r: number, inF: number, s: number][] = [[64, 8, 172, 2], [172, 4, 64, 0.5], [96, 16, 96, 1], [33, 1, 7, 3]];
  for (const [out, r, inF, s] of cases) {
    it(`out ${out}, r ${r}, in ${inF}, s ${s}: equals the SVD of the formed ΔW`, async () => {
      const gpu = await testGpu();
      const b = gaussianF32(out * r, out + r), a = gaussianF32(r * inF, inF + r);
      for (let i = 0; i < a.length; i++) a[i] = a[i]! * 0.01; // LoRA-sized A
      const B = gpu.upload('B', [out, r], b), A = gpu.upload('A', [r, inF], a);
      const dw64 = matmul64(b, a, out, inF, r).map((x) => x * s);
      const dw = Float32Array.from(dw64);
      const DW = gpu.upload('dW', [out, inF], dw);
      const low = await lowRankSpectrum(gpu, B, A, s, { vectors: true });
      const full = await svdFull(gpu, DW, out, inF);
      const U = await gpu.read(low.U!), V = await gpu.read(low.V!);
      gpu.release(A, B, DW, low.U, low.V, full.U, full.V);
      const ref = svdRef(dw64, out, inF);
      const s1 = ref.S[0]!;
      let vsFull = 0, vsRef = 0;
      for (let i = 0; i < r; i++) {
        vsFull = Math.max(vsFull, Math.abs(low.S[i]! - full.S[i]!) / s1);
        vsRef = Math.max(vsRef, Math.abs(low.S[i]! - ref.S[i]!) / s1);
      }
      // Past the rank, the full SVD of the formed ΔW sees only f32 rounding noise.
      let tail = 0;
      for (let i = r; i < Math.min(out, inF); i++) tail = Math.max(tail, full.S[i]! / s1);
      const recon = reconstructionError(dw64, U, low.S, V, out, inF, r);
      const orthU = orthogonalityError(U, out, r).fro, orthV = orthogonalityError(V, inF, r).fro;
      report.add(`${out}×${inF} r=${r}`, { sweeps: low.sweeps, vsFull, vsRef, fullTail: tail, recon, orthU, orthV });
      expect(low.converged).toBe(true);
      expect(low.S.length).toBe(r);
      // Same tolerance as the full SVD: within 1e-4·σ₁ (measured ~1e-7).
      expect(vsFull).toBeLessThanOrEqual(1e-4);
      expect(vsRef).toBeLessThanOrEqual(1e-4);
      expect(tail).toBeLessThanOrEqual(1e-5);
      expect(recon).toBeLessThanOrEqual(1e-5);
      expect(orthU).toBeLessThanOrEqual(1e-4);
      expect(orthV).toBeLessThanOrEqual(1e-4);
    });
  }

  it('a fresh LoRA (B = 0) has an all-zero spectrum', async () => {
    const gpu = await testGpu();
    const B = gpu.upload('B', [20, 4], new Float32Array(80)), A = gpu.upload('A', [4, 12], gaussianF32(48, 1));
    const low = await lowRankSpectrum(gpu, B, A, 2);
    gpu.release(A, B);
    expect(Array.from(low.S)).toEqual([0, 0, 0, 0]);
    expect(low.converged).toBe(true);
  });

  it('rejects mismatched shapes', async () => {
    const gpu = await testGpu();
    const B = gpu.upload('B', [20, 4], new Float32Array(80)), A = gpu.upload('A', [5, 12], new Float32Array(60));
    await expect(lowRankSpectrum(gpu, B, A, 1)).rejects.toThrow(/expected B \(out, r\) and A \(r, in\)/);
    gpu.release(A, B);
  });
});
