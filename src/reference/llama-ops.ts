/**
 * Plain-TS float64 references of the LLaMA forward ops in the Hugging Face layout: the ground truth
 * for shaders/{embedding,rmsnorm.fwd,rope,attention.fwd,swiglu,add}.wgsl and the building blocks of
 * the full-model float64 reference. Row-major flat arrays; shapes in the doc comments.
 */

/** out (R, D) = table[ids[r]] for table (V, D); an id outside 0..V−1 gives a zero row. */
export function embeddingRef(ids: ArrayLike<number>, table: ArrayLike<number>, V: number, D: number): Float64Array {
  const R = ids.length;
  const out = new Float64Array(R * D);
  for (let r = 0; r < R; r++) {
    const id = ids[r];
    if (!(Number.isInteger(id) && id >= 0 && id < V)) continue;
    for (let d = 0; d < D; d++) out[r * D + d] = table[id * D + d];
  }
  return out;
}

/** out (R, D) = w ⊙ x / sqrt(mean(x²) + eps) row by row; x (R, D), w (D). */
export function rmsnormRef(x: ArrayLike<number>, w: ArrayLike<number>, R: number, D: number, eps: number): Float64Array {
  const out = new Float64Array(R * D);
  for (let r = 0; r < R; r++) {
    let ss = 0;
    for (let j = 0; j < D; j++) ss += x[r * D + j] * x[r * D + j];
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let j = 0; j < D; j++) out[r * D + j] = w[j] * (x[r * D + j] * inv);
  }
  return out;
}

/**
 * How rotary angles are computed.
 * - 'f64': θ_i = theta^(−2i/hd) and a = pos·θ_i exactly (float64) — the mathematical definition.
 * - 'f32': llama2.c run.c arithmetic, θ_i = 1.0f / powf(theta, (float)(2i) / (float)hd) and
 *   a = (float)pos · θ_i rounded to float32 (cos/sin of that angle then in float64). This is what
 *   the GPU kernel does, and what reproduces llama2.c; it differs from 'f64' by up to ~1e-7·pos rad.
 */
export type RopeAngles = 'f64' | 'f32';

const f32 = Math.fround;

/** The rotary frequency θ_i of pair i (0 ≤ i < hd/2). */
export function ropeFreq(i: number, headDim: number, theta: number, angles: RopeAngles = 'f32'): number {
  if (angles === 'f64') return Math.pow(theta, (-2 * i) / headDim);
  return f32(1 / f32(Math.pow(f32(theta), f32((2 * i) / headDim))));
}

/** The rotary angle a = pos·θ_i of pair i at position pos. */
export function ropeAngle(pos: number, i: number, headDim: number, theta: number, angles: RopeAngles = 'f32'): number {
  const freq = ropeFreq(i, headDim, theta, angles);
  return angles === 'f64' ? pos * freq : f32(pos * freq);
}

export interface RopeRefOptions {
  B: number;
  T: number;
  nHeads: number;
  headDim: number;
  /** Position of token t = 0 (the same for every batch row). */
  pos0: number;
  theta: number;
  /** Rotate by −a (the transpose; backward uses it). */
  inverse?: boolean;
  /** Default 'f32', the kernel's (and llama2.c's) arithmetic. */
  angles?: RopeAngles;
}

/**
 * HF rotate-half RoPE of x (B·T, nHeads·hd), returned as a new array: for row (b, t) at position
 * pos0 + t, head h, pair i < hd/2: (x_i, x_{i+hd/2}) → (x_i cos a − x_{i+hd/2} sin a, x_{i+hd/2} cos a + x_i sin a).
 */
export function ropeRef(x: ArrayLike<number>, o: RopeRefOptions): Float64Array {
  const { B, T, nHeads, headDim: hd, pos0, theta } = o;
  const half = hd / 2;
  const out = Float64Array.from(x as ArrayLike<number>);
  if (out.length !== B * T * nHeads * hd) throw new Error(`ropeRef: ${out.length} values for (${B}·${T}, ${nHeads}·${hd})`);
  const sgn = o.inverse ? -1 : 1;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const a = ropeAngle(pos0 + t, i, hd, theta, o.angles ?? 'f32');
      const c = Math.cos(a), s = sgn * Math.sin(a);
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < nHeads; h++) {
          const j0 = (b * T + t) * nHeads * hd + h * hd + i, j1 = j0 + half;
          const x0 = out[j0], x1 = out[j1];
          out[j0] = x0 * c - x1 * s;
          out[j1] = x1 * c + x0 * s;
        }
      }
    }
  }
  return out;
}

export interface AttentionRefOptions {
  B: number;
  /** Queries per batch row. */
  T: number;
  /** Key/value rows per batch row (the cache capacity); S ≥ pos0 + T. */
  S: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** Position of query t = 0; query t attends to keys 0 .. pos0 + t. */
  pos0: number;
}

/**
 * Causal grouped-query attention: q (B·T, nHeads·hd), k and v (B·S, nKvHeads·hd) → out (B·T, nHeads·hd).
 * Query (b, t) head h uses kv head h / (nHeads/nKvHeads) and keys s = 0..pos0+t of batch b;
 * scores (q·k)/sqrt(hd), max-subtracted softmax, out = Σ p·v. If `lse` (B·T·nHeads) is given it
 * receives log Σ_s exp(score_s) per (row, head), index (b·T + t)·nHeads + h.
 */
export function attentionRef(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, o: AttentionRefOptions, lse?: Float64Array,
): Float64Array {
  const { B, T, S, nHeads, nKvHeads, headDim: hd, pos0 } = o;
  if (nHeads % nKvHeads !== 0) throw new Error(`attentionRef: nHeads ${nHeads} is not a multiple of nKvHeads ${nKvHeads}`);
  if (S < pos0 + T) throw new Error(`attentionRef: S = ${S} < pos0 + T = ${pos0 + T}`);
  const group = nHeads / nKvHeads;
  const qStride = nHeads * hd, kvStride = nKvHeads * hd;
  const scale = 1 / Math.sqrt(hd);
  const out = new Float64Array(B * T * qStride);
  const z = new Float64Array(pos0 + T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const n = pos0 + t + 1;
      for (let h = 0; h < nHeads; h++) {
        const qBase = (b * T + t) * qStride + h * hd;
        const kvBase = b * S * kvStride + Math.floor(h / group) * hd;
        let m = -Infinity;
        for (let s = 0; s < n; s++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += q[qBase + d] * k[kvBase + s * kvStride + d];
          z[s] = dot * scale;
          m = Math.max(m, z[s]);
        }
        let sum = 0;
        for (let s = 0; s < n; s++) {
          z[s] = Math.exp(z[s] - m);
          sum += z[s];
        }
        for (let s = 0; s < n; s++) {
          const p = z[s] / sum;
          for (let d = 0; d < hd; d++) out[qBase + d] += p * v[kvBase + s * kvStride + d];
        }
        if (lse) lse[(b * T + t) * nHeads + h] = m + Math.log(sum);
      }
    }
  }
  return out;
}

/** silu(gate) ⊙ up = gate / (1 + exp(−gate)) ⊙ up, elementwise. */
export function swigluRef(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  const out = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i];
    const sig = g >= 0 ? 1 / (1 + Math.exp(-g)) : Math.exp(g) / (1 + Math.exp(g));
    out[i] = g * sig * up[i];
  }
  return out;
}

/** x + y, elementwise. */
export function addRef(x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] + y[i];
  return out;
}
