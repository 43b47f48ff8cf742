/**
 * Per-module spectra of a model and its adapters (issue 4, "Spectra"): for one linear module
 * (layer, q|k|v|o|gate|up|down) the singular values of W₀, of W₀ + ΔW and of ΔW, the rank that
 * explains 90% of ΔW's variance, and where ΔW lives relative to W₀.
 *
 * Definitions (see spectra.ts for rank90, subspaceOverlap and updateOverlaps):
 *   W₀          the module's frozen base weight (out, in) as the model holds it.
 *   ΔW          adapter.deltaWeight(W₀): what the adapter adds to W₀ (LoRA s·B·A, DoRA's full
 *               re-normalised difference, MoRA's expanded square matrix, ...).
 *   delta_sigma singular values of ΔW, descending. Plain LoRA (adapter.lowRank() gives B, A): the cheap path
 *               lowRankSpectrum (QR of B and Aᵀ, SVD of the r × r core), r values. Every other
 *               adapter: the dense ΔW and the full Jacobi SVD, min(out, in) values.
 *   delta_rank90 rank90(delta_sigma): min k with Σ_{i≤k} σᵢ² ≥ 0.9·Σσ² (0 when ΔW = 0).
 *   r           the subspace size compared ("overlap_r" in the record): the adapter's rank for
 *               LoRA (ΔW's rank bound, so ΔW's top-r subspace is the whole range of B / row
 *               space of A); for adapters without a rank bound (DoRA, MoRA) r = max(1, delta_rank90).
 *               Capped at min(out, in).
 *   overlap_principal / overlap_minor
 *               updateOverlaps(W₀, ΔW, r, k = r).{principal, minor}.mean: the mean squared cosine
 *               of the principal angles between ΔW's top-r left (right) singular subspace and
 *               W₀'s top-r (bottom-r) left (right) singular subspace, averaged over the left
 *               (output) and right (input) side. 1 = the update lies inside that subspace, 0 =
 *               orthogonal to it, ≈ r/d for a random subspace of a d-dimensional side.
 *               0 when ΔW = 0 (an update with no directions lives nowhere).
 *   sigma_merged singular values of W₀ + ΔW (the merged weight), descending, min(out, in) values.
 *
 * Full fine-tuning (opts.original holds the weights before training): a module without an adapter has
 * W₀ = its original weight, ΔW = W − W₀ (dense, full SVD, min(out, in) values) and r = max(1, delta_rank90).
 *
 * PiSSA / MiLoRA (opts.initial holds the initial A₀, B₀): the model's base weight is W_res, so
 * W₀ = W_res + s·B₀·A₀ (the original weight) and ΔW = s·B·A − s·B₀·A₀ = s·[B, −B₀]·[A; A₀], rank ≤ 2r
 * (cheap path on the 2r factors while 2r ≤ min(out, in)); r stays the adapter's rank. At step 0 ΔW = 0.
 */
import type { LinearAdapter, LowRankUpdate } from '../model/linear-adapter.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { AdapterTensors } from '../io/peft.ts';
import { matmul } from '../kernels/matmul.ts';
import { axpy } from '../kernels/axpy.ts';
import { withF32 } from '../kernels/cast.ts';
import { addInPlace } from '../kernels/elementwise.ts';
import type { LlamaModel } from '../model/llama.ts';
import { linearName, moduleName, type LinearModule } from '../schema/tensors.ts';
import type { WeightSource } from '../io/weight-source.ts';
import type { ModuleSpectrum } from '../schema/metrics.ts';
import { lowRankSpectrum } from '../linalg/low-rank.ts';
import { rank90, updateOverlaps } from '../linalg/spectra.ts';
import { svdFull, svdValues, type SvdOptions } from '../linalg/svd.ts';

/** W₀'s SVD on the host, reusable across calls while W₀ does not change (e.g. during adapter training). */
export interface BaseSvd {
  S: Float32Array;
  /** (out, k) and (in, k) row-major, k = min(out, in). */
  U: Float32Array;
  V: Float32Array;
  k: number;
}

export interface ModuleSpectrumOptions extends SvdOptions {
  /** Also compute sigma_merged (an extra dense SVD). Default true. */
  merged?: boolean;
  /** Cache of W₀'s SVD by module name: filled on a miss, reused on a hit (W₀ must not change meanwhile). */
  baseCache?: Map<string, BaseSvd>;
  /** Treat the module as having no adapter even if it has one. */
  baseOnly?: boolean;
  /** PiSSA / MiLoRA: the initial A₀, B₀ per module (Trainer.spectral.initial); see the file comment. */
  initial?: AdapterTensors;
  /**
   * Full fine-tuning: the weights before training (host). A module without an adapter then has
   * W₀ = its original weight and ΔW = W − W₀ (dense, full SVD; r = max(1, delta_rank90)).
   */
  original?: WeightSource;
}

const toArray = (x: ArrayLike<number>): number[] => Array.from(x, (v) => Math.fround(v));

/** W₀'s full SVD, read back to the host. */
async function baseSvd(gpu: Gpu, W: Tensor, out: number, inF: number, opts: SvdOptions): Promise<BaseSvd> {
  const r = await svdFull(gpu, W, out, inF, opts);
  try {
    return { S: r.S, U: await gpu.read(r.U), V: await gpu.read(r.V), k: r.k };
  } finally {
    gpu.release(r.U, r.V);
  }
}

/** The spectrum record of module `module` of layer `layer` of `model` (see the file comment). */
export async function moduleSpectrum(
  gpu: Gpu, model: LlamaModel, layer: number, module: LinearModule, opts: ModuleSpectrumOptions = {},
): Promise<ModuleSpectrum> {
  const weightName = linearName(layer, module);
  // A 16-bit base: its SVDs run on a temporary f32 copy.
  return withF32(gpu, model.param(weightName), (W) => spectrumOf(gpu, model, moduleName(layer, module), weightName, W, opts));
}

/** moduleSpectrum on W (out, in), the f32 weight `weightName` of module `name`. */
async function spectrumOf(
  gpu: Gpu, model: LlamaModel, name: string, weightName: string, W: Tensor, opts: ModuleSpectrumOptions,
): Promise<ModuleSpectrum> {
  const [out, inF] = W.shape as [number, number];
  const adapter = opts.baseOnly ? undefined : model.adapters.get(name);
  const original = adapter || opts.baseOnly ? undefined : await opts.original?.read(weightName);
  if (original) return fullSpectrum(gpu, name, W, original.data, opts);
  const low = adapter?.lowRank() ?? null;
  const init = low ? opts.initial?.get(name) : undefined;
  const cached = opts.baseCache?.get(name);
  let base: BaseSvd | undefined = cached;
  let sigma: Float32Array;
  if (base) sigma = base.S;
  else if (init && low) {
    const W0 = gpu.tensor(`${name}.W0`, [out, inF]); // W_res + s·B₀·A₀
    const [A0, B0] = [gpu.upload(`${name}.A0`, init.A.shape, init.A.data), gpu.upload(`${name}.B0`, init.B.shape, init.B.data)];
    try {
      gpu.copy(W, W0);
      matmul(gpu, B0, A0, W0, out, inF, low.rank, { bKN: true, alpha: low.scale, accumulate: true });
      base = await baseSvd(gpu, W0, out, inF, opts);
    } finally {
      gpu.release(W0, A0, B0);
    }
    opts.baseCache?.set(name, base);
    sigma = base.S;
  } else if (adapter) {
    base = await baseSvd(gpu, W, out, inF, opts);
    opts.baseCache?.set(name, base);
    sigma = base.S;
  } else {
    sigma = (await svdValues(gpu, W, out, inF, opts)).S;
  }
  const record: ModuleSpectrum = { name, shape: [out, inF], sigma: toArray(sigma) };
  if (!adapter || !base) return record;

  const delta = init && low
    ? await spectralDeltaSpectrum(gpu, adapter, low, init.A.data, init.B.data, W, out, inF, opts)
    : await deltaSpectrum(gpu, adapter, W, out, inF, opts);
  withDelta(record, base, delta);
  if (opts.merged ?? true) record.sigma_merged = toArray(await mergedSigma(gpu, adapter, W, out, inF, opts));
  return record;
}

type DeltaSvd = { S: Float32Array; U: Float32Array; V: Float32Array; k: number; rank?: number };

/** Fill `record`'s ΔW fields (delta_sigma, delta_rank90, overlaps, overlap_r) from ΔW's and W₀'s SVDs. */
function withDelta(record: ModuleSpectrum, base: BaseSvd, delta: DeltaSvd): void {
  const [out, inF] = record.shape;
  const dr90 = rank90(delta.S);
  const r = Math.min(base.k, delta.rank ?? Math.max(1, dr90));
  record.delta_sigma = toArray(delta.S);
  record.delta_rank90 = dr90;
  if (dr90 === 0 || r > delta.k) {
    record.overlap_principal = 0;
    record.overlap_minor = 0;
  } else {
    const o = updateOverlaps(base, delta, out, inF, r, r);
    record.overlap_principal = o.principal.mean;
    record.overlap_minor = o.minor.mean;
  }
  record.overlap_r = r;
}

/** Full fine-tuning: W₀ = `original` (out, in) on the host, W the trained weight, ΔW = W − W₀. */
async function fullSpectrum(gpu: Gpu, name: string, W: Tensor, original: Float32Array, opts: ModuleSpectrumOptions): Promise<ModuleSpectrum> {
  const [out, inF] = W.shape as [number, number];
  let base = opts.baseCache?.get(name);
  if (!base) {
    const W0 = gpu.upload(`${name}.W0`, [out, inF], original);
    try {
      base = await baseSvd(gpu, W0, out, inF, opts);
    } finally {
      gpu.release(W0);
    }
    opts.baseCache?.set(name, base);
  }
  // ΔW = W − W₀ (out, in) on the GPU: no readback of W.
  const D = gpu.tensor(`${name}.delta`, [out, inF]);
  const W0 = gpu.upload(`${name}.W0`, [out, inF], original);
  gpu.copy(W, D);
  axpy(gpu, W0, D, -1);
  gpu.release(W0);
  let delta: DeltaSvd;
  try {
    const s = await svdFull(gpu, D, out, inF, opts);
    try {
      delta = { S: s.S, U: await gpu.read(s.U), V: await gpu.read(s.V), k: s.k };
    } finally {
      gpu.release(s.U, s.V);
    }
  } finally {
    gpu.release(D);
  }
  const record: ModuleSpectrum = { name, shape: [out, inF], sigma: toArray(base.S) };
  withDelta(record, base, delta);
  if (opts.merged ?? true) record.sigma_merged = toArray((await svdValues(gpu, W, out, inF, opts)).S);
  return record;
}

/** ΔW's singular values and vectors on the host; `rank` is the adapter's rank bound when it has one. */
async function deltaSpectrum(
  gpu: Gpu, adapter: LinearAdapter, W: Tensor, out: number, inF: number, opts: SvdOptions,
): Promise<DeltaSvd> {
  const low = adapter.lowRank();
  if (low && low.rank <= Math.min(out, inF)) {
    const r = low.rank;
    const ls = await lowRankSpectrum(gpu, low.B, low.A, low.scale, { ...opts, vectors: true, dims: { out, r, in: inF } });
    try {
      return { S: ls.S, U: await gpu.read(ls.U!), V: await gpu.read(ls.V!), k: r, rank: r };
    } finally {
      gpu.release(ls.U, ls.V);
    }
  }
  const D = adapter.deltaWeight(gpu, W);
  try {
    const d = await svdFull(gpu, D, out, inF, opts);
    try {
      const rank = low ? Math.min(low.rank, d.k) : undefined;
      return { S: d.S, U: await gpu.read(d.U), V: await gpu.read(d.V), k: d.k, rank };
    } finally {
      gpu.release(d.U, d.V);
    }
  } finally {
    gpu.release(D);
  }
}

/** PiSSA / MiLoRA: ΔW = s·[B, −B₀]·[A; A₀] (see the file comment). */
async function spectralDeltaSpectrum(
  gpu: Gpu, adapter: LinearAdapter, low: LowRankUpdate, A0: Float32Array, B0: Float32Array, W: Tensor, out: number, inF: number, opts: SvdOptions,
): Promise<DeltaSvd> {
  const r = low.rank, r2 = 2 * r;
  if (r2 <= Math.min(out, inF)) {
    const [A, B] = [await gpu.read(low.A), await gpu.read(low.B)];
    const Bc = new Float32Array(out * r2), Ac = new Float32Array(r2 * inF);
    for (let i = 0; i < out; i++) {
      for (let j = 0; j < r; j++) {
        Bc[i * r2 + j] = B[i * r + j]!;
        Bc[i * r2 + r + j] = -B0[i * r + j]!;
      }
    }
    Ac.set(A, 0);
    Ac.set(A0, r * inF);
    const [Bt, At] = [gpu.upload('spectrum.Bcat', [out, r2], Bc), gpu.upload('spectrum.Acat', [r2, inF], Ac)];
    try {
      const ls = await lowRankSpectrum(gpu, Bt, At, low.scale, { ...opts, vectors: true, dims: { out, r: r2, in: inF } });
      try {
        return { S: ls.S, U: await gpu.read(ls.U!), V: await gpu.read(ls.V!), k: r2, rank: r };
      } finally {
        gpu.release(ls.U, ls.V);
      }
    } finally {
      gpu.release(Bt, At);
    }
  }
  const D = adapter.deltaWeight(gpu, W);
  const [A0t, B0t] = [gpu.upload('spectrum.A0', [r, inF], A0), gpu.upload('spectrum.B0', [out, r], B0)];
  try {
    matmul(gpu, B0t, A0t, D, out, inF, r, { bKN: true, alpha: -low.scale, accumulate: true });
    const d = await svdFull(gpu, D, out, inF, opts);
    try {
      return { S: d.S, U: await gpu.read(d.U), V: await gpu.read(d.V), k: d.k, rank: Math.min(r, d.k) };
    } finally {
      gpu.release(d.U, d.V);
    }
  } finally {
    gpu.release(D, A0t, B0t);
  }
}

/** Singular values of W₀ + ΔW. */
async function mergedSigma(gpu: Gpu, adapter: LinearAdapter, W: Tensor, out: number, inF: number, opts: SvdOptions): Promise<Float32Array> {
  const D = adapter.deltaWeight(gpu, W);
  try {
    addInPlace(gpu, D, W); // D += W
    return (await svdValues(gpu, D, out, inF, opts)).S;
  } finally {
    gpu.release(D);
  }
}

/** Dense ΔW of a module on the host (for tests and tools): adapter.deltaWeight read back. */
export async function readDeltaWeight(model: LlamaModel, layer: number, module: LinearModule): Promise<Float32Array> {
  const gpu = model.gpu;
  const adapter = model.adapters.get(moduleName(layer, module));
  if (!adapter) throw new Error(`${moduleName(layer, module)} has no adapter`);
  const D = adapter.deltaWeight(gpu, model.param(linearName(layer, module)));
  try {
    return await gpu.read(D);
  } finally {
    gpu.release(D);
  }
}

/** The compact per-module entry appended to metrics.jsonl during training. */
export interface SpectrumSummary {
  name: string;
  delta_rank90: number;
  overlap_principal: number;
  overlap_minor: number;
  /** The first `topSigma` (default 16) singular values of ΔW. */
  delta_sigma: number[];
}

/**
 * Spectrum summaries of the adapted modules among `layers` × `modules` (modules without an adapter
 * are skipped). W₀'s SVDs go through `baseCache`, so after the first call only ΔW's spectrum is
 * computed (the cheap r × r path for LoRA); sigma_merged is not computed.
 */
export async function spectraSummary(
  model: LlamaModel, layers: readonly number[], modules: readonly LinearModule[],
  opts: ModuleSpectrumOptions & { topSigma?: number } = {},
): Promise<SpectrumSummary[]> {
  const out: SpectrumSummary[] = [];
  for (const l of layers) {
    for (const m of modules) {
      if (!model.adapters.has(moduleName(l, m)) && !opts.original) continue;
      const s = await moduleSpectrum(model.gpu, model, l, m, { ...opts, merged: false });
      out.push({
        name: s.name, delta_rank90: s.delta_rank90!, overlap_principal: s.overlap_principal!, overlap_minor: s.overlap_minor!,
        delta_sigma: s.delta_sigma!.slice(0, opts.topSigma ?? 16),
      });
    }
  }
  return out;
}

/**
 * A budgeted round of spectraSummary for training: the adapted modules among `layers` × `modules`
 * are visited round-robin from `state.cursor`, and the round stops once `budgetMs` is spent (after at
 * least one module), so a big model spreads its spectra over several rounds instead of stalling a step.
 * `opts.focus` (a module name, e.g. the one on screen) is computed first in every round it is part
 * of, whatever the budget, and the round-robin then goes on over the others.
 */
export async function spectraRound(
  model: LlamaModel, layers: readonly number[], modules: readonly LinearModule[], state: { cursor: number }, budgetMs: number,
  opts: ModuleSpectrumOptions & { topSigma?: number; focus?: string | null } = {},
): Promise<{ spectra: SpectrumSummary[]; pending: number }> {
  const { focus, ...summaryOpts } = opts;
  const all = layers.flatMap((l) => modules.filter((m) => opts.original || model.adapters.has(moduleName(l, m))).map((m) => [l, m] as const));
  const first = all.find(([l, m]) => moduleName(l, m) === focus);
  const rest = first ? all.filter((lm) => lm !== first) : all;
  const t0 = performance.now();
  const spectra: SpectrumSummary[] = first ? await spectraSummary(model, [first[0]], [first[1]], summaryOpts) : [];
  let visited = 0;
  while (visited < rest.length && (spectra.length === 0 || performance.now() - t0 < budgetMs)) {
    const [l, m] = rest[state.cursor % rest.length]!;
    state.cursor = (state.cursor + 1) % rest.length;
    visited++;
    spectra.push(...(await spectraSummary(model, [l], [m], summaryOpts)));
  }
  return { spectra, pending: all.length - spectra.length };
}
