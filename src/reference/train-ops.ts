/**
 * Plain-TS float64 references of the training ops: cross-entropy with an ignore mask (and its
 * gradient), the global gradient norm and clip scale, and one AdamW step (torch.optim.AdamW order).
 * Ground truth for shaders/{cross-entropy,cross-entropy.reduce,grad-norm,clip-scale,adamw}.wgsl.
 */

/** A target is valid iff it is an integer in 0..V−1; −1 (or −100, or anything else) is ignored. */
export function isValidTarget(t: number, V: number): boolean {
  return Number.isInteger(t) && t >= 0 && t < V;
}

export interface CrossEntropyRef {
  /** (R) per-row loss logsumexp(x_r) − x_r[t_r]; 0 for ignored rows. */
  rowLoss: Float64Array;
  /** Mean of rowLoss over the valid rows (0 when there are none). */
  loss: number;
  nValid: number;
  /** (R, V) scale · ∂loss/∂logits = (softmax(x_r) − onehot(t_r)) · scale / nValid; 0 for ignored rows. */
  dlogits: Float64Array;
}

/**
 * Cross-entropy of logits (R, V) against targets (R), mean over valid rows, and its gradient.
 *   loss = (1/n) Σ_{r valid} [log Σ_j exp(x_rj) − x_r,t_r]
 *   ∂loss/∂x_rj = (softmax(x_r)_j − [j = t_r]) / n        (0 for ignored rows)
 * logsumexp is computed as m + log Σ exp(x − m), m = max_j x_rj, so it is exact for any magnitude.
 */
export function crossEntropyRef(
  logits: ArrayLike<number>, targets: ArrayLike<number>, R: number, V: number, scale = 1,
): CrossEntropyRef {
  if (logits.length !== R * V) throw new Error(`crossEntropyRef: ${logits.length} logits for (${R}, ${V})`);
  if (targets.length !== R) throw new Error(`crossEntropyRef: ${targets.length} targets for ${R} rows`);
  const rowLoss = new Float64Array(R);
  const dlogits = new Float64Array(R * V);
  let nValid = 0;
  for (let r = 0; r < R; r++) if (isValidTarget(targets[r], V)) nValid++;
  let sum = 0;
  for (let r = 0; r < R; r++) {
    const t = targets[r];
    if (!isValidTarget(t, V)) continue;
    const base = r * V;
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, logits[base + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[base + j] - m);
    rowLoss[r] = m - logits[base + t] + Math.log(s);
    sum += rowLoss[r];
    const coef = scale / nValid;
    for (let j = 0; j < V; j++) {
      dlogits[base + j] = (Math.exp(logits[base + j] - m) / s - (j === t ? 1 : 0)) * coef;
    }
  }
  return { rowLoss, loss: nValid > 0 ? sum / nValid : 0, nValid, dlogits };
}

/** Σ g² over every element of every array. */
export function sumSquaresRef(grads: readonly ArrayLike<number>[]): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return s;
}

/**
 * The gradient multiplier of torch.nn.utils.clip_grad_norm_: min(1, maxNorm / (‖g‖ + 1e-6)).
 * maxNorm 0 (or ≤ 0, or Infinity) disables clipping: 1.
 */
export function clipScaleRef(sumSquares: number, maxNorm: number): number {
  if (!(maxNorm > 0) || maxNorm === Infinity) return 1;
  return Math.min(1, maxNorm / (Math.sqrt(sumSquares) + 1e-6));
}

/** AdamW hyperparameters (the same fields as src/kernels/optimizer.ts AdamWOptions). */
export interface AdamWRefOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count t (after incrementing, as torch's state['step']). */
  step: number;
}

/**
 * One AdamW step in place on p, m, v (torch.optim.AdamW, single-tensor path), with the gradient
 * multiplied by `clip` first:
 *   g ← clip·g;  p ← p·(1 − lr·wd)
 *   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)
 */
export function adamwStepRef(
  p: Float64Array, g: ArrayLike<number>, m: Float64Array, v: Float64Array, clip: number, o: AdamWRefOptions,
): void {
  const bc1 = 1 - Math.pow(o.beta1, o.step);
  const bc2Sqrt = Math.sqrt(1 - Math.pow(o.beta2, o.step));
  const stepSize = o.lr / bc1;
  const decay = 1 - o.lr * o.weightDecay;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] * clip;
    m[i] = o.beta1 * m[i] + (1 - o.beta1) * gi;
    v[i] = o.beta2 * v[i] + (1 - o.beta2) * gi * gi;
    p[i] = p[i] * decay - stepSize * (m[i] / (Math.sqrt(v[i]) / bc2Sqrt + o.eps));
  }
}
