/**
 * `cli spectrum`: per-module singular value spectra of a model's linear weights W₀ and, with
 * --adapter, of ΔW and W₀ + ΔW with ΔW's rank90 and its overlaps with W₀'s principal / minor
 * subspaces (definitions: src/linalg/module-spectrum.ts). With --base (a fully fine-tuned --model and
 * the model it started from), W₀ is the base's weight and ΔW = W − W₀.
 */
import { attachAdapterDir } from './adapter-dir.ts';
import { readModelPath } from '../io/fs-node.ts';
import { moduleSpectrum } from '../spectra/module-spectrum.ts';
import { type ModuleSpectrum } from '../schema/metrics.ts';
import { rank90 } from '../linalg/spectra.ts';
import { loadModel } from '../model/load-checkpoint.ts';
import { ModelFileError } from '../io/errors.ts';
import { LINEAR_MODULES, type LinearModule } from '../schema/tensors.ts';
import type { WeightSource } from '../io/weight-source.ts';
import { FieldError } from '../schema/field-error.ts';
import { parseTargets } from '../schema/train-config.ts';
import { optionalString, UsageError, type Values } from './args.ts';
import { openGpu } from '../kernels/node-gpu.ts';
import { HUB_OPTIONS, resolveModelArg } from './model-arg.ts';

export const SPECTRUM_OPTIONS = {
  model: { type: 'string' }, tokenizer: { type: 'string' }, adapter: { type: 'string' }, json: { type: 'boolean' },
  layers: { type: 'string' }, modules: { type: 'string' }, base: { type: 'string' }, ...HUB_OPTIONS,
} as const;

/** "0,2,4" (or "all") → layer indices, checked against nLayers. */
export function parseLayers(spec: string | undefined, nLayers: number, flag = 'layers'): number[] {
  if (spec === undefined || spec.trim() === 'all') return Array.from({ length: nLayers }, (_, i) => i);
  const out: number[] = [];
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n >= nLayers) throw new UsageError(`--${flag}: "${raw}" is not a layer of this ${nLayers}-layer model`);
    if (!out.includes(n)) out.push(n);
  }
  if (out.length === 0) throw new UsageError(`--${flag}: give at least one layer`);
  return out;
}

/** "q,v" (or "all-linear") → modules. */
export function parseModules(spec: string | undefined, flag = 'modules'): LinearModule[] {
  if (spec === undefined) return [...LINEAR_MODULES];
  try {
    return parseTargets(spec);
  } catch (e) {
    throw new UsageError(`--${flag}: ${e instanceof FieldError ? e.problem : (e as Error).message}`);
  }
}

const fmt = (x: number | undefined, digits = 4): string => (x === undefined ? '-' : x.toPrecision(digits));

function table(records: ModuleSpectrum[], withAdapter: boolean): string {
  const head = ['module', 'shape', 'σ₁', 'σ_min', 'rank90(W)'];
  if (withAdapter) head.push('σ₁(ΔW)', 'rank90(ΔW)', 'r', 'overlap principal', 'overlap minor', 'σ₁(W+ΔW)');
  const rows = records.map((s) => {
    const row = [s.name, `${s.shape[0]}×${s.shape[1]}`, fmt(s.sigma[0]), fmt(s.sigma[s.sigma.length - 1]), String(rank90(s.sigma))];
    if (withAdapter) {
      row.push(fmt(s.delta_sigma?.[0]), s.delta_rank90 === undefined ? '-' : String(s.delta_rank90), s.overlap_r === undefined ? '-' : String(s.overlap_r),
        fmt(s.overlap_principal), fmt(s.overlap_minor), fmt(s.sigma_merged?.[0]));
    }
    return row;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

/** The --base model's weights, checked to be the same architecture as `tuned` (every tensor's shape). */
async function readBase(path: string, tuned: WeightSource): Promise<WeightSource> {
  const { base } = await readModelPath(path);
  for (const t of tuned.entries) {
    const b = base.entries.find((e) => e.name === t.name);
    if (!b) throw new ModelFileError(path, `has no tensor ${t.name}, which --model has: not the model it was fine-tuned from`, 'missing-tensor');
    if (b.shape.join() !== t.shape.join()) {
      throw new ModelFileError(path, `${t.name} is [${b.shape}], --model has [${t.shape}]: not the model it was fine-tuned from`, 'config');
    }
  }
  return base;
}

export async function runSpectrum(v: Values): Promise<void> {
  const { base } = await readModelPath(await resolveModelArg(v), optionalString(v, 'tokenizer'));
  const layers = parseLayers(optionalString(v, 'layers'), base.config.nLayers);
  const modules = parseModules(optionalString(v, 'modules'));
  const gpu = await openGpu();
  const { model } = await loadModel(gpu, base);
  const adapterDir = optionalString(v, 'adapter');
  const basePath = optionalString(v, 'base');
  if (adapterDir && basePath) throw new UsageError('give --adapter (an adapter on --model) or --base (the model --model was fully fine-tuned from), not both');
  if (adapterDir) await attachAdapterDir(model, adapterDir); // peft LoRA/DoRA or the MoRA file
  const original = basePath ? await readBase(await resolveModelArg(v, { flag: 'base' }), base) : undefined;
  const json = v.json === true;
  const records: ModuleSpectrum[] = [];
  const start = performance.now();
  for (const l of layers) {
    for (const m of modules) {
      records.push(await moduleSpectrum(gpu, model, l, m, { original }));
    }
  }
  const ms = performance.now() - start;
  if (json) process.stdout.write(`${JSON.stringify(records)}\n`);
  else process.stdout.write(table(records, !!adapterDir || !!original));
  process.stderr.write(`spectra of ${records.length} modules in ${(ms / 1000).toFixed(2)} s\n`);
  model.dispose();
  gpu.destroy();
}
