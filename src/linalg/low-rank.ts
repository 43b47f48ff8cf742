/**
 * The spectrum of a low-rank update ΔW = s·B·A (B (out, r), A (r, in)) without forming ΔW:
 * B = Q_B·R_B and Aᵀ = Q_A·R_A (MGS2 on the GPU), so ΔW = Q_B·(s·R_B·R_Aᵀ)·Q_Aᵀ and the singular
 * values of ΔW are those of the r × r core C = s·R_B·R_Aᵀ (Jacobi SVD on the GPU); its singular
 * vectors are Q_B·U_C and Q_A·V_C. Cost O((out + in)·r²) instead of O(out·in·r).
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { matmul } from '../kernels/matmul.ts';
import { checkSize, qrRows } from './qr.ts';
import { svdFull, type SvdOptions } from './svd.ts';

export interface LowRankOptions extends SvdOptions {
  /** Also return the singular vectors U (out, r) and V (in, r). Default false. */
  vectors?: boolean;
  /** Shapes when B and A are not 2-D tensors: B (out, r), A (r, in). */
  dims?: { out: number; r: number; in: number };
}

export interface LowRankSpectrum {
  /** (r) singular values of ΔW, descending (zeros past its rank). */
  S: Float32Array;
  /** (out, r) left singular vectors, when asked for. Caller releases. */
  U?: Tensor;
  /** (in, r) right singular vectors, when asked for. Caller releases. */
  V?: Tensor;
  sweeps: number;
  converged: boolean;
}

/** Singular values (and optionally vectors) of ΔW = s·B·A for B (out, r), A (r, in), r ≤ min(out, in). */
export async function lowRankSpectrum(gpu: Gpu, B: Tensor, A: Tensor, s: number, opts: LowRankOptions = {}): Promise<LowRankSpectrum> {
  const { out, r, in: inF } = opts.dims ?? dimsOf(B, A);
  checkSize(B, out * r, 'lowRankSpectrum B');
  checkSize(A, r * inF, 'lowRankSpectrum A');
  if (r > Math.min(out, inF)) throw new Error(`lowRankSpectrum: rank ${r} exceeds min(out, in) = ${Math.min(out, inF)}`);

  // Bᵀ (r, out) = I·Bᵀ: the QR kernels work on rows. A (r, in) already holds Aᵀ's columns as rows.
  const eye = new Float32Array(r * r);
  for (let i = 0; i < r; i++) eye[i * r + i] = 1;
  const I = gpu.upload('lowRank.I', [r, r], eye);
  const Bt = gpu.tensor('lowRank.Bt', [r, out]);
  matmul(gpu, I, B, Bt, r, out, r);
  const qb = qrRows(gpu, Bt, r, out, 'lowRank.B'); // Q_Bᵀ (r, out), R_B (r, r)
  const qa = qrRows(gpu, A, r, inF, 'lowRank.A'); // Q_Aᵀ (r, in), R_A (r, r)
  const core = gpu.tensor('lowRank.core', [r, r]);
  matmul(gpu, qb.R, qa.R, core, r, r, r, { alpha: s }); // s·R_B·R_Aᵀ
  gpu.release(I, Bt, qb.R, qa.R);
  try {
    const c = await svdFull(gpu, core, r, r, opts);
    const result: LowRankSpectrum = { S: c.S, sweeps: c.sweeps, converged: c.converged };
    if (opts.vectors) {
      result.U = gpu.tensor('lowRank.U', [out, r]);
      result.V = gpu.tensor('lowRank.V', [inF, r]);
      matmul(gpu, qb.Qt, c.U, result.U, out, r, r, { aKM: true, bKN: true }); // Q_B·U_C
      matmul(gpu, qa.Qt, c.V, result.V, inF, r, r, { aKM: true, bKN: true }); // Q_A·V_C
    }
    gpu.release(c.U, c.V);
    return result;
  } finally {
    gpu.release(qb.Qt, qa.Qt, core);
  }
}

function dimsOf(B: Tensor, A: Tensor): { out: number; r: number; in: number } {
  if (B.shape.length !== 2 || A.shape.length !== 2 || B.shape[1] !== A.shape[0]) {
    throw new Error(`lowRankSpectrum: expected B (out, r) and A (r, in), got ${B.label} (${B.shape}) and ${A.label} (${A.shape}); pass opts.dims`);
  }
  return { out: B.shape[0]!, r: B.shape[1]!, in: A.shape[1]! };
}
