/**
 * SVD on the GPU in hand-written WGSL.
 *
 *   svdFull   — full thin SVD by one-sided Jacobi (Hestenes) applied to W itself: keeps the smallest
 *               singular values accurate (MiLoRA), unlike eigen-decomposing WᵀW. Step kernels
 *               (src/kernels/svd-jacobi.ts): 'workgroup' on GPUs, 'row' / 'block' on SwiftShader.
 *   svdValues — the same iteration without accumulating the rotations: singular values only.
 *   svdTopK   — top-k triplets by randomized subspace iteration (Halko et al.), for PiSSA's fast
 *               path and large layers; the small projected problem goes through the same Jacobi.
 *
 * All matrices are float32, row-major; results are new tensors the caller releases.
 * Float64 references: reference-svd.ts svdRef, svdTopKRef.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { matmul } from '../kernels/matmul.ts';
import {
  jacobiGather, jacobiInit, jacobiLayout, jacobiNorms, jacobiSweep, jacobiVariantFor, type JacobiLayout, type JacobiVariant,
} from '../kernels/svd-jacobi.ts';
import { checkSize, orthonormalizeRows, qrRows } from './qr.ts';
import { gaussian } from './random.ts';

/**
 * Default convergence threshold: rotate a pair while |aᵢ·aⱼ| > tol·‖aᵢ‖‖aⱼ‖. In f32 a rotated pair
 * is orthogonal only to a few units of 2⁻²⁴ ≈ 6e-8, and the compensated dot products measure that
 * to about the same, so the floor is ~1e-7: 1e-7 still converges (96², 256² Gaussian: one more
 * sweep than 4e-7), 2e-7 leaves a margin for 2048-long columns, and ‖UᵀU − I‖ stays near k·1e-7.
 */
export const DEFAULT_TOL = 2e-7;
export const DEFAULT_MAX_SWEEPS = 40;

export interface SvdOptions {
  /** Convergence threshold on |aᵢ·aⱼ| / (‖aᵢ‖‖aⱼ‖). Default DEFAULT_TOL. */
  tol?: number;
  /** Sweep cap; hitting it is reported as converged = false. Default DEFAULT_MAX_SWEEPS. */
  maxSweeps?: number;
  /** Step kernel; default jacobiVariantFor(gpu, min(m, n)). */
  variant?: JacobiVariant;
  /** Called after every sweep with its largest relative off-diagonal and its rotation count. */
  onSweep?: (sweep: number, offDiagonal: number, rotations: number) => void;
}

export interface SvdValues {
  /** (k) singular values, descending. */
  S: Float32Array;
  /** Sweeps run, including the last one that found nothing left to rotate. */
  sweeps: number;
  /** false when the sweep cap was hit first. */
  converged: boolean;
  /** Largest |aᵢ·aⱼ| / (‖aᵢ‖‖aⱼ‖) seen in the last sweep. */
  offDiagonal: number;
}

export interface SvdResult extends SvdValues {
  /** (m, k) row-major, orthonormal columns (a column whose σ is exactly 0 is zero). Caller releases. */
  U: Tensor;
  /** (n, k) row-major, orthonormal columns. Caller releases. */
  V: Tensor;
  k: number;
}

/**
 * Full thin SVD W = U·diag(S)·Vᵀ of W (m, n), k = min(m, n), by one-sided Jacobi on W: the k columns
 * of W (n ≤ m) or of Wᵀ (n > m) are rotated pairwise, many disjoint pairs per dispatch, until a
 * sweep finds every pair orthogonal to `tol`; singular values are the column norms, one side's
 * vectors the normalised columns, the other's the same rotations applied to the identity.
 * One 8-byte readback per sweep tests convergence.
 */
export async function svdFull(gpu: Gpu, W: Tensor, m: number, n: number, opts: SvdOptions = {}): Promise<SvdResult> {
  const k = Math.min(m, n);
  const r = await jacobiSvd(gpu, W, m, n, opts, k);
  return { ...r, U: r.U!, V: r.V!, k };
}

/** Singular values of W (m, n) only (descending, k = min(m, n)): no rotation accumulation, no vectors. */
export async function svdValues(gpu: Gpu, W: Tensor, m: number, n: number, opts: SvdOptions = {}): Promise<SvdValues> {
  const { S, sweeps, converged, offDiagonal } = await jacobiSvd(gpu, W, m, n, opts, 0);
  return { S, sweeps, converged, offDiagonal };
}

/** Jacobi SVD of W (m, n); `keep` > 0 also gathers the first `keep` singular vector pairs (and S is cut to keep). */
async function jacobiSvd(
  gpu: Gpu, W: Tensor, m: number, n: number, opts: SvdOptions, keep: number,
): Promise<SvdValues & { U?: Tensor; V?: Tensor }> {
  if (!(m >= 1 && n >= 1)) throw new Error(`svd: empty matrix (${m}, ${n})`);
  checkSize(W, m * n, 'svd W');
  const tol = opts.tol ?? DEFAULT_TOL;
  const maxSweeps = opts.maxSweeps ?? DEFAULT_MAX_SWEEPS;
  const lay = jacobiLayout(m, n);
  const variant = opts.variant ?? jacobiVariantFor(gpu, lay.c);
  const accumulate = keep > 0;
  const G = gpu.tensor('svd.G', [lay.c, lay.Lp]);
  const Rt = gpu.tensor('svd.Rt', accumulate ? [lay.c, lay.cp] : [4]); // untouched when only S is wanted
  const stats = gpu.tensor('svd.stats', [2]);
  const norms = gpu.tensor('svd.norms', [lay.c]);
  try {
    jacobiInit(gpu, W, G, Rt, lay, accumulate);
    let sweeps = 0, converged = lay.c < 2, offDiagonal = 0;
    while (!converged && sweeps < maxSweeps) {
      sweeps++;
      gpu.clear(stats);
      jacobiSweep(gpu, G, Rt, stats, lay, tol, variant, accumulate);
      const st = await gpu.readU32(stats); // [max relative off-diagonal as f32 bits, rotations]
      offDiagonal = new Float32Array(st.buffer)[0]!;
      converged = st[1] === 0;
      opts.onSweep?.(sweeps, offDiagonal, st[1]!);
    }
    jacobiNorms(gpu, G, norms, lay);
    const sigma = await gpu.read(norms);
    const perm = sortDescending(sigma);
    const S = Float32Array.from(perm, (i) => sigma[i]!);
    if (!accumulate) return { S, sweeps, converged, offDiagonal };
    const { U, V } = gatherVectors(gpu, G, Rt, norms, perm, lay, keep);
    return { S: S.slice(0, keep), sweeps, converged, offDiagonal, U, V };
  } finally {
    gpu.release(G, Rt, stats, norms);
  }
}

/** Indices of `x` by descending value (stable). */
function sortDescending(x: Float32Array): Uint32Array {
  return Uint32Array.from(Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[b]! - x[a]! || a - b));
}

/** U (m, keep) and V (n, keep) from the rotated vectors and accumulated rotations, columns in `perm` order. */
function gatherVectors(
  gpu: Gpu, G: Tensor, Rt: Tensor, norms: Tensor, perm: Uint32Array, lay: JacobiLayout, keep: number,
): { U: Tensor; V: Tensor } {
  const permT = gpu.upload('svd.perm', [perm.length], perm);
  const longVecs = gpu.tensor(lay.columns ? 'svd.U' : 'svd.V', [lay.L, keep]);
  const shortVecs = gpu.tensor(lay.columns ? 'svd.V' : 'svd.U', [lay.c, keep]);
  jacobiGather(gpu, G, Rt, norms, permT, longVecs, shortVecs, lay, keep);
  gpu.release(permT);
  // Rotating W's columns: W·Rᵀ = U·Σ, so U = normalised G rows, V = Rt rows. Rotating rows: the reverse.
  return lay.columns ? { U: longVecs, V: shortVecs } : { U: shortVecs, V: longVecs };
}

// ---- randomized truncated SVD -----------------------------------------------------------------

export interface TopKOptions extends SvdOptions {
  /** Extra sketch columns p: the subspace has k + p columns. Default 10. */
  oversample?: number;
  /** Power iterations q: multiplications by WᵀW, each product re-orthonormalised. Default 2. */
  powerIters?: number;
  /** Seed of the Gaussian test matrix Ω. Default 0. */
  seed?: number;
}

/**
 * Top-k SVD of W (m, n) by randomized subspace iteration: Ω (n, l) Gaussian from `seed`, l = k + p,
 * Q = orth(W·Ω), then q times Q = orth(W·orth(Wᵀ·Q)), re-orthonormalising (MGS2 on the GPU) after
 * every product. The small B = Qᵀ·W (l, n) is factored Bᵀ = Q_B·R (MGS2) and R (l, l) gets the
 * Jacobi SVD R = U_R·Σ·V_Rᵀ, so B = V_R·Σ·(Q_B·U_R)ᵀ: U = Q·V_R, V = Q_B·U_R (Jacobi on l-long
 * vectors instead of n-long ones). Returns the top k triplets: U (m, k), S (k), V (n, k).
 * The error in σᵢ shrinks like (σ_{l+1}/σᵢ)^(2q+1); when l ≥ min(m, n) the result is exact.
 */
export async function svdTopK(gpu: Gpu, W: Tensor, m: number, n: number, k: number, opts: TopKOptions = {}): Promise<SvdResult> {
  checkSize(W, m * n, 'svdTopK W');
  if (!(k >= 1 && k <= Math.min(m, n))) throw new Error(`svdTopK: k = ${k} outside 1..${Math.min(m, n)}`);
  const l = Math.min(k + (opts.oversample ?? 10), Math.min(m, n));
  const q = opts.powerIters ?? 2;
  const omega = gaussian(l * n, opts.seed ?? 0);
  // Panels are kept by rows: Qt (l, m) holds the l columns of Q (m, l); Zt (l, n) those of Wᵀ·Q.
  const Omega = gpu.upload('svdTopK.Omega', [l, n], Float32Array.from(omega));
  const Qt = gpu.tensor('svdTopK.Qt', [l, m]);
  const Zt = gpu.tensor('svdTopK.Zt', [l, n]);
  let small: Awaited<ReturnType<typeof jacobiSvd>> | null = null;
  let qb: { Qt: Tensor; R: Tensor } | null = null;
  try {
    matmul(gpu, Omega, W, Qt, l, m, n); // (W·Ω)ᵀ = Ωᵀ·Wᵀ: (l, n)·(m, n)ᵀ
    orthonormalizeRows(gpu, Qt, l, m);
    for (let it = 0; it < q; it++) {
      matmul(gpu, Qt, W, Zt, l, n, m, { bKN: true }); // (Wᵀ·Q)ᵀ = Qᵀ·W: (l, m)·(m, n)
      orthonormalizeRows(gpu, Zt, l, n);
      matmul(gpu, Zt, W, Qt, l, m, n); // (W·Z)ᵀ = Zᵀ·Wᵀ
      orthonormalizeRows(gpu, Qt, l, m);
    }
    matmul(gpu, Qt, W, Zt, l, n, m, { bKN: true }); // B = Qᵀ·W: (l, n), its rows are Bᵀ's columns
    qb = qrRows(gpu, Zt, l, n, 'svdTopK.B'); // Bᵀ = Q_B·R: Q_Bᵀ (l, n), R (l, l)
    small = await jacobiSvd(gpu, qb.R, l, l, opts, k); // R = U_R·Σ·V_Rᵀ, U_R and V_R (l, k)
    const U = gpu.tensor('svdTopK.U', [m, k]);
    const V = gpu.tensor('svdTopK.V', [n, k]);
    matmul(gpu, Qt, small.V!, U, m, k, l, { aKM: true, bKN: true }); // U = Q·V_R: (l, m)ᵀ·(l, k)
    matmul(gpu, qb.Qt, small.U!, V, n, k, l, { aKM: true, bKN: true }); // V = Q_B·U_R: (l, n)ᵀ·(l, k)
    return { U, V, S: small.S.slice(0, k), k, sweeps: small.sweeps, converged: small.converged, offDiagonal: small.offDiagonal };
  } finally {
    gpu.release(Omega, Qt, Zt, qb?.Qt, qb?.R, small?.U, small?.V);
  }
}
