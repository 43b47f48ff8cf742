/** Shared pieces of the linear-algebra tests: test matrices, accuracy measures, a printed summary. */
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { gaussian } from '../../src/linalg/random.ts';
import {
  matmul64, orthogonalityError, qrRef, reconstructionError, svdRef, type SvdRefResult,
} from '../../src/linalg/reference-svd.ts';
import { readFixture, STORIES_BIN } from '../helpers/fixtures.ts';

/** Random (rows, k) matrix with orthonormal columns (float64). */
export function randomOrthonormal(rows: number, k: number, seed: number): Float64Array {
  return qrRef(gaussian(rows * k, seed), rows, k).Q;
}

/** W = U·diag(σ)·Vᵀ (m, n) from random orthonormal U, V, built in float64 and rounded to f32. */
export function withSpectrum(m: number, n: number, sigma: readonly number[], seed: number): Float32Array {
  const k = sigma.length;
  const U = randomOrthonormal(m, k, seed), V = randomOrthonormal(n, k, seed + 1);
  const US = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) US[i * k + j] = U[i * k + j]! * sigma[j]!;
  return Float32Array.from(matmul64(US, V, m, n, k, false, true));
}

/** σ spanning 1 down to `smallest`, log-spaced, k values. */
export function logSpaced(k: number, smallest: number): number[] {
  return Array.from({ length: k }, (_, i) => smallest ** (k === 1 ? 0 : i / (k - 1)));
}

export function gaussianF32(n: number, seed: number): Float32Array {
  return Float32Array.from(gaussian(n, seed));
}

let stories: ReturnType<typeof parseLlama2c> | null = null;

/** A stories260K weight by HF tensor name, e.g. "model.layers.0.self_attn.q_proj.weight". */
export function storiesWeight(name: string): { data: Float32Array; m: number; n: number } {
  stories ??= parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
  const t = stories.tensors.get(name);
  if (!t) throw new Error(`no tensor ${name}`);
  return { data: t.data, m: t.shape[0]!, n: t.shape[1]! };
}

export interface SvdAccuracy {
  /** max |σᵢ − σᵢ_ref| / σ₁_ref. */
  sigma: number;
  /** |σ_min − σ_min_ref| / σ_min_ref. */
  sigmaMinRel: number;
  /** ‖W − U·Σ·Vᵀ‖_F / ‖W‖_F. */
  recon: number;
  /** ‖UᵀU − I‖_F and ‖VᵀV − I‖_F. */
  orthU: number;
  orthV: number;
}

/** Accuracy of a computed thin SVD (U (m, k), S, V (n, k)) of W against the float64 reference. */
export function svdAccuracy(
  W: ArrayLike<number>, m: number, n: number, got: { U: ArrayLike<number>; S: ArrayLike<number>; V: ArrayLike<number> },
  ref: SvdRefResult = svdRef(W, m, n),
): SvdAccuracy {
  const k = Math.min(m, n);
  let sigma = 0;
  for (let i = 0; i < k; i++) sigma = Math.max(sigma, Math.abs(got.S[i]! - ref.S[i]!));
  return {
    sigma: sigma / ref.S[0]!,
    sigmaMinRel: Math.abs(got.S[k - 1]! - ref.S[k - 1]!) / ref.S[k - 1]!,
    recon: reconstructionError(W, got.U, got.S, got.V, m, n, k),
    orthU: orthogonalityError(got.U, m, k).fro,
    orthV: orthogonalityError(got.V, n, k).fro,
  };
}

/** Rows of measured values, printed as one table when a test file finishes (the closing note quotes them). */
export class Report {
  private rows: string[] = [];
  constructor(private title: string) {}
  add(name: string, values: Record<string, number | string | boolean>): void {
    const cells = Object.entries(values).map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : String(v)}`);
    this.rows.push(`  ${name.padEnd(44)} ${cells.join('  ')}`);
  }
  print(): void {
    if (this.rows.length) console.log(`${this.title}\n${this.rows.join('\n')}`);
  }
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toExponential(2);
}
