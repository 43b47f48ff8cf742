/**
 * Any update as a standard LoRA (as peft's convert_to_lora): each module's dense ΔW (out, in) is
 * factored by SVD, ΔW ≈ B·A with B = U_r·√Σ_r (out, r), A = √Σ_r·V_rᵀ (r, in), keeping the top
 * `rank` triplets or the fewest whose Σσ² reaches `energy` of the total. Every module is written at
 * the largest kept rank (zero-padded: the padding adds nothing to B·A), with lora_alpha = r (s = 1).
 */
import type { Gpu } from '../gpu/gpu.ts';
import { writePeftAdapter, type AdapterTensors } from '../io/peft.ts';
import { svdFull } from '../linalg/svd.ts';
import type { LlamaConfig } from '../schema/llama-config.ts';
import { LINEAR_MODULES, moduleName, moduleShape, type LinearModule } from '../schema/tensors.ts';

/** One module's update. */
export interface DenseUpdate {
  out: number;
  in: number;
  /** ΔW (out, in) row-major. */
  data: Float32Array;
}

export type Truncation = { rank: number } | { energy: number };

/** What the conversion kept of one module, as stored in conversion.json. */
export interface ModuleConversion {
  name: string;
  /** Singular triplets kept (before padding to the file's r). */
  rank: number;
  /** ‖ΔW − B·A‖_F / ‖ΔW‖_F (0 for a zero update). */
  relative_error: number;
  /** Σ_{i≤rank} σᵢ² / Σσᵢ² (1 for a zero update). */
  energy_kept: number;
}

export interface LoraConversion {
  r: number;
  tensors: AdapterTensors;
  targets: LinearModule[];
  modules: ModuleConversion[];
}

export const CONVERSION_FILE = 'conversion.json';

/** How many triplets of `sigma` (descending) the truncation keeps. */
export function keptRank(sigma: ArrayLike<number>, t: Truncation): number {
  if ('rank' in t) return Math.min(t.rank, sigma.length);
  let total = 0;
  for (let i = 0; i < sigma.length; i++) total += sigma[i]! ** 2;
  if (total === 0) return 0;
  let acc = 0;
  for (let i = 0; i < sigma.length; i++) {
    acc += sigma[i]! ** 2;
    if (acc >= t.energy * total) return i + 1;
  }
  return sigma.length;
}

/** Factor every update (keyed by module name) on the GPU; modules of a targeted kind without an update get zero factors. */
export async function convertToLora(gpu: Gpu, c: LlamaConfig, updates: ReadonlyMap<string, DenseUpdate>, t: Truncation): Promise<LoraConversion> {
  if ('rank' in t && !(Number.isInteger(t.rank) && t.rank >= 1)) throw new Error(`--rank must be a whole number ≥ 1, got ${t.rank}`);
  if ('energy' in t && !(t.energy > 0 && t.energy <= 1)) throw new Error(`--energy must be in (0, 1], got ${t.energy}`);
  const factors = new Map<string, { B: Float32Array; A: Float32Array; rank: number; d: DenseUpdate }>();
  const modules: ModuleConversion[] = [];
  for (const [name, d] of updates) {
    if (d.data.length !== d.out * d.in) throw new Error(`${name}: ΔW has ${d.data.length} values, expected ${d.out}×${d.in}`);
    const W = gpu.upload(`${name}.delta`, [d.out, d.in], d.data);
    const svd = await svdFull(gpu, W, d.out, d.in);
    try {
      const [U, V] = [await gpu.read(svd.U), await gpu.read(svd.V)]; // U (out, k), V (in, k)
      const rank = keptRank(svd.S, t);
      const B = new Float32Array(d.out * rank); // (out, rank)
      const A = new Float32Array(rank * d.in); // (rank, in)
      for (let j = 0; j < rank; j++) {
        const s = Math.sqrt(svd.S[j]!);
        for (let o = 0; o < d.out; o++) B[o * rank + j] = U[o * svd.k + j]! * s;
        for (let i = 0; i < d.in; i++) A[j * d.in + i] = V[i * svd.k + j]! * s;
      }
      factors.set(name, { B, A, rank, d });
      let total = 0;
      let kept = 0;
      for (let j = 0; j < svd.k; j++) {
        total += svd.S[j]! ** 2;
        if (j < rank) kept += svd.S[j]! ** 2;
      }
      modules.push({ name, rank, relative_error: relativeError(d, B, A, rank), energy_kept: total > 0 ? kept / total : 1 });
    } finally {
      gpu.release(W, svd.U, svd.V);
    }
  }
  const r = Math.max(1, ...[...factors.values()].map((f) => f.rank));
  const targets = LINEAR_MODULES.filter((m) => [...updates.keys()].some((n) => n.endsWith(`.${m}_proj`)));
  const tensors: AdapterTensors = new Map();
  for (let l = 0; l < c.nLayers; l++) {
    for (const m of targets) {
      const name = moduleName(l, m);
      const f = factors.get(name);
      const [out, inF] = f ? [f.d.out, f.d.in] : moduleShape(c, m);
      const A = new Float32Array(r * inF);
      const B = new Float32Array(out * r);
      if (f) {
        A.set(f.A); // rows past f.rank stay zero
        for (let o = 0; o < out; o++) for (let j = 0; j < f.rank; j++) B[o * r + j] = f.B[o * f.rank + j]!;
      }
      tensors.set(name, { A: { shape: [r, inF], data: A }, B: { shape: [out, r], data: B } });
    }
  }
  return { r, tensors, targets, modules };
}

/** adapter_config.json, adapter_model.safetensors and conversion.json of a conversion. */
export function convertedLoraFiles(conv: LoraConversion, c: LlamaConfig, baseModelName: string, source: Record<string, unknown>): Map<string, Uint8Array> {
  const files = writePeftAdapter(
    { r: conv.r, loraAlpha: conv.r, loraDropout: 0, targetModules: conv.targets, useRslora: false, useDora: false, baseModelName },
    conv.tensors, c,
  );
  const report = { ...source, r: conv.r, lora_alpha: conv.r, max_relative_error: maxRelativeError(conv), modules: conv.modules };
  files.set(CONVERSION_FILE, new TextEncoder().encode(JSON.stringify(report, null, 2) + '\n'));
  return files;
}

/** The worst module's relative error (0 without modules). */
export const maxRelativeError = (conv: LoraConversion): number => Math.max(0, ...conv.modules.map((m) => m.relative_error));

/** ‖ΔW − B·A‖_F / ‖ΔW‖_F in float64. */
function relativeError(d: DenseUpdate, B: Float32Array, A: Float32Array, rank: number): number {
  let num = 0;
  let den = 0;
  for (let o = 0; o < d.out; o++) {
    for (let i = 0; i < d.in; i++) {
      let ba = 0;
      for (let j = 0; j < rank; j++) ba += B[o * rank + j]! * A[j * d.in + i]!;
      const w = d.data[o * d.in + i]!;
      num += (w - ba) ** 2;
      den += w * w;
    }
  }
  return den > 0 ? Math.sqrt(num / den) : 0;
}
