/**
 * Spectral measures of weights and updates, on host arrays (the GPU computes the SVDs; these are
 * cheap reductions of what it reads back).
 *
 *   rank90(σ)          min{k : Σ_{i≤k} σᵢ² ≥ 0.9·Σσ²}, the rank explaining 90% of the variance.
 *   subspaceOverlap    ‖U_aᵀ·U_b‖_F² / min(k_a, k_b) ∈ [0, 1] for orthonormal column blocks:
 *                      1 when the smaller subspace lies inside the larger, 0 when orthogonal;
 *                      two random subspaces of a d-dimensional space give about max(k_a, k_b)/d.
 *   updateOverlaps     where ΔW lives relative to W₀: the overlap of ΔW's top-k left singular
 *                      subspace with W₀'s principal-r and minor-r left singular subspaces, and the
 *                      same on the right; `mean` is the average of the two sides (ΔW = s·B·A moves
 *                      both the output space, through B, and the input space, through A).
 */

/** The rank that explains `fraction` (default 0.9) of Σσ²: 0 for an all-zero spectrum. */
export function rank90(sigma: ArrayLike<number>, fraction = 0.9): number {
  let total = 0;
  for (let i = 0; i < sigma.length; i++) total += sigma[i]! ** 2;
  if (!(total > 0)) return 0;
  // σ may arrive in any order: accumulate the largest first.
  const sq = Array.from(sigma, (x) => x * x).sort((a, b) => b - a);
  let acc = 0;
  for (let k = 0; k < sq.length; k++) {
    acc += sq[k]!;
    if (acc >= fraction * total * (1 - 1e-12)) return k + 1;
  }
  return sq.length;
}

/** Columns [from, to) of a row-major (rows, cols) matrix, e.g. the first r columns of U (m, k). */
export interface ColumnBlock {
  data: ArrayLike<number>;
  rows: number;
  cols: number;
  from: number;
  to: number;
}

/** The whole of a row-major (rows, cols) matrix as a column block. */
export function columns(data: ArrayLike<number>, rows: number, cols: number, from = 0, to = cols): ColumnBlock {
  if (data.length !== rows * cols) throw new Error(`columns: ${data.length} values for (${rows}, ${cols})`);
  if (!(0 <= from && from <= to && to <= cols)) throw new Error(`columns: [${from}, ${to}) outside 0..${cols}`);
  return { data, rows, cols, from, to };
}

/**
 * ‖U_aᵀ·U_b‖_F² / min(k_a, k_b) for two blocks of orthonormal columns of the same length d
 * (k = to − from): the mean squared cosine of the principal angles between the two subspaces.
 */
export function subspaceOverlap(a: ColumnBlock, b: ColumnBlock): number {
  if (a.rows !== b.rows) throw new Error(`subspaceOverlap: ${a.rows} vs ${b.rows} rows`);
  const ka = a.to - a.from, kb = b.to - b.from;
  if (ka === 0 || kb === 0) return 0;
  let sum = 0;
  const dots = new Float64Array(kb);
  for (let i = a.from; i < a.to; i++) {
    dots.fill(0);
    for (let r = 0; r < a.rows; r++) {
      const x = a.data[r * a.cols + i]!;
      if (x === 0) continue;
      const row = r * b.cols + b.from;
      for (let j = 0; j < kb; j++) dots[j] = dots[j]! + x * b.data[row + j]!;
    }
    for (let j = 0; j < kb; j++) sum += dots[j]! ** 2;
  }
  return sum / Math.min(ka, kb);
}

export interface SideOverlaps {
  left: number;
  right: number;
  /** (left + right) / 2. */
  mean: number;
}

/**
 * Overlaps of ΔW's top-k singular subspaces with W₀'s principal-r and minor-r ones.
 * Uw (out, kw) and Vw (in, kw): W₀'s singular vectors in descending order (kw = min(out, in));
 * Ud (out, kd) and Vd (in, kd): ΔW's, descending; only their first k columns are used.
 */
export function updateOverlaps(
  w: { U: ArrayLike<number>; V: ArrayLike<number>; k: number },
  d: { U: ArrayLike<number>; V: ArrayLike<number>; k: number },
  out: number, inF: number, r: number, k = r,
): { principal: SideOverlaps; minor: SideOverlaps } {
  if (r > w.k || k > d.k) throw new Error(`updateOverlaps: r = ${r} of ${w.k} base vectors, k = ${k} of ${d.k} update vectors`);
  const side = (Uw: ArrayLike<number>, Ud: ArrayLike<number>, rows: number, from: number): number =>
    subspaceOverlap(columns(Ud, rows, d.k, 0, k), columns(Uw, rows, w.k, from, from + r));
  const both = (from: number): SideOverlaps => {
    const left = side(w.U, d.U, out, from), right = side(w.V, d.V, inF, from);
    return { left, right, mean: (left + right) / 2 };
  };
  return { principal: both(0), minor: both(w.k - r) };
}
