/**
 * Reading an adapter the user hands the studio — one .zip (our export, or any peft LoRA/DoRA adapter
 * zipped) or the loose adapter_config.json + adapter_model.safetensors — and checking it against the
 * loaded model before anything touches the GPU. Pure: bytes in, validated host tensors and a summary
 * out; every failure is a ModelFileError naming the file (and the key or tensor) at fault.
 *
 * The files go through the same readers as the CLI's `--adapter` (readPeftAdapter, readMoraAdapter);
 * this module only unpacks, routes by peft_type and adds the base-model name to shape errors.
 */
import { ModelFileError } from '../io/errors.ts';
import { baseName, type ModelFile } from '../io/load-model.ts';
import { readMoraAdapter, type MoraAdapterConfig, type MoraTensors } from '../io/mora-file.ts';
import type { ImportedAdapter } from '../schema/imported-adapter.ts';
import {
  ADAPTER_CONFIG, ADAPTER_WEIGHTS, adapterPeftType, allModuleNames, parseJsonFile, readPeftAdapter, requireFile,
  type AdapterTensors, type PeftAdapterConfig,
} from '../io/peft.ts';
import { readZip } from '../io/zip.ts';
import type { LlamaConfig } from '../schema/llama-config.ts';

/** A checked adapter with its host tensors, ready to attach to a model of the config it was checked against. */
export type CheckedAdapter =
  | { kind: 'peft'; config: PeftAdapterConfig; tensors: AdapterTensors; summary: ImportedAdapter }
  | { kind: 'mora'; config: MoraAdapterConfig; tensors: MoraTensors; summary: ImportedAdapter };

/** File names that belong to an adapter directory (adapter_model.bin only to be refused with a hint). */
const ADAPTER_FILE_NAMES = new Set([ADAPTER_CONFIG, ADAPTER_WEIGHTS, 'adapter_model.bin']);

const isZip = (name: string): boolean => name.toLowerCase().endsWith('.zip');

const listed = (files: readonly ModelFile[]): string => files.map((f) => f.name).join(', ') || 'none';

/**
 * The adapter files among what the user gave: a single .zip is unpacked (entries named
 * "<zip>/<entry>", other entries such as README.md ignored); loose files must all be adapter files.
 */
export function adapterFiles(given: readonly ModelFile[]): ModelFile[] {
  if (given.length === 0) throw new ModelFileError(ADAPTER_CONFIG, 'no files given: pick one .zip, or adapter_config.json with adapter_model.safetensors', 'missing-file');
  const zips = given.filter((f) => isZip(f.name));
  if (zips.length > 0 && given.length > 1) {
    throw new ModelFileError(zips[0]!.name, `give one .zip on its own, or the loose adapter files without a .zip (files given: ${listed(given)})`, 'format');
  }
  if (zips.length === 1) return unzipAdapter(zips[0]!);
  for (const f of given) {
    if (!ADAPTER_FILE_NAMES.has(baseName(f.name))) {
      throw new ModelFileError(f.name, `not an adapter file: expected ${ADAPTER_CONFIG} and ${ADAPTER_WEIGHTS}, or one .zip holding them`, 'format');
    }
  }
  refuseDuplicates(given, 'the files given');
  return [...given];
}

/** The adapter entries of a ZIP archive, as ModelFiles named "<zip>/<entry>". */
function unzipAdapter(zip: ModelFile): ModelFile[] {
  let entries;
  try {
    entries = readZip(zip.bytes);
  } catch (e) {
    throw new ModelFileError(zip.name, `cannot be read as a ZIP archive: ${(e as Error).message}`, 'format');
  }
  const files = entries
    .filter((e) => !e.name.endsWith('/') && !e.name.split('/').includes('__MACOSX') && ADAPTER_FILE_NAMES.has(baseName(e.name)))
    .map((e) => ({ name: `${zip.name}/${e.name}`, bytes: e.bytes }));
  const has = (n: string): boolean => files.some((f) => baseName(f.name) === n);
  const names = entries.map((e) => e.name).join(', ') || 'no entries';
  if (!has(ADAPTER_CONFIG)) throw new ModelFileError(zip.name, `holds no ${ADAPTER_CONFIG} (entries: ${names})`, 'missing-file');
  if (!has(ADAPTER_WEIGHTS)) {
    const hint = has('adapter_model.bin') ? '; adapter_model.bin (pickle) is not supported: save with safe_serialization=True' : '';
    throw new ModelFileError(zip.name, `holds no ${ADAPTER_WEIGHTS} (entries: ${names})${hint}`, 'missing-file');
  }
  refuseDuplicates(files, zip.name);
  return files;
}

/** One adapter at a time: two adapter_config.json (say, in two folders) are ambiguous. */
function refuseDuplicates(files: readonly ModelFile[], where: string): void {
  for (const n of ADAPTER_FILE_NAMES) {
    const same = files.filter((f) => baseName(f.name) === n);
    if (same.length > 1) {
      throw new ModelFileError(same[1]!.name, `${where} hold${where.endsWith('.zip') ? 's' : ''} ${same.length} files named ${n} (${listed(same)}); import one adapter at a time`, 'format');
    }
  }
}

/**
 * Read and check the adapter in `given` against `model` (a model named `modelName`, compared with the
 * adapter's base_model_name_or_path). Shape and module errors come from the peft/MoRA readers and name
 * the file and tensor; when the names differ too, the error says which model the adapter was made for.
 */
export function checkAdapter(given: readonly ModelFile[], model: LlamaConfig, modelName = ''): CheckedAdapter {
  const files = adapterFiles(given);
  const cfgFile = requireFile(files, ADAPTER_CONFIG);
  const cfg = parseJsonFile(cfgFile);
  checkTargetEntries(cfg.target_modules, cfgFile.name, model);
  const rawBase = cfg.base_model_name_or_path;
  const base = typeof rawBase === 'string' ? rawBase : '';
  const otherBase = base !== '' && modelName !== '' && !sameModelName(base, modelName);
  const fileNames = files.map((f) => f.name);
  try {
    if (adapterPeftType(files) === 'MORA') {
      const { config, tensors } = readMoraAdapter(files, model);
      return { kind: 'mora', config, tensors, summary: moraSummary(config, tensors, fileNames, warnings(otherBase, base, modelName)) };
    }
    const { config, tensors } = readPeftAdapter(files, model);
    return { kind: 'peft', config, tensors, summary: peftSummary(config, tensors, fileNames, warnings(otherBase, base, modelName)) };
  } catch (e) {
    if (e instanceof ModelFileError && otherBase && (e.code === 'config' || e.code === 'missing-tensor')) {
      throw new ModelFileError(e.file, `${e.problem} — the adapter was made for "${base}" (base_model_name_or_path), not the loaded model "${modelName}"`, e.code);
    }
    throw e;
  }
}

/**
 * peft ignores list entries of target_modules that match nothing as long as one matches; here an entry
 * naming no module of the loaded model (say "c_attn" from a GPT-2 adapter) is an error: the adapter was
 * made for another architecture, or the list has a typo.
 */
function checkTargetEntries(v: unknown, file: string, model: LlamaConfig): void {
  if (!Array.isArray(v)) return; // null, "all-linear" and regexes are checked by the readers
  const names = allModuleNames(model);
  for (const e of v) {
    if (typeof e !== 'string') continue; // the readers explain non-strings
    if (!names.some((n) => n === e || n.endsWith(`.${e}`))) {
      throw new ModelFileError(
        file,
        `"target_modules" entry ${JSON.stringify(e)} matches no linear module of the loaded LLaMA model (expected q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj or down_proj)`,
        'config',
      );
    }
  }
}

/**
 * Names that refer to the same model: equal up to case and the spacing of a file list ("a.bin + b.bin"
 * vs "a.bin+b.bin"), or one a path ending in the other ("/x/stories260K" vs "stories260K").
 */
export function sameModelName(a: string, b: string): boolean {
  const norm = (s: string): string => s.trim().replace(/\\/g, '/').replace(/\/+$/, '').replace(/\s*\+\s*/g, '+').toLowerCase();
  const x = norm(a);
  const y = norm(b);
  return x === y || x.endsWith(`/${y}`) || y.endsWith(`/${x}`);
}

function warnings(otherBase: boolean, base: string, modelName: string): string[] {
  return otherBase ? [`The adapter was saved for "${base}" but the loaded model is "${modelName}"; its shapes fit, so it is applied anyway.`] : [];
}

const size = (shape: readonly number[]): number => shape.reduce((a, d) => a * d, 1);

/** The summary fields every adapter kind shares, from its config, tensor count and parameter count. */
function summary(
  kind: Pick<ImportedAdapter, 'method' | 'alpha' | 'rslora' | 'dropout' | 'moraType'>,
  config: { r: number; targetModules: ImportedAdapter['targets']; baseModelName: ImportedAdapter['baseModelName'] },
  moduleCount: number, trainableCount: number, files: string[], warn: string[],
): ImportedAdapter {
  return {
    ...kind, rank: config.r, targets: [...config.targetModules], moduleCount, trainableCount,
    baseModelName: config.baseModelName, files, warnings: warn,
  };
}

function peftSummary(config: PeftAdapterConfig, tensors: AdapterTensors, files: string[], warn: string[]): ImportedAdapter {
  let trainable = 0;
  for (const t of tensors.values()) trainable += size(t.A.shape) + size(t.B.shape) + (t.magnitude ? size(t.magnitude.shape) : 0);
  const kind = { method: config.useDora ? 'dora' : 'lora', alpha: config.loraAlpha, rslora: config.useRslora, dropout: config.loraDropout, moraType: null } as const;
  return summary(kind, config, tensors.size, trainable, files, warn);
}

function moraSummary(config: MoraAdapterConfig, tensors: MoraTensors, files: string[], warn: string[]): ImportedAdapter {
  let trainable = 0;
  for (const M of tensors.values()) trainable += size(M.shape); // M: (r̂, r̂)
  return summary({ method: 'mora', alpha: null, rslora: false, dropout: 0, moraType: config.moraType }, config, tensors.size, trainable, files, warn);
}
