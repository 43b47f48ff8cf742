/**
 * Float64 references for the SVD code, plain TS, no GPU: the ground truth.
 *   svdRef       one-sided Jacobi (Hestenes) SVD, mirroring the GPU algorithm (src/linalg/svd.ts,
 *                shaders/svd-jacobi-*.wgsl): same orientation, round-robin pair order, rotation formula.
 *   qrRef        Householder QR.        mgsRef      MGS on rows (shaders/qr-*.wgsl).
 *   svdTopKRef   randomized subspace iteration (svd.ts svdTopK), same Ω from the same seed.
 * plus the dense helpers the tests and benchmarks need (matmul64, reconstruction, orthogonality).
 */
import { gaussian } from './random.ts';

export interface SvdRefResult {
  /** (m, k) row-major, orthonormal columns, k = min(m, n). */
  U: Float64Array;
  /** (k) descending. */
  S: Float64Array;
  /** (n, k) row-major, orthonormal columns. */
  V: Float64Array;
  k: number;
  sweeps: number;
  converged: boolean;
}

export interface JacobiRefOptions {
  /** Rotate a pair while |aᵢ·aⱼ| > tol·‖aᵢ‖‖aⱼ‖. Default 1e-14. */
  tol?: number;
  /** Sweep cap. Default 60. */
  maxSweeps?: number;
  /**
   * Visit the pairs in the block order of shaders/svd-jacobi-step.block.wgsl with this many blocks
   * (blockSweepOrder) instead of the round-robin order of the row and workgroup kernels.
   */
  blocks?: number;
}

/** Index of the column at round-robin position `pos` in step `step` of a sweep over `cEven` columns. */
export function roundRobinIndex(pos: number, step: number, cEven: number): number {
  return pos === 0 ? 0 : ((pos - 1 + step) % (cEven - 1)) + 1;
}

/**
 * The Jacobi rotation that makes vectors a, b orthogonal, from α = a·a, β = b·b, γ = a·b:
 * a' = c·a − s·b = a − s·(b + τ·a), b' = s·a + c·b = b + s·(a − τ·b), with t = s/c the smaller root
 * of t² + 2ζt − 1 = 0, ζ = (β − α)/(2γ), and τ = s/(1 + c) (the form the kernels use: it keeps tiny
 * rotations orthogonal in f32, where c = 1 − t²/2 would round to 1).
 */
export function jacobiRotation(alpha: number, beta: number, gamma: number): { c: number; s: number; tau: number } {
  const zeta = (beta - alpha) / (2 * gamma);
  const az = Math.abs(zeta);
  const t = (zeta >= 0 ? 1 : -1) / (az + (az > 1e150 ? az : Math.sqrt(1 + zeta * zeta)));
  const c = 1 / Math.sqrt(1 + t * t);
  const s = c * t;
  return { c, s, tau: s / (1 + c) };
}

/**
 * Thin SVD W = U·diag(S)·Vᵀ of W (m, n) row-major by one-sided Jacobi on W itself: the min(m, n)
 * columns of W (n ≤ m) or of Wᵀ (n > m) are rotated in parallel round-robin order until every pair
 * is orthogonal to `tol`; the same rotations applied to the identity give the other factor.
 */
export function svdRef(W: ArrayLike<number>, m: number, n: number, opts: JacobiRefOptions = {}): SvdRefResult {
  const tol = opts.tol ?? 1e-14;
  const maxSweeps = opts.maxSweeps ?? 60;
  if (W.length !== m * n) throw new Error(`svdRef: ${W.length} values for (${m}, ${n})`);
  const rotateColumns = n <= m; // rotate W's columns, else Wᵀ's columns (W's rows)
  const c = Math.min(m, n), L = Math.max(m, n);
  // G: (c, L), row i = the i-th vector being rotated. R: (c, c), the accumulated rotations.
  const G = new Float64Array(c * L);
  for (let i = 0; i < c; i++) {
    for (let e = 0; e < L; e++) G[i * L + e] = rotateColumns ? W[e * n + i]! : W[i * n + e]!;
  }
  const R = new Float64Array(c * c);
  for (let i = 0; i < c; i++) R[i * c + i] = 1;

  const order = opts.blocks ? blockSweepOrder(c, opts.blocks) : roundRobinOrder(c);
  let sweeps = 0, converged = c < 2;
  while (!converged && sweeps < maxSweeps) {
    sweeps++;
    let rotations = 0;
    for (const [p, q] of order) if (rotatePair(G, L, p, q, tol, R, c)) rotations++;
    converged = rotations === 0;
  }

  const norms = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    let s = 0;
    for (let e = 0; e < L; e++) s += G[i * L + e]! ** 2;
    norms[i] = Math.sqrt(s);
  }
  const perm = Array.from({ length: c }, (_, i) => i).sort((a, b) => norms[b]! - norms[a]!);
  const S = Float64Array.from(perm, (i) => norms[i]!);
  // long: (L, c) normalised rotated vectors; short: (c, c) accumulated rotations.
  const long = new Float64Array(L * c), short = new Float64Array(c * c);
  perm.forEach((src, j) => {
    const inv = norms[src]! > 0 ? 1 / norms[src]! : 0;
    for (let e = 0; e < L; e++) long[e * c + j] = G[src * L + e]! * inv;
    for (let e = 0; e < c; e++) short[e * c + j] = R[src * c + e]!;
  });
  return rotateColumns
    ? { U: long, S, V: short, k: c, sweeps, converged }
    : { U: short, S, V: long, k: c, sweeps, converged };
}

/** The (p < q) pairs of one sweep in round-robin order: cEven − 1 steps of cEven/2 disjoint pairs. */
export function roundRobinOrder(c: number): [number, number][] {
  const cEven = c + (c % 2);
  const pairs: [number, number][] = [];
  for (let step = 0; step < cEven - 1; step++) {
    for (let k = 0; k < cEven / 2; k++) {
      const i = roundRobinIndex(k, step, cEven), j = roundRobinIndex(cEven - 1 - k, step, cEven);
      if (i < c && j < c) pairs.push([Math.min(i, j), Math.max(i, j)]);
    }
  }
  return pairs;
}

/**
 * The pairs of one sweep in the block order of shaders/svd-jacobi-step.block.wgsl: nb blocks of w
 * columns (w = ⌈c/blocks⌉, nb = ⌈c/w⌉ rounded up to even); step 0 takes the pairs inside each
 * block, steps 1 .. nb − 1 the pairs across the two blocks of each round-robin block pair.
 */
export function blockSweepOrder(c: number, blocks: number): [number, number][] {
  const w = Math.max(1, Math.ceil(c / blocks));
  let nb = Math.ceil(c / w);
  nb += nb % 2;
  const pairs: [number, number][] = [];
  for (let b = 0; b < nb; b++) {
    for (let i = b * w; i < Math.min((b + 1) * w, c); i++) for (let j = i + 1; j < Math.min((b + 1) * w, c); j++) pairs.push([i, j]);
  }
  for (let step = 0; step < nb - 1; step++) {
    for (let k = 0; k < nb / 2; k++) {
      const bp = roundRobinIndex(k, step, nb), bq = roundRobinIndex(nb - 1 - k, step, nb);
      const p0 = Math.min(bp, bq) * w, q0 = Math.max(bp, bq) * w;
      for (let i = p0; i < Math.min(p0 + w, c); i++) for (let j = q0; j < Math.min(q0 + w, c); j++) pairs.push([i, j]);
    }
  }
  return pairs;
}

/** One Hestenes rotation of rows p, q of G (c, L) and of R (c, c); false when already orthogonal to tol. */
function rotatePair(G: Float64Array, L: number, p: number, q: number, tol: number, R: Float64Array, c: number): boolean {
  let alpha = 0, beta = 0, gamma = 0;
  const op = p * L, oq = q * L;
  for (let e = 0; e < L; e++) {
    const a = G[op + e]!, b = G[oq + e]!;
    alpha += a * a;
    beta += b * b;
    gamma += a * b;
  }
  if (!(Math.abs(gamma) > tol * Math.sqrt(alpha) * Math.sqrt(beta))) return false;
  const { s: sn, tau } = jacobiRotation(alpha, beta, gamma);
  for (let e = 0; e < L; e++) {
    const a = G[op + e]!, b = G[oq + e]!;
    G[op + e] = a - sn * (b + tau * a);
    G[oq + e] = b + sn * (a - tau * b);
  }
  for (let e = 0; e < c; e++) {
    const a = R[p * c + e]!, b = R[q * c + e]!;
    R[p * c + e] = a - sn * (b + tau * a);
    R[q * c + e] = b + sn * (a - tau * b);
  }
  return true;
}

/** Thin Householder QR of A (m, n), m ≥ n: Q (m, n) with orthonormal columns, R (n, n) upper triangular, A = Q·R. */
export function qrRef(A: ArrayLike<number>, m: number, n: number): { Q: Float64Array; R: Float64Array } {
  if (m < n) throw new Error(`qrRef: needs m ≥ n, got (${m}, ${n})`);
  const a = Float64Array.from(A as ArrayLike<number>);
  const vs: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    // Householder vector v for column j below the diagonal: (I − 2vvᵀ/vᵀv) maps it to ∓‖x‖e₁.
    let norm = 0;
    for (let i = j; i < m; i++) norm += a[i * n + j]! ** 2;
    norm = Math.sqrt(norm);
    const v = new Float64Array(m - j);
    for (let i = j; i < m; i++) v[i - j] = a[i * n + j]!;
    const alpha = v[0]! >= 0 ? -norm : norm;
    v[0] = v[0]! - alpha;
    let vv = 0;
    for (const x of v) vv += x * x;
    vs.push(v);
    if (vv === 0) continue;
    for (let col = j; col < n; col++) {
      let d = 0;
      for (let i = j; i < m; i++) d += v[i - j]! * a[i * n + col]!;
      const f = (2 * d) / vv;
      for (let i = j; i < m; i++) a[i * n + col] = a[i * n + col]! - f * v[i - j]!;
    }
  }
  const R = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) R[i * n + j] = a[i * n + j]!;
  // Q = H₀·H₁·…·H_{n−1}·[I; 0], applied right to left.
  const Q = new Float64Array(m * n);
  for (let i = 0; i < n; i++) Q[i * n + i] = 1;
  for (let j = n - 1; j >= 0; j--) {
    const v = vs[j]!;
    let vv = 0;
    for (const x of v) vv += x * x;
    if (vv === 0) continue;
    for (let col = 0; col < n; col++) {
      let d = 0;
      for (let i = j; i < m; i++) d += v[i - j]! * Q[i * n + col]!;
      const f = (2 * d) / vv;
      for (let i = j; i < m; i++) Q[i * n + col] = Q[i * n + col]! - f * v[i - j]!;
    }
  }
  return { Q, R };
}

// ---- dense helpers (float64, row-major) ---------------------------------------------------------

/** C (M, N) = op(A)·op(B): A (M, K) or (K, M) when aT; B (K, N) or (N, K) when bT. */
export function matmul64(
  A: ArrayLike<number>, B: ArrayLike<number>, M: number, N: number, K: number, aT = false, bT = false,
): Float64Array {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      const a = aT ? A[k * M + i]! : A[i * K + k]!;
      if (a === 0) continue;
      const row = i * N;
      for (let j = 0; j < N; j++) C[row + j] = C[row + j]! + a * (bT ? B[j * K + k]! : B[k * N + j]!);
    }
  }
  return C;
}

/** Frobenius norm. */
export function frobenius(A: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < A.length; i++) s += A[i]! * A[i]!;
  return Math.sqrt(s);
}

/** ‖W − U·diag(S)·Vᵀ‖_F / ‖W‖_F for W (m, n), U (m, k), V (n, k). */
export function reconstructionError(
  W: ArrayLike<number>, U: ArrayLike<number>, S: ArrayLike<number>, V: ArrayLike<number>, m: number, n: number, k: number,
): number {
  const US = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) US[i * k + j] = U[i * k + j]! * S[j]!;
  const R = matmul64(US, V, m, n, k, false, true);
  for (let i = 0; i < R.length; i++) R[i] = W[i]! - R[i]!;
  return frobenius(R) / frobenius(W);
}

/** ‖QᵀQ − I‖ for Q (rows, k): Frobenius norm and largest |entry|. */
export function orthogonalityError(Q: ArrayLike<number>, rows: number, k: number): { fro: number; max: number } {
  const G = matmul64(Q, Q, k, k, rows, true, false);
  let fro = 0, max = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const d = Math.abs(G[i * k + j]! - (i === j ? 1 : 0));
      fro += d * d;
      max = Math.max(max, d);
    }
  }
  return { fro: Math.sqrt(fro), max };
}

/**
 * Modified Gram–Schmidt on the rows of Y (rows, L), in place, `passes` times (2 = MGS2, orthogonal
 * to working precision): for each j, every later row loses its component along row j; then every
 * row is scaled to unit length. Rows of norm 0 stay 0. Mirrors shaders/qr-mgs.wgsl + qr-normalize.wgsl.
 */
export function mgsRef(Y: Float64Array, rows: number, L: number, passes = 2): Float64Array {
  const dot = (a: number, b: number) => {
    let s = 0;
    for (let e = 0; e < L; e++) s += Y[a * L + e]! * Y[b * L + e]!;
    return s;
  };
  for (let pass = 0; pass < passes; pass++) {
    for (let j = 0; j < rows; j++) {
      const jj = dot(j, j);
      if (!(jj > 0)) continue;
      for (let i = j + 1; i < rows; i++) {
        const f = dot(j, i) / jj;
        for (let e = 0; e < L; e++) Y[i * L + e] = Y[i * L + e]! - f * Y[j * L + e]!;
      }
    }
    for (let i = 0; i < rows; i++) {
      const s = dot(i, i);
      if (!(s > 0)) continue;
      const inv = 1 / Math.sqrt(s);
      for (let e = 0; e < L; e++) Y[i * L + e] = Y[i * L + e]! * inv;
    }
  }
  return Y;
}

/**
 * Float64 randomized subspace iteration, the algorithm of svd.ts svdTopK step for step (same Ω from
 * `seed`, MGS2 after every product, B = Qᵀ·W, Bᵀ = Q_B·R by MGS2, Jacobi SVD of R):
 * top-k U (m, k), S (k), V (n, k).
 */
export function svdTopKRef(
  W: ArrayLike<number>, m: number, n: number, k: number, opts: { oversample?: number; powerIters?: number; seed?: number } = {},
): { U: Float64Array; S: Float64Array; V: Float64Array } {
  const l = Math.min(k + (opts.oversample ?? 10), Math.min(m, n));
  const omegaT = gaussian(l * n, opts.seed ?? 0); // Ωᵀ (l, n)
  const Qt = mgsRef(matmul64(omegaT, W, l, m, n, false, true), l, m); // (W·Ω)ᵀ (l, m)
  for (let it = 0; it < (opts.powerIters ?? 2); it++) {
    const Zt = mgsRef(matmul64(Qt, W, l, n, m), l, n); // (Wᵀ·Q)ᵀ = Qᵀ·W (l, n)
    Qt.set(mgsRef(matmul64(Zt, W, l, m, n, false, true), l, m)); // (W·Z)ᵀ = Zᵀ·Wᵀ
  }
  const Bt = matmul64(Qt, W, l, n, m); // B = Qᵀ·W (l, n): rows = columns of Bᵀ
  const QBt = mgsRef(Float64Array.from(Bt), l, n); // Q_Bᵀ (l, n)
  const R = matmul64(QBt, Bt, l, l, n, false, true); // R[i, j] = q_i·b_j
  const small = svdRef(R, l, l); // R = U_R·Σ·V_Rᵀ, so B = V_R·Σ·(Q_B·U_R)ᵀ
  const UR = new Float64Array(l * k), VR = new Float64Array(l * k);
  for (let i = 0; i < l; i++) for (let j = 0; j < k; j++) {
    UR[i * k + j] = small.U[i * l + j]!;
    VR[i * k + j] = small.V[i * l + j]!;
  }
  return { U: matmul64(Qt, VR, m, k, l, true, false), S: small.S.slice(0, k), V: matmul64(QBt, UR, n, k, l, true, false) };
}
