/**
 * Orthonormalisation of tall-skinny panels on the GPU by modified Gram–Schmidt, run twice (MGS2:
 * orthogonal to working precision even for ill-conditioned panels), and the thin QR built on it.
 * Panels are stored by rows: Y (rows, L) holds the `rows` columns of an (L × rows) matrix, as the
 * randomized SVD and the low-rank spectrum keep them. Reference: reference-svd.ts mgsRef / qrRef.
 */
import type { Gpu } from '../gpu/gpu.ts';
import { numel, shapeString, type Tensor } from '../gpu/tensor.ts';
import { mgsNormalize, mgsProject } from '../kernels/svd-qr.ts';
import { matmul } from '../kernels/matmul.ts';

/**
 * Record Y (rows, L) ← orthonormal rows spanning the same space, in place (MGS, `passes` times).
 * One dispatch per row and pass: meant for a few dozen rows. Rows that are exactly dependent on
 * earlier ones become zero.
 */
export function orthonormalizeRows(gpu: Gpu, Y: Tensor, rows: number, L: number, passes = 2): void {
  checkSize(Y, rows * L, 'orthonormalizeRows Y');
  for (let pass = 0; pass < passes; pass++) {
    for (let j = 0; j < rows - 1; j++) mgsProject(gpu, Y, rows, L, j);
    mgsNormalize(gpu, Y, rows, L);
  }
}

/**
 * Thin QR of the (L × rows) matrix whose columns are the rows of Y (rows, L), L ≥ rows:
 * Qt (rows, L) = Qᵀ with orthonormal rows, R (rows, rows) = Qᵀ·Y-columns (upper triangular up to
 * rounding), so that column j of the matrix = Σᵢ R[i, j]·Qt[i]. New tensors; Y is left unchanged.
 */
export function qrRows(gpu: Gpu, Y: Tensor, rows: number, L: number, label = 'qr'): { Qt: Tensor; R: Tensor } {
  checkSize(Y, rows * L, 'qrRows Y');
  const Qt = gpu.tensor(`${label}.Qt`, [rows * L]);
  gpu.copy(Y, Qt, rows * L * 4);
  orthonormalizeRows(gpu, Qt, rows, L);
  const R = gpu.tensor(`${label}.R`, [rows * rows]);
  // R[i, j] = q_i · y_j: (rows, L)·(rows, L)ᵀ.
  matmul(gpu, Qt, Y, R, rows, rows, L);
  return { Qt, R };
}

/** Throw unless `t` holds exactly `n` values (any shape). */
export function checkSize(t: Tensor, n: number, what: string): void {
  if (numel(t.shape) !== n) throw new Error(`${what} (${t.label}) has shape ${shapeString(t.shape)}, expected ${n} values`);
}
