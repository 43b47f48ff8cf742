/**
 * The project's own MoRA adapter file (peft cannot load MoRA): adapter_model.safetensors with one
 * square matrix per module, base_model.model.model.layers.{i}.{self_attn|mlp}.{m}_proj.mora_M.weight
 * (r̂, r̂), and adapter_config.json {"peft_type": "MORA", "format": "subspace-mora", "version": 1,
 * "mora_type": 1 | 6, "r", "r_hat": {"q_proj": r̂, ...}, "target_modules", "base_model_name_or_path"}.
 */
import type { LlamaConfig } from '../schema/llama-config.ts';
import { LINEAR_MODULES, moduleShape, type HostTensor, type LinearModule } from '../schema/tensors.ts';
import { moraRank, type MoraType } from '../schema/mora.ts';
import { ModelFileError } from './errors.ts';
import type { ModelFile } from './load-model.ts';
import {
  ADAPTER_CONFIG, ADAPTER_WEIGHTS, allModuleNames, fmtShape, hfModuleName, jsonBytes, parseJsonFile,
  parseModuleName, PEFT_PREFIX, requireFile, sameShape,
} from './peft.ts';
import { parseSafetensors, writeSafetensors } from './safetensors.ts';

export const MORA_FORMAT = 'subspace-mora';
export const MORA_VERSION = 1;

/** 1 = sharing (compress by summing, recommended for large r), 6 = RoPE-style rotation (small r). */

export interface MoraAdapterConfig {
  /** The LoRA rank whose parameter count MoRA matches. */
  r: number;
  moraType: MoraType;
  /** Short names, in LINEAR_MODULES order; every layer has each of them. */
  targetModules: LinearModule[];
  baseModelName: string;
}

/** Keyed by our module name ("model.layers.0.self_attn.q_proj") → M (r̂, r̂). */
export type MoraTensors = Map<string, HostTensor>;


/** The LoRA ranks r whose r̂ for a weight (out, in) is `rHat` (r̂ grows like √r, so a few at most). */
function ranksFor(inF: number, out: number, rHat: number, type: MoraType): number[] {
  const lo = Math.max(1, Math.floor((rHat - 0.5) ** 2 / (inF + out)));
  const hi = Math.ceil((rHat + 1.5) ** 2 / (inF + out));
  const rs: number[] = [];
  for (let r = lo; r <= hi; r++) if (moraRank(inF, out, r, type) === rHat) rs.push(r);
  return rs;
}

/** r̂ of every linear module of the model. */
export function moraRanks(c: LlamaConfig, r: number, type: MoraType): Record<LinearModule, number> {
  const out = {} as Record<LinearModule, number>;
  for (const m of LINEAR_MODULES) {
    const [o, i] = moduleShape(c, m);
    out[m] = moraRank(i, o, r, type);
  }
  return out;
}

const TENSOR_RE = /^base_model\.model\.(model\.layers\.\d+\.(?:self_attn|mlp)\.[a-z]+_proj)\.mora_M\.weight$/;

function checkConfig(config: MoraAdapterConfig, file: string, prefix: string): LinearModule[] {
  const err = (problem: string): never => { throw new ModelFileError(file, `${prefix}${problem}`, 'config'); };
  if (!Number.isInteger(config.r) || config.r <= 0) err(`"r" must be a positive integer, got ${JSON.stringify(config.r)}`);
  if (config.moraType !== 1 && config.moraType !== 6) err(`"mora_type" must be 1 or 6, got ${JSON.stringify(config.moraType)}`);
  const bad = config.targetModules.filter((m) => !LINEAR_MODULES.includes(m));
  if (bad.length) err(`unknown target modules ${JSON.stringify(bad)}; expected some of ${LINEAR_MODULES.join(', ')}`);
  const targets = LINEAR_MODULES.filter((m) => config.targetModules.includes(m));
  if (targets.length === 0) err('no target modules');
  return targets;
}

/** adapter_config.json and adapter_model.safetensors (F32, metadata {"format": "pt"}) for a MoRA adapter. */
export function writeMoraAdapter(config: MoraAdapterConfig, tensors: MoraTensors, modelConfig: LlamaConfig): Map<string, Uint8Array> {
  const targets = checkConfig(config, ADAPTER_CONFIG, 'cannot export: ');
  const ranks = moraRanks(modelConfig, config.r, config.moraType);
  const wanted = allModuleNames(modelConfig, targets);
  const wantedSet = new Set(wanted);
  for (const name of tensors.keys()) {
    if (!wantedSet.has(name)) {
      throw new ModelFileError(ADAPTER_WEIGHTS, `cannot export: "${name}" is not a target module (${targets.map(hfModuleName).join(', ')}) of this ${modelConfig.nLayers}-layer LLaMA model`, 'config');
    }
  }
  const out = new Map<string, HostTensor>();
  for (const name of wanted) {
    const M = tensors.get(name);
    if (!M) throw new ModelFileError(ADAPTER_WEIGHTS, `cannot export: no M for target module "${name}"`, 'missing-tensor');
    const rHat = ranks[parseModuleName(name)!.module];
    const key = `${PEFT_PREFIX}${name}.mora_M.weight`;
    if (!sameShape(M.shape, [rHat, rHat]) || M.data.length !== rHat * rHat) {
      throw new ModelFileError(ADAPTER_WEIGHTS, `cannot export: "${key}" has shape ${fmtShape(M.shape)} (${M.data.length} values), expected [${rHat}, ${rHat}]`, 'config');
    }
    out.set(key, { shape: [rHat, rHat], data: M.data });
  }
  const rHat: Record<string, number> = {};
  for (const m of targets) rHat[hfModuleName(m)] = ranks[m];
  const files = new Map<string, Uint8Array>();
  files.set(ADAPTER_CONFIG, jsonBytes({
    peft_type: 'MORA',
    format: MORA_FORMAT,
    version: MORA_VERSION,
    mora_type: config.moraType,
    r: config.r,
    r_hat: rHat,
    target_modules: targets.map(hfModuleName),
    base_model_name_or_path: config.baseModelName,
  }));
  files.set(ADAPTER_WEIGHTS, writeSafetensors(out, { format: 'pt' }));
  return files;
}

/** Read and validate a MoRA adapter written by writeMoraAdapter against the model it is for. */
export function readMoraAdapter(files: ModelFile[], modelConfig: LlamaConfig): { config: MoraAdapterConfig; tensors: MoraTensors } {
  const cfgFile = requireFile(files, ADAPTER_CONFIG);
  const stFile = requireFile(files, ADAPTER_WEIGHTS);
  const j = parseJsonFile(cfgFile);
  const cf = cfgFile.name;
  const err = (problem: string, code: 'config' | 'format' = 'config'): never => { throw new ModelFileError(cf, problem, code); };

  if (j.peft_type !== 'MORA') err(`"peft_type" is ${JSON.stringify(j.peft_type)}; a MoRA adapter file has "MORA"${j.peft_type === 'LORA' ? ' (read LoRA/DoRA adapters with readPeftAdapter)' : ''}`, 'format');
  if (j.format !== MORA_FORMAT) err(`"format" is ${JSON.stringify(j.format)}; expected "${MORA_FORMAT}" (MoRA files from other tools are not supported)`, 'format');
  if (j.version !== MORA_VERSION) err(`"version" ${JSON.stringify(j.version)} is not supported; this build reads version ${MORA_VERSION}`, 'format');
  const moraType = j.mora_type;
  if (moraType !== 1 && moraType !== 6) err(`"mora_type" must be 1 or 6, got ${JSON.stringify(moraType)}`);
  const r = j.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r <= 0) err(`"r" must be a positive integer, got ${JSON.stringify(r)}`);
  const base = j.base_model_name_or_path ?? '';
  if (typeof base !== 'string') err(`"base_model_name_or_path" must be a string, got ${JSON.stringify(base)}`);
  const tm = j.target_modules;
  if (!Array.isArray(tm) || tm.length === 0) err(`"target_modules" must be a non-empty list like ["q_proj", "v_proj"], got ${JSON.stringify(tm)}`);
  const shortOf = (s: unknown): LinearModule | undefined =>
    typeof s === 'string' ? LINEAR_MODULES.find((m) => hfModuleName(m) === s) : undefined;
  for (const s of tm as unknown[]) if (!shortOf(s)) err(`"target_modules" entry ${JSON.stringify(s)} is not one of ${LINEAR_MODULES.map(hfModuleName).join(', ')}`);
  const targets = LINEAR_MODULES.filter((m) => (tm as unknown[]).includes(hfModuleName(m)));
  const config: MoraAdapterConfig = { r: r as number, moraType: moraType as MoraType, targetModules: targets, baseModelName: base as string };

  // r_hat must list exactly the targets, each equal to the formula for this model's shapes.
  const ranks = moraRanks(modelConfig, config.r, config.moraType);
  const rh = j.r_hat;
  if (typeof rh !== 'object' || rh === null || Array.isArray(rh)) err(`"r_hat" must be an object like {"q_proj": 64}, got ${JSON.stringify(rh)}`);
  const rhat = rh as Record<string, unknown>;
  for (const k of Object.keys(rhat)) {
    const m = shortOf(k);
    if (!m || !targets.includes(m)) err(`"r_hat" has "${k}", which is not among target_modules ${JSON.stringify(tm)}`);
  }
  for (const m of targets) {
    const k = hfModuleName(m);
    const [o, i] = moduleShape(modelConfig, m);
    if (rhat[k] !== ranks[m]) {
      err(`"r_hat"."${k}" is ${JSON.stringify(rhat[k])} but ${k} (${o} × ${i}) at r = ${config.r}, type ${config.moraType} needs r̂ = ${ranks[m]}`);
    }
  }

  const sf = stFile.name;
  const { tensors: raw } = parseSafetensors(stFile.bytes, sf);
  const wanted = new Set(allModuleNames(modelConfig, targets));
  const tensors: MoraTensors = new Map();
  for (const [key, t] of raw) {
    const match = TENSOR_RE.exec(key);
    const mod = match ? parseModuleName(match[1]!) : undefined;
    if (!match || !mod) {
      throw new ModelFileError(sf, `unknown tensor "${key}"; expected base_model.model.model.layers.{i}.{self_attn|mlp}.{q,k,v,o,gate,up,down}_proj.mora_M.weight`, 'format');
    }
    const name = match[1]!;
    if (mod.layer >= modelConfig.nLayers) throw new ModelFileError(sf, `tensor "${key}" is for layer ${mod.layer} but the model has ${modelConfig.nLayers} layers (its num_hidden_layers): the adapter was made for a deeper model`, 'config');
    if (!wanted.has(name)) throw new ModelFileError(sf, `tensor "${key}" is for ${name}, which ${cf} "target_modules" does not list`, 'config');
    const rHat = ranks[mod.module];
    const [o, i] = moduleShape(modelConfig, mod.module);
    // A square M that another r gives: the r (and r_hat) in adapter_config.json is the wrong value.
    const fits = t.shape.length === 2 && t.shape[0] === t.shape[1] && t.shape[0] !== rHat ? ranksFor(i, o, t.shape[0]!, config.moraType) : [];
    if (fits.length > 0) {
      throw new ModelFileError(
        cf,
        `"r" is ${config.r} (r̂ = ${rHat} for ${hfModuleName(mod.module)}) but ${sf} has mora_M of shape ${fmtShape(t.shape)} for ${name}, which r = ${fits.join(' or ')} gives`,
        'config',
      );
    }
    if (!sameShape(t.shape, [rHat, rHat])) {
      const why = t.shape.length === 2 && t.shape[0] !== t.shape[1] ? 'M must be square' : `${hfModuleName(mod.module)} needs r̂ = ${rHat}`;
      throw new ModelFileError(sf, `tensor "${key}" has shape ${fmtShape(t.shape)}; ${why}: expected [${rHat}, ${rHat}]`, 'config');
    }
    tensors.set(name, t);
  }
  const ordered: MoraTensors = new Map();
  for (const name of wanted) {
    const t = tensors.get(name);
    if (!t) throw new ModelFileError(sf, `missing tensor "${PEFT_PREFIX}${name}.mora_M.weight": ${cf} targets ${name}`, 'missing-tensor');
    ordered.set(name, t);
  }
  return { config, tensors: ordered };
}
