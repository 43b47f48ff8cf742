/**
 * Central finite differences in float64, for checking analytic (reference) gradients.
 *
 * For a scalar loss L(x), ∂L/∂x_i ≈ (L(x + h·e_i) − L(x − h·e_i)) / 2h, with truncation error
 * h²/6·|∂³L/∂x_i³| and rounding error ~ 1e-16·|L|/h. With h = 1e-6 and O(1) data both are ~1e-10,
 * so an rtol of ~1e-6 (plus a small atol for gradients near zero) is a meaningful check.
 * Typical use: L = Σ dy ⊙ f(x) (`dotLoss`), whose gradient is exactly the backward of f given dy.
 */

export interface FiniteDiffOptions {
  /** Step (default 1e-6). */
  h?: number;
  /** Only these entries of x (default: all). */
  indices?: readonly number[];
}

/**
 * ∂loss/∂x by central differences at the entries `indices` (all by default); entries not probed are NaN.
 * `x` is perturbed in place and restored exactly; `loss` must read x each call.
 */
export function finiteDiffGrad(loss: () => number, x: Float64Array, opts: FiniteDiffOptions = {}): Float64Array {
  const h = opts.h ?? 1e-6;
  const grad = new Float64Array(x.length).fill(NaN);
  const indices = opts.indices ?? Array.from({ length: x.length }, (_, i) => i);
  for (const i of indices) {
    const x0 = x[i];
    x[i] = x0 + h;
    const up = loss();
    x[i] = x0 - h;
    const down = loss();
    x[i] = x0;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/** Σ a ⊙ b: the scalar loss whose gradient w.r.t. f's output is `a`, with b = f(x). */
export function dotLoss(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`dotLoss: lengths ${a.length} and ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Up to `count` distinct indices in 0..n−1, always including 0 and n−1, deterministic in `seed`. */
export function sampleIndices(n: number, count: number, seed = 1): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>([0, n - 1]);
  let s = seed >>> 0;
  while (picked.size < count) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    picked.add(s % n);
  }
  return [...picked].sort((a, b) => a - b);
}

/**
 * Throw with the worst entry unless |analytic_i − numeric_i| ≤ atol + rtol·|numeric_i| at every probed
 * (non-NaN) entry of `numeric`. Returns the worst ratio (≤ 1 passes) for reporting.
 */
export function expectGradClose(analytic: ArrayLike<number>, numeric: ArrayLike<number>, atol: number, rtol: number, what = ''): number {
  if (analytic.length !== numeric.length) throw new Error(`${what}: length ${analytic.length} vs ${numeric.length}`);
  let worst = 0, at = -1, probed = 0;
  for (let i = 0; i < numeric.length; i++) {
    if (Number.isNaN(numeric[i])) continue;
    probed++;
    const r = Math.abs(analytic[i] - numeric[i]) / (atol + rtol * Math.abs(numeric[i]));
    if (!(r <= worst)) {
      worst = r;
      at = i;
    }
  }
  if (probed === 0) throw new Error(`${what}: no entries probed`);
  if (!(worst <= 1)) {
    throw new Error(`${what}: entry ${at} analytic ${analytic[at]} vs finite difference ${numeric[at]} (atol ${atol}, rtol ${rtol})`);
  }
  return worst;
}
