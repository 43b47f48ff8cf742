/**
 * Plain-TS float64 references of the LLaMA backward ops (the gradients of the forward references in
 * llama-ops.ts): ground truth for shaders/{rmsnorm.bwd*,swiglu.bwd,embedding.bwd,attention.bwd*}.wgsl.
 * Each function returns fresh gradients (the GPU wrappers' "added to" semantics are the tests' business).
 * Row-major flat arrays; shapes in the doc comments.
 */
import type { AttentionRefOptions } from './llama-ops.ts';

/**
 * Gradients of y = w ⊙ x·r, r = (mean_j x_j² + eps)^(−1/2), per row of x (R, D); w (D); dy (R, D).
 *   ∂r/∂x_k = −r³·x_k/D, so with g_j = w_j·dy_j:
 *   dx_k = Σ_j g_j ∂(x_j r)/∂x_k = r·g_k − x_k·r³/D · Σ_j g_j x_j
 *   dw_j = Σ_rows dy_j · x_j·r
 */
export function rmsnormBackwardRef(
  x: ArrayLike<number>, w: ArrayLike<number>, dy: ArrayLike<number>, R: number, D: number, eps: number,
): { dx: Float64Array; dw: Float64Array } {
  const dx = new Float64Array(R * D);
  const dw = new Float64Array(D);
  for (let row = 0; row < R; row++) {
    const o = row * D;
    let ss = 0, dot = 0;
    for (let j = 0; j < D; j++) {
      ss += x[o + j] * x[o + j];
      dot += w[j] * dy[o + j] * x[o + j];
    }
    const r = 1 / Math.sqrt(ss / D + eps);
    const c = (r * r * r * dot) / D;
    for (let j = 0; j < D; j++) {
      dx[o + j] = r * w[j] * dy[o + j] - x[o + j] * c;
      dw[j] += dy[o + j] * x[o + j] * r;
    }
  }
  return { dx, dw };
}

/** σ(g) and 1 − σ(g) without overflow or cancellation: only exp(−|g|) is taken. */
function sigmoidPair(g: number): [number, number] {
  const e = Math.exp(-Math.abs(g));
  return g >= 0 ? [1 / (1 + e), e / (1 + e)] : [e / (1 + e), 1 / (1 + e)];
}

/**
 * Gradients of out = silu(g)·u = g·σ(g)·u, elementwise, for gate g, up u and dout (all length N):
 *   dup = dout·silu(g);  dgate = dout·u·σ(g)·(1 + g·(1 − σ(g)))   (σ' = σ(1 − σ)).
 */
export function swigluBackwardRef(
  gate: ArrayLike<number>, up: ArrayLike<number>, dout: ArrayLike<number>,
): { dgate: Float64Array; dup: Float64Array } {
  const N = gate.length;
  const dgate = new Float64Array(N);
  const dup = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const g = gate[i];
    const [sig, sigNeg] = sigmoidPair(g);
    dup[i] = dout[i] * g * sig;
    dgate[i] = dout[i] * up[i] * sig * (1 + g * sigNeg);
  }
  return { dgate, dup };
}

/**
 * Gradient of out (R, D) = table[ids[r]] w.r.t. table (V, D): dtable[v] = Σ_{r: ids[r] = v} dx[r].
 * Ids outside 0..V−1 (zero rows in the forward) contribute nothing.
 */
export function embeddingBackwardRef(ids: ArrayLike<number>, dx: ArrayLike<number>, V: number, D: number): Float64Array {
  const dtable = new Float64Array(V * D);
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (!(Number.isInteger(id) && id >= 0 && id < V)) continue;
    for (let d = 0; d < D; d++) dtable[id * D + d] += dx[r * D + d];
  }
  return dtable;
}

export type AttentionBackwardRefOptions = Omit<AttentionRefOptions, 'S' | 'pos0'>;

/**
 * Gradients of causal GQA attention in the training case (pos0 = 0, S = T) — attentionRef with
 * those options — for q (B·T, nHeads·hd), k, v (B·T, nKvHeads·hd) and dout (B·T, nHeads·hd).
 * Per (b, h) with kv head g = h / (nHeads/nKvHeads), P = softmax(S) over j ≤ i, S_ij = q_i·k_j/√hd:
 *   dv_j = Σ_i P_ij dout_i;  dP_ij = dout_i·v_j;  D_i = Σ_j P_ij dP_ij (= dout_i·out_i)
 *   dS_ij = P_ij (dP_ij − D_i)  (softmax Jacobian: ∂P_ij/∂S_ik = P_ij([j = k] − P_ik))
 *   dq_i = Σ_j dS_ij k_j/√hd;  dk_j = Σ_i dS_ij q_i/√hd;  dk, dv of kv head g sum over its query heads.
 */
export function attentionBackwardRef(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dout: ArrayLike<number>, o: AttentionBackwardRefOptions,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { B, T, nHeads, nKvHeads, headDim: hd } = o;
  if (nHeads % nKvHeads !== 0) throw new Error(`attentionBackwardRef: nHeads ${nHeads} is not a multiple of nKvHeads ${nKvHeads}`);
  const group = nHeads / nKvHeads;
  const qStride = nHeads * hd, kvStride = nKvHeads * hd;
  const scale = 1 / Math.sqrt(hd);
  const dq = new Float64Array(B * T * qStride);
  const dk = new Float64Array(B * T * kvStride);
  const dv = new Float64Array(B * T * kvStride);
  const P = new Float64Array(T);
  const dP = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      for (let h = 0; h < nHeads; h++) {
        const qi = (b * T + i) * qStride + h * hd;
        const kv0 = b * T * kvStride + Math.floor(h / group) * hd;
        let m = -Infinity;
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += q[qi + d] * k[kv0 + j * kvStride + d];
          P[j] = dot * scale;
          m = Math.max(m, P[j]);
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += P[j] = Math.exp(P[j] - m);
        let Di = 0;
        for (let j = 0; j <= i; j++) {
          P[j] /= sum;
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += dout[qi + d] * v[kv0 + j * kvStride + d];
          dP[j] = dot;
          Di += P[j] * dot;
        }
        for (let j = 0; j <= i; j++) {
          const kj = kv0 + j * kvStride;
          const dS = P[j] * (dP[j] - Di) * scale;
          for (let d = 0; d < hd; d++) {
            dq[qi + d] += dS * k[kj + d];
            dk[kj + d] += dS * q[qi + d];
            dv[kj + d] += P[j] * dout[qi + d];
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}
