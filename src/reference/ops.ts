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
