/**
 * peft-format LoRA / DoRA adapter files (adapter_config.json + adapter_model.safetensors) ⇄ host
 * tensors, so an adapter trained here loads in peft's PeftModel.from_pretrained on the Hugging Face
 * model and loads back here. Also the PiSSA/MiLoRA → plain LoRA conversion for export.
 *
 * Tensor keys (LLaMA): base_model.model.model.layers.{i}.self_attn.{q,k,v,o}_proj.lora_A.weight (r, in),
 * ...lora_B.weight (out, r), ...mlp.{gate,up,down}_proj.lora_{A,B}.weight, and for DoRA
 * ...lora_magnitude_vector (out), without ".weight" (peft strips it when saving).
 */
import type { LlamaConfig } from '../schema/llama-config.ts';
import { LINEAR_MODULES, moduleName, moduleShape, type HostTensor, type LinearModule } from '../schema/tensors.ts';
import { ModelFileError } from './errors.ts';
import { baseName, type ModelFile } from './load-model.ts';
import { parseSafetensors, writeSafetensors } from './safetensors.ts';
import { compileTargetRegex, TargetRegexError } from './target-regex.ts';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
/** Prefix peft's PeftModelForCausalLM puts before the transformers module names. */
export const PEFT_PREFIX = 'base_model.model.';

export interface PeftAdapterConfig {
  r: number;
  loraAlpha: number;
  loraDropout: number;
  /** Short names, in LINEAR_MODULES order; every layer has each of them. */
  targetModules: LinearModule[];
  useRslora: boolean;
  useDora: boolean;
  baseModelName: string;
  /** Written as init_lora_weights; default true. Read back as found ("gaussian", false, ...). */
  initLoraWeights?: boolean | string;
}

/** One module's adapter: A (r, in), B (out, r), DoRA magnitude m (out). */
export interface LoraModuleTensors {
  A: HostTensor;
  B: HostTensor;
  magnitude?: HostTensor;
}

/** Keyed by our module name, e.g. "model.layers.0.self_attn.q_proj". */
export type AdapterTensors = Map<string, LoraModuleTensors>;

/** HF module short name: "q" → "q_proj". */
export const hfModuleName = (m: LinearModule): string => `${m}_proj`;

const MODULE_RE = /^model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z]+)_proj$/;

/** Layer and module of "model.layers.{i}.{self_attn|mlp}.{m}_proj", or undefined for anything else. */
export function parseModuleName(name: string): { layer: number; module: LinearModule } | undefined {
  const match = MODULE_RE.exec(name);
  if (!match) return undefined;
  const module = match[3] as LinearModule;
  if (!LINEAR_MODULES.includes(module) || moduleName(Number(match[1]), module) !== name) return undefined;
  return { layer: Number(match[1]), module };
}

/** Every linear module name of the model, layer by layer in LINEAR_MODULES order. */
export function allModuleNames(c: LlamaConfig, targets: readonly LinearModule[] = LINEAR_MODULES): string[] {
  const names: string[] = [];
  for (let i = 0; i < c.nLayers; i++) for (const m of LINEAR_MODULES) if (targets.includes(m)) names.push(moduleName(i, m));
  return names;
}

/** Same shape, element for element. */
export const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
export const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

export const jsonBytes = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o, null, 2) + '\n');

/** A JSON object file's content; ModelFileError ('json') naming the file otherwise. */
export function parseJsonFile(f: ModelFile): Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(new TextDecoder().decode(f.bytes));
  } catch (e) {
    throw new ModelFileError(f.name, `not valid JSON (${(e as Error).message})`, 'json');
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new ModelFileError(f.name, 'not a JSON object', 'json');
  return j as Record<string, unknown>;
}

/** The file among `files` whose base name is `name` (directory prefixes ignored), or a 'missing-file' error. */
export function requireFile(files: ModelFile[], name: string, hint = ''): ModelFile {
  const f = files.find((x) => baseName(x.name) === name);
  if (f) return f;
  const listed = files.map((x) => baseName(x.name)).join(', ') || 'none';
  throw new ModelFileError(name, `missing (files given: ${listed})${hint}`, 'missing-file');
}

/** The peft_type of an adapter directory's adapter_config.json ("LORA", "MORA", ...). */
export function adapterPeftType(files: ModelFile[]): string {
  const f = requireFile(files, ADAPTER_CONFIG);
  const t = parseJsonFile(f).peft_type;
  if (typeof t !== 'string') throw new ModelFileError(f.name, `"peft_type" must be a string, got ${JSON.stringify(t)}`, 'format');
  return t;
}

/**
 * init_lora_weights values with which peft rewrites the base weights when it loads the adapter (the
 * adapter then only fits that rewritten base). Export those through convertPissaToLora instead.
 */
const BASE_REWRITING_INIT = /^(pissa|olora|loftq|corda|milora)/i;

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * adapter_config.json (every key peft reads, sorted as peft writes them) and
 * adapter_model.safetensors (F32, metadata {"format": "pt"}), checked against the model's shapes.
 */
export function writePeftAdapter(config: PeftAdapterConfig, tensors: AdapterTensors, modelConfig: LlamaConfig): Map<string, Uint8Array> {
  const cfgErr = (problem: string): never => { throw new ModelFileError(ADAPTER_CONFIG, `cannot export: ${problem}`, 'config'); };
  const { r } = config;
  if (!Number.isInteger(r) || r <= 0) cfgErr(`r must be a positive integer, got ${r}`);
  if (!Number.isFinite(config.loraAlpha)) cfgErr(`lora_alpha must be a finite number, got ${config.loraAlpha}`);
  if (!(config.loraDropout >= 0 && config.loraDropout < 1)) cfgErr(`lora_dropout must be in [0, 1), got ${config.loraDropout}`);
  const bad = config.targetModules.filter((m) => !LINEAR_MODULES.includes(m));
  if (bad.length) cfgErr(`unknown target modules ${JSON.stringify(bad)}; expected some of ${LINEAR_MODULES.join(', ')}`);
  const targets = LINEAR_MODULES.filter((m) => config.targetModules.includes(m));
  if (targets.length === 0) cfgErr('no target modules');
  const init = config.initLoraWeights ?? true;
  if (typeof init === 'string' && BASE_REWRITING_INIT.test(init)) {
    cfgErr(`init_lora_weights "${init}" makes peft rewrite the base weights at load time; convert with convertPissaToLora first`);
  }

  const out = new Map<string, HostTensor>();
  const wanted = new Set(allModuleNames(modelConfig, targets));
  for (const name of tensors.keys()) {
    if (!wanted.has(name)) {
      const p = parseModuleName(name);
      throw new ModelFileError(
        ADAPTER_WEIGHTS,
        p && p.layer < modelConfig.nLayers ? `cannot export: module "${name}" is not among target_modules ${JSON.stringify(targets.map(hfModuleName))}`
          : `cannot export: "${name}" is not a linear module of this ${modelConfig.nLayers}-layer LLaMA model`,
        'config',
      );
    }
  }
  for (const name of wanted) {
    const t = tensors.get(name);
    if (!t) throw new ModelFileError(ADAPTER_WEIGHTS, `cannot export: no tensors for target module "${name}"`, 'missing-tensor');
    const [o, i] = moduleShape(modelConfig, parseModuleName(name)!.module);
    const key = `${PEFT_PREFIX}${name}`;
    const put = (k: string, v: HostTensor, shape: number[]): void => {
      if (!sameShape(v.shape, shape) || v.data.length !== shape.reduce((a, d) => a * d, 1)) {
        throw new ModelFileError(ADAPTER_WEIGHTS, `cannot export: "${k}" has shape ${fmtShape(v.shape)} (${v.data.length} values), expected ${fmtShape(shape)}`, 'config');
      }
      out.set(k, { shape, data: v.data });
    };
    put(`${key}.lora_A.weight`, t.A, [r, i]);
    put(`${key}.lora_B.weight`, t.B, [o, r]);
    if (config.useDora) {
      if (!t.magnitude) throw new ModelFileError(ADAPTER_WEIGHTS, `cannot export: use_dora is set but "${name}" has no magnitude vector`, 'missing-tensor');
      put(`${key}.lora_magnitude_vector`, t.magnitude, [o]);
    } else if (t.magnitude) {
      cfgErr(`"${name}" has a DoRA magnitude vector but use_dora is false`);
    }
  }

  const cfg: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: config.baseModelName,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: init,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: config.loraAlpha,
    lora_bias: false,
    lora_dropout: config.loraDropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r,
    rank_pattern: {},
    revision: null,
    target_modules: targets.map(hfModuleName),
    task_type: 'CAUSAL_LM',
    use_dora: config.useDora,
    use_rslora: config.useRslora,
  };
  const files = new Map<string, Uint8Array>();
  files.set(ADAPTER_CONFIG, jsonBytes(cfg));
  files.set(ADAPTER_WEIGHTS, writeSafetensors(out, { format: 'pt' }));
  return files;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Values that mean "feature off" in a peft config: absent, null, false, "", [] or {}. */
function unset(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v as object).length === 0;
}

/** Config keys whose non-default values change what the adapter computes and that we cannot honour. */
const UNSUPPORTED: Record<string, string> = {
  rank_pattern: 'per-module ranks',
  alpha_pattern: 'per-module alphas',
  modules_to_save: 'fully trained extra modules',
  layers_to_transform: 'adapting only some layers',
  layer_replication: 'layer replication',
  exclude_modules: 'excluded modules',
  lora_bias: 'a bias on lora_B',
  use_qalora: 'QA-LoRA',
  trainable_token_indices: 'trainable token embeddings',
  target_parameters: 'targeting nn.Parameters',
  alora_invocation_tokens: 'activated LoRA (aLoRA)',
  arrow_config: 'Arrow routing',
};

/** peft's default target modules for model_type "llama" when target_modules is null. */
const PEFT_LLAMA_DEFAULT_TARGETS: LinearModule[] = ['q', 'v'];

const TENSOR_RE = /^base_model\.model\.(model\.layers\.\d+\.(?:self_attn|mlp)\.[a-z]+_proj)\.(lora_A|lora_B|lora_magnitude_vector)(\.default)?(\.weight)?$/;

/**
 * Read and validate a peft LoRA/DoRA adapter against the model it is for. `files` must include
 * adapter_config.json and adapter_model.safetensors (names may carry directories). Missing config
 * keys default as in peft (r 8, lora_alpha 8, lora_dropout 0, use_rslora/use_dora false,
 * target_modules q_proj, v_proj). Throws ModelFileError naming the file and the key or field.
 */
export function readPeftAdapter(files: ModelFile[], modelConfig: LlamaConfig): { config: PeftAdapterConfig; tensors: AdapterTensors } {
  const cfgFile = requireFile(files, ADAPTER_CONFIG);
  const hasBin = files.some((f) => baseName(f.name) === 'adapter_model.bin');
  const stFile = requireFile(files, ADAPTER_WEIGHTS, hasBin ? '; adapter_model.bin (pickle) is not supported: save with safe_serialization=True' : '');
  const config = parsePeftConfig(parseJsonFile(cfgFile), cfgFile.name, modelConfig);
  const { tensors: raw } = parseSafetensors(stFile.bytes, stFile.name);
  const tensors = collectLoraTensors(raw, stFile.name, cfgFile.name, config, modelConfig);
  const { targeted: _, ...plain } = config;
  return { config: plain, tensors };
}

/** The config fields, defaulted as peft does; errors name `file` and the field. */
function parsePeftConfig(j: Record<string, unknown>, file: string, modelConfig: LlamaConfig): PeftAdapterConfig & { targeted: Set<string> } {
  const err = (problem: string, code: 'config' | 'format' = 'config'): never => { throw new ModelFileError(file, problem, code); };
  if (j.peft_type === undefined) err('missing "peft_type"; expected "LORA"', 'format');
  if (j.peft_type !== 'LORA') {
    err(`"peft_type" is ${JSON.stringify(j.peft_type)}; only "LORA" adapters (LoRA, rsLoRA, DoRA) are supported${j.peft_type === 'MORA' ? ' here (read MoRA files with readMoraAdapter)' : ''}`, 'format');
  }
  if (!unset(j.task_type) && j.task_type !== 'CAUSAL_LM') err(`"task_type" ${JSON.stringify(j.task_type)} is not supported; expected "CAUSAL_LM"`);
  for (const [key, what] of Object.entries(UNSUPPORTED)) {
    if (!unset(j[key])) err(`"${key}" is ${JSON.stringify(j[key])}: ${what} is not supported (expected ${key === 'lora_bias' ? 'false' : key.endsWith('pattern') ? '{}' : 'null'})`);
  }

  const num = (key: string, fallback: number): number => {
    const v = j[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) return err(`"${key}" must be a number, got ${JSON.stringify(j[key])}`);
    return v;
  };
  const bool = (key: string): boolean => {
    const v = j[key] ?? false;
    if (typeof v !== 'boolean') return err(`"${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const r = num('r', 8);
  if (!Number.isInteger(r) || r <= 0) err(`"r" must be a positive integer, got ${JSON.stringify(j.r)}`);
  const loraAlpha = num('lora_alpha', 8);
  const loraDropout = num('lora_dropout', 0);
  if (!(loraDropout >= 0 && loraDropout < 1)) err(`"lora_dropout" must be in [0, 1), got ${loraDropout}`);
  const init = j.init_lora_weights ?? true;
  if (typeof init !== 'boolean' && typeof init !== 'string') err(`"init_lora_weights" must be true, false or a string, got ${JSON.stringify(init)}`);
  if (typeof init === 'string' && BASE_REWRITING_INIT.test(init)) {
    err(`"init_lora_weights" is "${init}": peft rewrites the base weights when loading such an adapter, so it does not apply to the original model; convert it (peft path_initial_model_for_weight_conversion) and set init_lora_weights to true`);
  }
  const base = j.base_model_name_or_path ?? '';
  if (typeof base !== 'string') err(`"base_model_name_or_path" must be a string, got ${JSON.stringify(base)}`);

  const targeted = resolveTargets(j.target_modules, file, modelConfig);
  const targetModules = LINEAR_MODULES.filter((m) => [...targeted].some((n) => parseModuleName(n)!.module === m));
  for (let i = 0; i < modelConfig.nLayers; i++) {
    for (const m of targetModules) {
      if (!targeted.has(moduleName(i, m))) {
        err(`"target_modules" ${JSON.stringify(j.target_modules)} selects ${hfModuleName(m)} in some layers but not in layer ${i}; adapting only some layers is not supported`);
      }
    }
  }
  return {
    r, loraAlpha, loraDropout, targetModules, targeted,
    useRslora: bool('use_rslora'), useDora: bool('use_dora'),
    baseModelName: base as string, initLoraWeights: init as boolean | string,
  };
}

/**
 * The module names target_modules selects, as peft matches them: a list entry matches a module whose
 * name equals it or ends with "." + it; a string is "all-linear" or a regex that must match the
 * whole name (re.fullmatch, run by target-regex.ts in linear time); null means peft's LLaMA default
 * (q_proj, v_proj).
 */
function resolveTargets(v: unknown, file: string, c: LlamaConfig): Set<string> {
  const names = allModuleNames(c);
  const err = (problem: string): never => { throw new ModelFileError(file, problem, 'config'); };
  let match: (name: string) => boolean;
  if (v === undefined || v === null) {
    match = (n) => PEFT_LLAMA_DEFAULT_TARGETS.includes(parseModuleName(n)!.module);
  } else if (v === 'all-linear') {
    match = () => true;
  } else if (typeof v === 'string') {
    try {
      match = compileTargetRegex(v); // linear time: no pattern can freeze the import
    } catch (e) {
      if (!(e instanceof TargetRegexError)) throw e;
      return err(`"target_modules" regex ${JSON.stringify(v)} is not supported: ${e.message}`);
    }
  } else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) {
    const entries = v as string[];
    for (const e of entries) {
      if (/^(lm_head|embed_tokens|model\.embed_tokens|model\.norm|norm)$/.test(e) || /layernorm$/.test(e)) {
        err(`"target_modules" entry "${e}" is not supported: only the linear projections q_proj … down_proj can be adapted`);
      }
    }
    match = (n) => entries.some((e) => n === e || n.endsWith(`.${e}`));
  } else {
    return err(`"target_modules" must be a list of module names, a regex string or "all-linear", got ${JSON.stringify(v)}`);
  }
  const set = new Set(names.filter(match));
  if (set.size === 0) err(`"target_modules" ${JSON.stringify(v)} matches no linear module of this LLaMA model`);
  return set;
}

/** Group the safetensors tensors by module and check names, shapes, ranks and the target set. */
function collectLoraTensors(
  raw: Map<string, HostTensor>,
  file: string,
  cfgFile: string,
  config: PeftAdapterConfig & { targeted: Set<string> },
  c: LlamaConfig,
): AdapterTensors {
  const err = (problem: string, code: 'config' | 'format' | 'missing-tensor'): never => { throw new ModelFileError(file, problem, code); };
  const parts = new Map<string, Partial<LoraModuleTensors>>();
  for (const [key, t] of raw) {
    const m = TENSOR_RE.exec(key);
    const mod = m ? parseModuleName(m[1]!) : undefined;
    const kind = m?.[2];
    // lora_A/B need ".weight"; peft saves the magnitude without it (accept both).
    if (!m || !mod || ((kind === 'lora_A' || kind === 'lora_B') && !m[4])) {
      err(`unknown tensor "${key}"; expected base_model.model.model.layers.{i}.{self_attn|mlp}.{q,k,v,o,gate,up,down}_proj.{lora_A.weight|lora_B.weight|lora_magnitude_vector}`, 'format');
    }
    const { layer, module } = mod!;
    const name = m![1]!;
    if (layer >= c.nLayers) err(`tensor "${key}" is for layer ${layer} but the model has ${c.nLayers} layers (its num_hidden_layers): the adapter was made for a deeper model`, 'config');
    if (!config.targeted.has(name)) {
      err(`tensor "${key}" is for ${name}, which ${cfgFile} "target_modules" does not select (${config.targetModules.map(hfModuleName).join(', ')})`, 'config');
    }
    const [o, i] = moduleShape(c, module);
    const want = kind === 'lora_A' ? [config.r, i] : kind === 'lora_B' ? [o, config.r] : [o];
    // Only the rank disagrees: the r in adapter_config.json is the wrong value.
    const rank = kind === 'lora_A' && t.shape.length === 2 && t.shape[1] === i ? t.shape[0]
      : kind === 'lora_B' && t.shape.length === 2 && t.shape[0] === o ? t.shape[1] : undefined;
    if (rank !== undefined && rank !== config.r) {
      throw new ModelFileError(cfgFile, `"r" is ${config.r} but ${file} has ${kind} of shape ${fmtShape(t.shape)} for ${name} (r = ${rank})`, 'config');
    }
    if (!sameShape(t.shape, want)) {
      const what = kind === 'lora_magnitude_vector' ? `(out) = ${fmtShape(want)}` : kind === 'lora_A' ? `(r, in) = ${fmtShape(want)}` : `(out, r) = ${fmtShape(want)}`;
      err(`tensor "${key}" has shape ${fmtShape(t.shape)} but ${name} with r = ${config.r} needs ${what}`, 'config');
    }
    const p = parts.get(name) ?? {};
    const slot = kind === 'lora_A' ? 'A' : kind === 'lora_B' ? 'B' : 'magnitude';
    if (p[slot]) err(`tensor "${key}" appears twice (with and without the ".default" adapter name)`, 'format');
    p[slot] = t;
    parts.set(name, p);
  }

  const tensors: AdapterTensors = new Map();
  for (const name of allModuleNames(c, config.targetModules)) {
    const p = parts.get(name);
    const key = `${PEFT_PREFIX}${name}`;
    if (!p) err(`missing tensors "${key}.lora_A.weight" and "${key}.lora_B.weight": ${cfgFile} targets ${name}`, 'missing-tensor');
    if (!p!.A) err(`missing tensor "${key}.lora_A.weight" (the file has ${p!.B ? 'its lora_B' : 'only its magnitude vector'})`, 'missing-tensor');
    if (!p!.B) err(`missing tensor "${key}.lora_B.weight" for "${key}.lora_A.weight"`, 'missing-tensor');
    if (config.useDora && !p!.magnitude) err(`missing tensor "${key}.lora_magnitude_vector": ${cfgFile} sets use_dora`, 'missing-tensor');
    if (!config.useDora && p!.magnitude) err(`tensor "${key}.lora_magnitude_vector" is a DoRA magnitude but ${cfgFile} "use_dora" is false`, 'config');
    tensors.set(name, p!.magnitude ? { A: p!.A!, B: p!.B!, magnitude: p!.magnitude } : { A: p!.A!, B: p!.B! });
  }
  return tensors;
}

// ---------------------------------------------------------------------------------------------
// PiSSA / MiLoRA export

/**
 * Turn a trained PiSSA/MiLoRA adapter (whose base is W_res = W − s·B₀A₀) into a plain LoRA adapter on
 * the ORIGINAL W: ΔW = s(BA − B₀A₀) = s'·B'A' with A' = [A; A₀] (2r, in), B' = [B, −B₀] (out, 2r),
 * r' = 2r and α' = 2α (rsLoRA: α' = α√2, since s = α/√r), init_lora_weights true. DoRA magnitudes
 * carry over unchanged (W + s'B'A' = W_res + sBA, so the row norms are the same).
 */
export function convertPissaToLora(
  config: PeftAdapterConfig,
  trained: AdapterTensors,
  initial: AdapterTensors,
): { config: PeftAdapterConfig; tensors: AdapterTensors } {
  const { r } = config;
  const err = (problem: string): never => { throw new ModelFileError(ADAPTER_WEIGHTS, `cannot convert PiSSA/MiLoRA adapter: ${problem}`, 'missing-tensor'); };
  for (const name of initial.keys()) if (!trained.has(name)) err(`"${name}" has initial tensors but no trained ones`);
  const tensors: AdapterTensors = new Map();
  for (const [name, t] of trained) {
    const t0 = initial.get(name) ?? err(`no initial A₀, B₀ for "${name}"`);
    const [rA, inF] = t.A.shape as [number, number];
    const [out, rB] = t.B.shape as [number, number];
    if (t.A.shape.length !== 2 || t.B.shape.length !== 2 || rA !== r || rB !== r) {
      err(`"${name}" has A ${fmtShape(t.A.shape)}, B ${fmtShape(t.B.shape)}; expected (r, in), (out, r) with r = ${r}`);
    }
    if (!sameShape(t0.A.shape, t.A.shape) || !sameShape(t0.B.shape, t.B.shape)) {
      err(`"${name}" initial A₀ ${fmtShape(t0.A.shape)}, B₀ ${fmtShape(t0.B.shape)} differ from trained ${fmtShape(t.A.shape)}, ${fmtShape(t.B.shape)}`);
    }
    // A' (2r, in): rows of A then rows of A₀.
    const A = new Float32Array(2 * r * inF);
    A.set(t.A.data, 0);
    A.set(t0.A.data, r * inF);
    // B' (out, 2r): row o = [B[o, :], −B₀[o, :]].
    const B = new Float32Array(out * 2 * r);
    for (let o = 0; o < out; o++) {
      for (let k = 0; k < r; k++) {
        B[o * 2 * r + k] = t.B.data[o * r + k]!;
        B[o * 2 * r + r + k] = -t0.B.data[o * r + k]!;
      }
    }
    const conv: LoraModuleTensors = { A: { shape: [2 * r, inF], data: A }, B: { shape: [out, 2 * r], data: B } };
    if (t.magnitude) conv.magnitude = t.magnitude;
    tensors.set(name, conv);
  }
  const loraAlpha = config.useRslora ? config.loraAlpha * Math.SQRT2 : 2 * config.loraAlpha;
  return { config: { ...config, r: 2 * r, loraAlpha, initLoraWeights: true }, tensors };
}
