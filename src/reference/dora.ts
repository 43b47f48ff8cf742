/**
 * DoRA in plain float64, the ground truth for src/kernels/dora.ts and src/adapters/dora.ts.
 *
 * One module with base W (out, in), A (r, in), B (out, r), magnitude m (out), s = α/r:
 *   V = W + s·B·A (out, in);  n_j = ‖V_j‖₂ (per output row), DETACHED: a constant for gradients.
 *   g = m / n (out).
 * peft's forward (variants.py DoraLinearVariant + dora.py DoraLinearLayer), xd = drop(x):
 *   y = x·Wᵀ + (g − 1) ⊙ (xd·Wᵀ) + g ⊙ s·(xd·Aᵀ)·Bᵀ
 *     = (x − xd)·Wᵀ + g ⊙ z,   z = xd·Wᵀ + s·(xd·Aᵀ)·Bᵀ = xd·Vᵀ.
 *   Without dropout (or at inference) xd = x and y = g ⊙ (x·Vᵀ): the merged weight is W' = g ⊙ V.
 * Backward (n constant), dz = g ⊙ dy:
 *   dm_j = Σ_i dy_ij · z_ij / n_j
 *   dB = s·dzᵀ·(xd·Aᵀ);  dA = s·(dz·B)ᵀ·xd
 *   dxd = dz·V − dy·W  (from g⊙z and −xd·Wᵀ);  dx = dy·W + drop'(dxd)   (= dz·V without dropout)
 */
import { matmulRef, type F64 } from './ops.ts';

export interface DoraShape {
  rows: number;
  out: number;
  inF: number;
  r: number;
  s: number;
}

/** V = W + s·B·A (out, in). */
export function doraAdaptedRef(W: ArrayLike<number>, A: ArrayLike<number>, B: ArrayLike<number>, out: number, inF: number, r: number, s: number): F64 {
  return matmulRef(B, A, out, inF, r, { bKN: true, alpha: s, C0: W });
}

/** n (out) = ‖W + s·B·A‖ per row. */
export function doraNormRef(W: ArrayLike<number>, A: ArrayLike<number>, B: ArrayLike<number>, out: number, inF: number, r: number, s: number): F64 {
  const V = doraAdaptedRef(W, A, B, out, inF, r, s);
  const n = new Float64Array(out);
  for (let j = 0; j < out; j++) {
    let acc = 0;
    for (let k = 0; k < inF; k++) acc += V[j * inF + k]! ** 2;
    n[j] = Math.sqrt(acc);
  }
  return n;
}

/** drop(x) = keep ⊙ x / (1 − p), or x itself without a mask. */
export function dropRef(x: ArrayLike<number>, keep: Uint8Array | null, p: number): F64 {
  const xd = Float64Array.from(x);
  if (keep) for (let i = 0; i < xd.length; i++) xd[i] = keep[i] ? xd[i]! / (1 - p) : 0;
  return xd;
}

export interface DoraParams {
  W: ArrayLike<number>;
  A: ArrayLike<number>;
  B: ArrayLike<number>;
  m: ArrayLike<number>;
  /** The detached norm; computed from W, A, B when absent (finite differences pass it frozen). */
  n?: ArrayLike<number>;
  /** Dropout keep mask over x (rows·in) and its probability; null = no dropout. */
  keep?: Uint8Array | null;
  p?: number;
}

/** y (rows, out) and z = xd·Vᵀ (rows, out), n (out) for x (rows, in). */
export function doraForwardRef(x: ArrayLike<number>, P: DoraParams, d: DoraShape): { y: F64; z: F64; n: F64 } {
  const { rows, out, inF, r, s } = d;
  const n = P.n ? Float64Array.from(P.n) : doraNormRef(P.W, P.A, P.B, out, inF, r, s);
  const xd = dropRef(x, P.keep ?? null, P.p ?? 0);
  const V = doraAdaptedRef(P.W, P.A, P.B, out, inF, r, s);
  const z = matmulRef(xd, V, rows, out, inF); // xd·Vᵀ
  const y = new Float64Array(rows * out);
  const base = P.keep ? matmulRef(x, P.W, rows, out, inF) : null; // x·Wᵀ
  const based = P.keep ? matmulRef(xd, P.W, rows, out, inF) : null; // xd·Wᵀ
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < out; j++) {
      const e = i * out + j;
      y[e] = (base ? base[e]! - based![e]! : 0) + (P.m[j]! / n[j]!) * z[e]!;
    }
  }
  return { y, z, n };
}

/** Gradients of Σ dy ⊙ y with n held constant. */
export function doraBackwardRef(x: ArrayLike<number>, dy: ArrayLike<number>, P: DoraParams, d: DoraShape): { dx: F64; dA: F64; dB: F64; dm: F64 } {
  const { rows, out, inF, r, s } = d;
  const { z, n } = doraForwardRef(x, P, d);
  const keep = P.keep ?? null, p = P.p ?? 0;
  const xd = dropRef(x, keep, p);
  const dz = new Float64Array(rows * out);
  const dm = new Float64Array(out);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < out; j++) {
      const e = i * out + j;
      dz[e] = (dy[e]! * P.m[j]!) / n[j]!;
      dm[j] += (dy[e]! * z[e]!) / n[j]!;
    }
  }
  const xa = matmulRef(xd, P.A, rows, r, inF); // (rows, r)
  const dB = matmulRef(dz, xa, out, r, rows, { aKM: true, bKN: true, alpha: s });
  const gB = matmulRef(dz, P.B, rows, r, out, { bKN: true }); // dz·B (rows, r)
  const dA = matmulRef(gB, xd, r, inF, rows, { aKM: true, bKN: true, alpha: s });
  const V = doraAdaptedRef(P.W, P.A, P.B, out, inF, r, s);
  const dxd = matmulRef(dz, V, rows, inF, out, { bKN: true }); // dz·V
  if (!keep) return { dx: dxd, dA, dB, dm };
  const dyW = matmulRef(dy, P.W, rows, inF, out, { bKN: true });
  const dx = new Float64Array(rows * inF);
  for (let e = 0; e < dx.length; e++) dx[e] = dyW[e]! + (keep[e] ? (dxd[e]! - dyW[e]!) / (1 - p) : 0);
  return { dx, dA, dB, dm };
}

/** ΔW (out, in) = (m/n) ⊙ (W + s·B·A) − W. */
export function doraDeltaRef(P: DoraParams, out: number, inF: number, r: number, s: number): F64 {
  const n = P.n ? P.n : doraNormRef(P.W, P.A, P.B, out, inF, r, s);
  const V = doraAdaptedRef(P.W, P.A, P.B, out, inF, r, s);
  for (let j = 0; j < out; j++) for (let k = 0; k < inF; k++) V[j * inF + k] = (P.m[j]! / n[j]!) * V[j * inF + k]! - P.W[j * inF + k]!;
  return V;
}
