/**
 * MoRA's geometry: the square size r̂ and the index structure of compress/decompress, shared by the
 * adapter (src/adapters/mora.ts), the kernels (shaders/mora.*.wgsl through src/kernels/mora.ts), the
 * file format (src/io/mora-file.ts) and the float64 reference (src/reference/mora.ts).
 *
 * The semantics (padding, type 1 sharing, type 6 rotation) are written out in src/reference/mora.ts.
 */

export type MoraType = 1 | 6;

/**
 * MoRA's square size for a weight (out, in) at LoRA rank r, as the official code computes it:
 * r̂ = floor(√((in + out)·r) + 0.5), and for type 6 rounded down to even.
 */
export function moraRank(inF: number, out: number, r: number, type: MoraType): number {
  const rHat = Math.floor(Math.sqrt((inF + out) * r) + 0.5);
  return type === 6 ? rHat - (rHat % 2) : rHat;
}

/** The index structure of one MoRA module: everything but M. */
export interface MoraGeometry {
  type: MoraType;
  inF: number;
  out: number;
  rHat: number;
  /** Chunks of the padded input, ⌈in/r̂⌉. */
  nB: number;
  /** Chunks that reach the output: 1 (type 1) or min(n_b, ⌈out/r̂⌉) (type 6). */
  nU: number;
  /** Width of u and z per row, nU·r̂; also the period with which y tiles z. */
  width: number;
  /** Padded input positions p < span feed u: n_b·r̂ (type 1, all summed) or nU·r̂ (type 6). */
  span: number;
}

export function moraGeometry(inF: number, out: number, rHat: number, type: MoraType): MoraGeometry {
  if (!(Number.isInteger(inF) && inF > 0 && Number.isInteger(out) && out > 0)) throw new Error(`MoRA: bad shape (${out}, ${inF})`);
  if (!(Number.isInteger(rHat) && rHat > 0)) throw new Error(`MoRA: r̂ must be a positive integer, got ${rHat}`);
  if (type === 6 && rHat % 2 !== 0) throw new Error(`MoRA type 6 needs an even r̂, got ${rHat}`);
  const nB = Math.ceil(inF / rHat);
  const nU = type === 1 ? 1 : Math.min(nB, Math.ceil(out / rHat));
  return { type, inF, out, rHat, nB, nU, width: nU * rHat, span: (type === 1 ? nB : nU) * rHat };
}

/**
 * cos and sin of the type-6 rotation, (nU, r̂): row i holds cos(i·θ_m) for m < h, then sin(i·θ_m).
 * θ_m = 10000^(−2m/r̂) as the code's inv_freq = 1 / 10000^(arange(0, r̂, 2) / r̂).
 */
export function moraRotationTable(rHat: number, nU: number): Float64Array {
  const h = rHat / 2;
  const t = new Float64Array(nU * rHat);
  for (let i = 0; i < nU; i++) {
    for (let m = 0; m < h; m++) {
      const angle = i * Math.pow(10000, (-2 * m) / rHat);
      t[i * rHat + m] = Math.cos(angle);
      t[i * rHat + h + m] = Math.sin(angle);
    }
  }
  return t;
}
