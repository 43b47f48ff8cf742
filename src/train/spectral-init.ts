/**
 * PiSSA (principal singular components, peft init_lora_weights="pissa") and MiLoRA (minor singular
 * components, arXiv 2406.09044) initialisation. Both are plain LoRA afterwards; only the start differs.
 *
 * For each target W (out, in) with s = α/r (rsLoRA α/√r) and the full SVD W = U·Σ·Vᵀ (svdFull: one-sided
 * Jacobi on W itself, on the GPU, so the smallest σ stay accurate for MiLoRA), take r triplets —
 * the TOP r (PiSSA) or the BOTTOM r of the min(out, in) (MiLoRA), kept in descending-σ order:
 *   B = U_r · diag(√(σ_r / s))  (out, r),   A = diag(√(σ_r / s)) · V_rᵀ  (r, in),
 *   W_res = W − s·B·A, written over the model's base weight on the GPU (matmul, accumulate, alpha −s).
 * The SVD and the residual run on the GPU; the √(σ/s) scaling of the r chosen columns of U and V is done
 * on the host after reading U and V back (small matrices), which also yields the host copies A₀, B₀
 * kept for the export conversion (io/peft.ts convertPissaToLora).
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { AdapterTensors } from '../io/peft.ts';
import { matmul } from '../kernels/matmul.ts';
import { svdFull, svdTopK } from '../linalg/svd.ts';
import type { LlamaModel } from '../model/llama.ts';
import { Rng } from '../model/sampling.ts';
import { linearName, moduleName, type LinearModule } from '../schema/tensors.ts';
import { loraScale } from '../schema/train-config.ts';
import { LoraAdapter, type LoraConfig } from '../adapters/lora.ts';

/** 'top' = PiSSA (principal components), 'bottom' = MiLoRA (minor components). */
export type SpectralSide = 'top' | 'bottom';

export interface SpectralInitReport {
  name: string;
  /** Jacobi sweeps of the full SVD, and whether it converged before the sweep cap. */
  sweeps: number;
  converged: boolean;
  /** The r singular values used (descending). */
  sigma: Float32Array;
}

export interface SpectralInit {
  /** Host copies of the initial A₀ (r, in) and B₀ (out, r) per module, for convertPissaToLora. */
  initial: AdapterTensors;
  reports: SpectralInitReport[];
}

/** B (out, r) and A (r, in) from host U (out, k), S (k), V (in, k) for the chosen r triplets. */
export function spectralFactors(
  U: Float32Array, S: Float32Array, V: Float32Array, out: number, inF: number, k: number, r: number, s: number, which: SpectralSide,
): { A: Float32Array; B: Float32Array; sigma: Float32Array } {
  const first = which === 'top' ? 0 : k - r;
  const A = new Float32Array(r * inF), B = new Float32Array(out * r), sigma = new Float32Array(r);
  for (let j = 0; j < r; j++) {
    const c = first + j;
    sigma[j] = S[c]!;
    const g = Math.sqrt(Math.max(S[c]!, 0) / s);
    for (let o = 0; o < out; o++) B[o * r + j] = U[o * k + c]! * g;
    for (let i = 0; i < inF; i++) A[j * inF + i] = V[i * k + c]! * g;
  }
  return { A, B, sigma };
}

/**
 * Attach a LoRA adapter with A₀ (r, in), B₀ (out, r) to module `name` and replace its base weight W
 * (out, in) by the residual W − s·B₀·A₀ (matmul accumulated into W with alpha −s), on the GPU.
 */
function attachSpectral(model: LlamaModel, name: string, W: Tensor, A0: Float32Array, B0: Float32Array, config: LoraConfig, rng: Rng): void {
  const gpu = model.gpu;
  const [out, inF] = W.shape as [number, number];
  const r = config.rank, s = loraScale(config);
  const A = gpu.upload(`${name}.lora_A`, [r, inF], A0);
  const B = gpu.upload(`${name}.lora_B`, [out, r], B0);
  matmul(gpu, B, A, W, out, inF, r, { bKN: true, alpha: -s, accumulate: true });
  model.adapters.set(name, new LoraAdapter(name, A, B, config, rng.nextU32(), gpu));
}

/**
 * The state right after initSpectralAdapters, rebuilt from its saved A₀, B₀ without an SVD: the same
 * residual weights (the same matmul on the same inputs) and the same dropout seeds. A resumed run
 * starts from this and then loads its trained A, B.
 */
export function restoreSpectralAdapters(
  model: LlamaModel, config: LoraConfig, targets: readonly LinearModule[], initial: AdapterTensors, seed = 0,
): void {
  if (model.adapters.size > 0) throw new Error('PiSSA/MiLoRA restore rewrites the base weights: load the model without an adapter');
  const rng = new Rng(seed + 1);
  for (let l = 0; l < model.config.nLayers; l++) {
    for (const m of targets) {
      const name = moduleName(l, m);
      const saved = initial.get(name);
      if (!saved) throw new Error(`the checkpoint has no initial A₀, B₀ for ${name}`);
      const W = model.promoteToF32(linearName(l, m)); // W_res is written in place: f32
      const [out, inF] = W.shape as [number, number];
      const r = config.rank;
      if (saved.A.shape.join() !== `${r},${inF}` || saved.B.shape.join() !== `${out},${r}`) {
        throw new Error(`${name}: saved A₀ [${saved.A.shape}] / B₀ [${saved.B.shape}] do not fit a rank-${r} adapter of a ${out}×${inF} weight`);
      }
      attachSpectral(model, name, W, saved.A.data, saved.B.data, config, rng);
    }
  }
  model.gpu.submit();
}

/**
 * Attach PiSSA ('top') or MiLoRA ('bottom') LoRA adapters to `targets` of every layer and replace each
 * targeted base weight by its residual W − s·B·A. The model must carry no adapters yet.
 */
export async function initSpectralAdapters(
  model: LlamaModel, config: LoraConfig, targets: readonly LinearModule[], which: SpectralSide, seed = 0,
  /** PiSSA's fast path (peft "pissa_niter_K"): randomized top-r SVD with this many power iterations; 0 = full SVD. */
  niter = 0,
  /** Called after each module's SVD: modules done, modules in all, and the module's name. */
  onModule?: (done: number, total: number, name: string) => void,
): Promise<SpectralInit> {
  if (niter > 0 && which === 'bottom') throw new Error('MiLoRA needs the smallest singular values: the randomized top-r SVD cannot give them');
  if (model.adapters.size > 0) throw new Error('PiSSA/MiLoRA init rewrites the base weights: load the model without an adapter');
  const gpu: Gpu = model.gpu;
  const rng = new Rng(seed + 1);
  const r = config.rank, s = loraScale(config);
  const initial: AdapterTensors = new Map();
  const reports: SpectralInitReport[] = [];
  for (let l = 0; l < model.config.nLayers; l++) {
    for (const m of targets) {
      const W = model.promoteToF32(linearName(l, m)); // W_res is written in place: f32
      const [out, inF] = W.shape as [number, number];
      const name = moduleName(l, m);
      const k = Math.min(out, inF);
      if (r > k) throw new Error(`rank ${r} exceeds min(out, in) = ${k} of ${name} (${out}×${inF})`);
      // Randomized: oversampling 10 (peft uses none; more is more accurate), `niter` power iterations.
      const svd = niter > 0
        ? await svdTopK(gpu, W, out, inF, r, { oversample: 10, powerIters: niter, seed: seed + l })
        : await svdFull(gpu, W, out, inF);
      let U: Float32Array, V: Float32Array;
      try {
        U = await gpu.read(svd.U);
        V = await gpu.read(svd.V);
      } finally {
        gpu.release(svd.U, svd.V);
      }
      const f = spectralFactors(U, svd.S, V, out, inF, svd.S.length, r, s, which);
      attachSpectral(model, name, W, f.A, f.B, config, rng);
      initial.set(name, { A: { shape: [r, inF], data: f.A }, B: { shape: [out, r], data: f.B } });
      reports.push({ name, sweeps: svd.sweeps, converged: svd.converged, sigma: f.sigma });
      onModule?.(reports.length, model.config.nLayers * targets.length, name);
    }
  }
  gpu.submit();
  return { initial, reports };
}
