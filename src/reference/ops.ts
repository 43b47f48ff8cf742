/** Plain-TS float64 references of every kernel: the ground truth the GPU is tested against. */

export type F64 = Float64Array;

/** C(M, N) = alpha · op(A) · op(B) (+ C0). Layouts as in shaders/matmul.wgsl. */
export function matmulRef(
  A: ArrayLike<number>, B: ArrayLike<number>, M: number, N: number, K: number,
  o: { aKM?: boolean; bKN?: boolean; alpha?: number; C0?: ArrayLike<number> } = {},
): F64 {
  const C = new Float64Array(M * N);
  const alpha = o.alpha ?? 1;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const a = o.aKM ? A[k * M + m] : A[m * K + k];
        const b = o.bKN ? B[k * N + n] : B[n * K + k];
        s += a * b;
      }
      C[m * N + n] = alpha * s + (o.C0 ? o.C0[m * N + n] : 0);
    }
  }
  return C;
}

/** C(M, N) = alpha·op(A)·op(B) + s·X2·op(L) (+ C0), X2 (M, R); layouts as in shaders/matmul.wgsl (main_lowrank). */
export function loraMatmulRef(
  A: ArrayLike<number>, B: ArrayLike<number>, X2: ArrayLike<number>, L: ArrayLike<number>,
  M: number, N: number, K: number, R: number, s: number,
  o: { aKM?: boolean; bKN?: boolean; lRN?: boolean; alpha?: number; C0?: ArrayLike<number> } = {},
): F64 {
  const base = matmulRef(A, B, M, N, K, { aKM: o.aKM, bKN: o.bKN, alpha: o.alpha, C0: o.C0 });
  const low = matmulRef(X2, L, M, N, R, { bKN: o.lRN });
  for (let i = 0; i < base.length; i++) base[i] += s * low[i];
  return base;
}

/** The dropout mask of shaders/dropout.wgsl: keep(i) for i < n (lowbias32 hash of i ^ seed·φ). */
export function dropoutKeepRef(n: number, p: number, seed: number): Uint8Array {
  const threshold = Math.min(0xffffffff, Math.round(p * 2 ** 32));
  const keep = new Uint8Array(n);
  const s = Math.imul(seed >>> 0, 0x9e3779b9) >>> 0;
  for (let i = 0; i < n; i++) {
    let h = (i ^ s) >>> 0;
    h ^= h >>> 16; h = Math.imul(h, 0x21f0aaad) >>> 0;
    h ^= h >>> 15; h = Math.imul(h, 0x735a2d97) >>> 0;
    h ^= h >>> 15;
    keep[i] = (h >>> 0) >= threshold ? 1 : 0;
  }
  return keep;
}
