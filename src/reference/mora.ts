/**
 * MoRA in plain float64: the ground truth for shaders/mora.*.wgsl and src/adapters/mora.ts.
 *
 * A MoRA module adds y = decompress(M · compress(x)) to the base output x·Wᵀ, with one trainable
 * square M (r̂, r̂). Semantics follow the official code (kongds/MoRA, peft-mora lora/layer.py
 * `_apply_mora` / `get_delta_weight`), see ../shared/design/METHODS.md:
 *
 *   padding   x̃_p = x_{p mod in} for p < n_b·r̂, n_b = ⌈in/r̂⌉ (wrap-around: the first P channels
 *             are appended again, P = (r̂ − in mod r̂) mod r̂; the code's cat(x, x[:P]). For P > in,
 *             where the code fails, p mod in keeps wrapping.)
 *   type 1    "sharing": u = Σ_t x̃[t·r̂ : (t+1)·r̂] (one chunk of r̂), z = M·u, y_j = z_{j mod r̂}.
 *   type 6    "rotation": chunk i of x̃ is c_i = x̃[i·r̂ : (i+1)·r̂]; u_i = R_i c_i with the RoPE
 *             rotate-half of angle i·θ_m, θ_m = 10000^(−2m/r̂), h = r̂/2:
 *               (R_i c)_m = c_m cos − c_{m+h} sin,   (R_i c)_{m+h} = c_{m+h} cos + c_m sin   (m < h);
 *             z_i = M·u_i, y = concat_i(z_i) truncated to `out`, or tiled then truncated when n_b·r̂ < out.
 *             Chunks i ≥ ⌈out/r̂⌉ are truncated away, so only nU = min(n_b, ⌈out/r̂⌉) chunks are ever
 *             computed and, when in > out, only the first nU·r̂ padded input channels matter.
 *
 * Both types share one shape: u (rows, nU·r̂) is nU chunks of r̂ (type 1: nU = 1), z (rows, nU·r̂) =
 * per-chunk M·u, and y_j = z_{j mod (nU·r̂)}. That is the layout every kernel uses.
 */
import type { F64 } from './ops.ts';
import { moraRotationTable, type MoraGeometry } from '../schema/mora.ts';

/** u (rows, width) = compress(x), x (rows, in). */
export function moraCompressRef(x: ArrayLike<number>, rows: number, g: MoraGeometry): F64 {
  const { inF, rHat, nU, width, type } = g;
  const u = new Float64Array(rows * width);
  const rot = type === 6 ? moraRotationTable(rHat, nU) : null;
  const h = rHat / 2;
  for (let row = 0; row < rows; row++) {
    const xt = (p: number) => x[row * inF + (p % inF)]; // x̃_p, wrap-around padding
    if (!rot) {
      for (let p = 0; p < g.span; p++) u[row * width + (p % rHat)] += xt(p);
      continue;
    }
    for (let i = 0; i < nU; i++) {
      for (let m = 0; m < h; m++) {
        const cos = rot[i * rHat + m]!, sin = rot[i * rHat + h + m]!;
        const a = xt(i * rHat + m), b = xt(i * rHat + m + h);
        u[row * width + i * rHat + m] = a * cos - b * sin;
        u[row * width + i * rHat + m + h] = b * cos + a * sin;
      }
    }
  }
  return u;
}

/** z (rows, width) = M·u chunk by chunk: z[R, k] = Σ_m M[k, m]·u[R, m] over the rows·nU chunks R. */
export function moraApplyRef(u: ArrayLike<number>, M: ArrayLike<number>, rows: number, g: MoraGeometry): F64 {
  const n = g.rHat;
  const z = new Float64Array(rows * g.width);
  for (let R = 0; R < rows * g.nU; R++) {
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let m = 0; m < n; m++) s += M[k * n + m]! * u[R * n + m]!;
      z[R * n + k] = s;
    }
  }
  return z;
}

/** y (rows, out): y_j = z_{j mod width} (tile, then truncate to out). */
export function moraDecompressRef(z: ArrayLike<number>, rows: number, g: MoraGeometry): F64 {
  const y = new Float64Array(rows * g.out);
  for (let row = 0; row < rows; row++) {
    for (let j = 0; j < g.out; j++) y[row * g.out + j] = z[row * g.width + (j % g.width)]!;
  }
  return y;
}

/** The MoRA branch alone: decompress(M·compress(x)), (rows, out). */
export function moraForwardRef(x: ArrayLike<number>, M: ArrayLike<number>, rows: number, g: MoraGeometry): F64 {
  return moraDecompressRef(moraApplyRef(moraCompressRef(x, rows, g), M, rows, g), rows, g);
}

/** Dense ΔW (out, in) by definition: the forward map applied to the identity, ΔW[j, q] = y_j(e_q). */
export function moraDeltaRef(M: ArrayLike<number>, g: MoraGeometry): F64 {
  const eye = new Float64Array(g.inF * g.inF);
  for (let q = 0; q < g.inF; q++) eye[q * g.inF + q] = 1;
  const Y = moraForwardRef(eye, M, g.inF, g); // (in, out): row q is ΔW[:, q]
  const dW = new Float64Array(g.out * g.inF);
  for (let q = 0; q < g.inF; q++) for (let j = 0; j < g.out; j++) dW[j * g.inF + q] = Y[q * g.out + j]!;
  return dW;
}

/**
 * Gradients of L with dL/dy = dy (rows, out), by transposing each linear step of the forward:
 *   decompress y_j = z_{j mod w}           →  dz_f = Σ_{j ≡ f (mod w), j < out} dy_j          (fold)
 *   apply      z_R = M u_R                 →  dM = Σ_R dz_R u_Rᵀ,   du_R = Mᵀ dz_R
 *   compress   u = Σ_p E_p x̃_p, x̃_p = x_{p mod in}
 *              type 1: dx_q = Σ_{p < span, p ≡ q (mod in)} du_{p mod r̂}
 *              type 6: dc_i = R_iᵀ du_i (rotation by −iθ), dx_q = Σ_{p < span, p ≡ q (mod in)} dc_p
 * M does not depend on x and vice versa, so these are the whole backward.
 */
export function moraBackwardRef(
  x: ArrayLike<number>, M: ArrayLike<number>, dy: ArrayLike<number>, rows: number, g: MoraGeometry,
): { dM: F64; dx: F64 } {
  const { inF, out, rHat: n, width, nU } = g;
  const dz = new Float64Array(rows * width);
  for (let row = 0; row < rows; row++) for (let j = 0; j < out; j++) dz[row * width + (j % width)] += dy[row * out + j]!;
  const u = moraCompressRef(x, rows, g);
  const dM = new Float64Array(n * n);
  const du = new Float64Array(rows * width);
  for (let R = 0; R < rows * nU; R++) {
    for (let k = 0; k < n; k++) {
      const d = dz[R * n + k]!;
      for (let m = 0; m < n; m++) {
        dM[k * n + m] += d * u[R * n + m]!;
        du[R * n + m] += M[k * n + m]! * d;
      }
    }
  }
  // dc (rows, width): the gradient w.r.t. the (padded, chunked) input before compression.
  const dc = new Float64Array(rows * width);
  if (g.type === 1) dc.set(du);
  else {
    const rot = moraRotationTable(n, nU), h = n / 2;
    for (let row = 0; row < rows; row++) {
      for (let i = 0; i < nU; i++) {
        const o = row * width + i * n;
        for (let m = 0; m < h; m++) {
          const cos = rot[i * n + m]!, sin = rot[i * n + h + m]!;
          dc[o + m] = du[o + m]! * cos + du[o + m + h]! * sin;
          dc[o + m + h] = du[o + m + h]! * cos - du[o + m]! * sin;
        }
      }
    }
  }
  const dx = new Float64Array(rows * inF);
  for (let row = 0; row < rows; row++) {
    for (let p = 0; p < g.span; p++) dx[row * inF + (p % inF)] += dc[row * width + (p % width)]!;
  }
  return { dM, dx };
}
