/**
 * Intruder dimensions (Shuttleworth et al., arXiv 2410.21228, "LoRA vs Full Fine-tuning: An Illusion
 * of Equivalence"; ../shared/design/METHODS.md): of the fine-tuned W = W₀ + ΔW, take the top-k left
 * singular vectors uᵢ; uᵢ is an intruder when max_j |uᵢ·u⁰ⱼ| < ε over every left singular vector u⁰ⱼ
 * of W₀ (the thin SVD's min(out, in) of them). The paper uses k = 10 and ε from 0.5 to 0.9.
 *
 * W₀ and W per method (as module-spectrum.ts): an adapter's W₀ is the frozen base weight and W its
 * merge W₀ + adapter.deltaWeight(W₀); PiSSA / MiLoRA (opts.initial): the base holds W_res, so
 * W₀ = W_res + s·B₀·A₀ and W = W_res + s·B·A; full fine-tuning (opts.original): W₀ is the weight as
 * loaded and W the trained one. W₀'s SVD goes through the same cache as the spectra (same key, same W₀).
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { AdapterTensors } from '../io/peft.ts';
import { withF32 } from '../kernels/cast.ts';
import { addInPlace } from '../kernels/elementwise.ts';
import { matmul } from '../kernels/matmul.ts';
import type { LlamaModel } from '../model/llama.ts';
import { linearName, moduleName, type LinearModule } from '../schema/tensors.ts';
import type { WeightSource } from '../io/weight-source.ts';
import type { BaseSvd } from './module-spectrum.ts';
import { svdFull, type SvdOptions } from '../linalg/svd.ts';

/** The paper's k: the fine-tuned weight's top singular vectors examined. */
export const INTRUDER_K = 10;
/** The paper's range of ε. */
export const INTRUDER_EPSILONS = [0.5, 0.6, 0.7, 0.8, 0.9] as const;

/**
 * For each of the first k columns of U (out, kU), its largest |cosine| with the columns of U0 (out, k0),
 * both row-major with orthonormal columns. A value below ε marks an intruder at that ε.
 */
export function maxCosines(U0: ArrayLike<number>, k0: number, U: ArrayLike<number>, kU: number, out: number, k: number): number[] {
  if (U0.length !== out * k0 || U.length !== out * kU) throw new Error(`maxCosines: U0 has ${U0.length} values for (${out}, ${k0}), U ${U.length} for (${out}, ${kU})`);
  if (!(k >= 0 && k <= kU)) throw new Error(`maxCosines: k = ${k} of ${kU} vectors`);
  const best: number[] = [];
  const dots = new Float64Array(k0);
  for (let i = 0; i < k; i++) {
    dots.fill(0);
    for (let r = 0; r < out; r++) {
      const x = U[r * kU + i]!;
      const row = r * k0;
      for (let j = 0; j < k0; j++) dots[j] = dots[j]! + x * U0[row + j]!;
    }
    let m = 0;
    for (let j = 0; j < k0; j++) m = Math.max(m, Math.abs(dots[j]!));
    best.push(m);
  }
  return best;
}

/** Intruders among the examined vectors at threshold ε: those whose largest |cosine| is below it. */
export function countIntruders(maxCos: readonly number[], epsilon: number): number {
  return maxCos.filter((c) => c < epsilon).length;
}

/** One module's intruder record. */
export interface ModuleIntruders {
  /** e.g. "model.layers.0.self_attn.q_proj". */
  name: string;
  /** Largest |cosine| with W₀'s left singular vectors of each of W's top-k left singular vectors, by σ descending. */
  max_cos: number[];
  /** countIntruders(max_cos, ε) for each ε of INTRUDER_EPSILONS, keyed by ε as written ("0.5"). */
  intruders: Record<string, number>;
}

export interface IntruderOptions extends SvdOptions {
  /** Vectors examined (default INTRUDER_K; capped at min(out, in)). */
  k?: number;
  /** W₀'s SVD by module name, shared with the spectra (filled on a miss). */
  baseCache?: Map<string, BaseSvd>;
  /** PiSSA / MiLoRA: the initial A₀, B₀ per module. */
  initial?: AdapterTensors;
  /** Full fine-tuning: the weights before training (host). */
  original?: WeightSource;
}

/** Left singular vectors of `W` (out, in): U (out, k) on the host, k = min(out, in); with S and V when asked. */
async function svdOf(gpu: Gpu, W: Tensor, out: number, inF: number, opts: SvdOptions): Promise<BaseSvd> {
  const r = await svdFull(gpu, W, out, inF, opts);
  try {
    return { S: r.S, U: await gpu.read(r.U), V: await gpu.read(r.V), k: r.k };
  } finally {
    gpu.release(r.U, r.V);
  }
}

/**
 * W₀ of a module (see the file comment) as a new tensor the caller releases, or undefined when the module is
 * not trained. W (out, in): the module's weight in f32.
 */
async function baseWeight(model: LlamaModel, layer: number, module: LinearModule, W: Tensor, opts: IntruderOptions): Promise<Tensor | undefined> {
  const gpu = model.gpu;
  const name = moduleName(layer, module);
  const [out, inF] = W.shape as [number, number];
  const adapter = model.adapters.get(name);
  if (!adapter) {
    const original = await opts.original?.read(linearName(layer, module)); // read again from the model's files
    return original ? gpu.upload(`${name}.W0`, [out, inF], original.data) : undefined;
  }
  const W0 = gpu.tensor(`${name}.W0`, [out, inF]);
  gpu.copy(W, W0);
  const low = adapter.lowRank();
  const init = low ? opts.initial?.get(name) : undefined;
  if (init && low) {
    const [A0, B0] = [gpu.upload(`${name}.A0`, init.A.shape, init.A.data), gpu.upload(`${name}.B0`, init.B.shape, init.B.data)];
    matmul(gpu, B0, A0, W0, out, inF, low.rank, { bKN: true, alpha: low.scale, accumulate: true });
    gpu.release(A0, B0);
  }
  return W0;
}

/**
 * The intruder record of module `module` of layer `layer` (see the file comment), or undefined when
 * the module is not trained (no adapter, and not full fine-tuning).
 */
export async function moduleIntruders(
  model: LlamaModel, layer: number, module: LinearModule, opts: IntruderOptions = {},
): Promise<ModuleIntruders | undefined> {
  const gpu = model.gpu;
  // A 16-bit base: its SVDs run on a temporary f32 copy.
  return withF32(gpu, model.param(linearName(layer, module)), (W) => intrudersOf(model, layer, module, W, opts));
}

/** moduleIntruders with W (out, in), the module's weight in f32. */
async function intrudersOf(
  model: LlamaModel, layer: number, module: LinearModule, W: Tensor, opts: IntruderOptions,
): Promise<ModuleIntruders | undefined> {
  const gpu = model.gpu;
  const name = moduleName(layer, module);
  const [out, inF] = W.shape as [number, number];
  const adapter = model.adapters.get(name);
  let base = opts.baseCache?.get(name);
  if (!base) {
    const W0 = await baseWeight(model, layer, module, W, opts);
    if (!W0) return undefined;
    try {
      base = await svdOf(gpu, W0, out, inF, opts);
    } finally {
      gpu.release(W0);
    }
    opts.baseCache?.set(name, base);
  } else if (!adapter && !opts.original) return undefined;
  // W = W₀ + ΔW: the trained weight itself (full fine-tuning) or the merge of the adapter.
  let tuned: BaseSvd;
  if (adapter) {
    const merged = adapter.deltaWeight(gpu, W); // (out, in) ΔW
    try {
      addInPlace(gpu, merged, W); // W + ΔW
      tuned = await svdOf(gpu, merged, out, inF, opts);
    } finally {
      gpu.release(merged);
    }
  } else tuned = await svdOf(gpu, W, out, inF, opts);
  const k = Math.min(opts.k ?? INTRUDER_K, tuned.k);
  const max_cos = maxCosines(base.U, base.k, tuned.U, tuned.k, out, k).map((c) => Math.fround(c));
  const intruders: Record<string, number> = {};
  for (const eps of INTRUDER_EPSILONS) intruders[String(eps)] = countIntruders(max_cos, eps);
  return { name, max_cos, intruders };
}
