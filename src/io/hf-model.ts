/** A Hugging Face LLaMA checkpoint (config.json + a single model.safetensors) → LlamaWeights, and the checks every HF checkpoint passes. */
import type { LlamaConfig } from '../schema/llama-config.ts';
import { EMBED_NAME, expectedTensors, type HostTensor, type LlamaWeights, LM_HEAD_NAME, storedHalf } from '../schema/tensors.ts';
import { ModelFileError } from './errors.ts';
import { parseHfConfig } from './hf-config.ts';
import { decodeEntry, parseSafetensorsHeader, type SafetensorsEntry } from './safetensors.ts';
import { formatCount, llamaWeightCount } from './weight-count.ts';

/**
 * Check that the safetensors file holds every tensor the config implies with the right shape, and
 * decode those (others, e.g. a tied model's redundant lm_head, are ignored). num_hidden_layers is
 * checked against the layers the file has first, and the tensors are then visited lazily, stopping at
 * the first one missing: an absurd config (num_hidden_layers 2^24, vocab_size 1e308) is refused without
 * building more per-layer structure than the file has tensors.
 */
export function loadHfModel(
  configText: string,
  safetensorsBytes: Uint8Array,
  names: { config?: string; weights?: string } = {},
): LlamaWeights {
  const cfgFile = names.config ?? 'config.json';
  const file = names.weights ?? 'model.safetensors';
  const config = parseHfConfig(configText, cfgFile);
  const { entries } = parseSafetensorsHeader(safetensorsBytes, file);
  const tensors = new Map<string, HostTensor>();
  const stored16 = new Map<string, 'bf16' | 'f16'>();
  for (const [name, e] of expectedEntries(config, entries, cfgFile, file)) {
    tensors.set(name, decodeEntry(safetensorsBytes, e, file, name));
    const half = storedHalf(e.dtype, e.shape);
    if (half) stored16.set(name, half);
  }
  return { config, tensors, stored16 };
}

/**
 * The entries of every tensor config `config` implies, in load order (embedding, layers, norm, head),
 * checked: num_hidden_layers against the layers present first, then each name present with the right
 * shape (stopping at the first missing one). `file` names where the entries come from (a weights file,
 * or a sharded checkpoint's index); `fileOf` the file holding one tensor (default `file`).
 */
export function expectedEntries<E extends SafetensorsEntry>(
  config: LlamaConfig, entries: Map<string, E>, cfgFile: string, file: string, fileOf: (name: string) => string = () => file,
): [string, E][] {
  checkLayerCount(config, entries, cfgFile, file);
  const out: [string, E][] = [];
  for (const [name, shape] of lazyExpectedTensors(config)) {
    const e = entries.get(name);
    if (!e) {
      const hint = name === LM_HEAD_NAME ? ` (${cfgFile} says tie_word_embeddings is false)` : '';
      throw new ModelFileError(file, `missing tensor "${name}"${hint}`, 'missing-tensor');
    }
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFileError(
        fileOf(name),
        `tensor "${name}" has shape [${e.shape.join(', ')}] but ${cfgFile} implies [${shape.join(', ')}]`,
        'config',
      );
    }
    out.push([name, e]);
  }
  return out;
}

/** expectedTensors(c) in the same order, one layer at a time (the map of a 2^24-layer config is never built). */
function* lazyExpectedTensors(c: LlamaConfig): Generator<[string, number[]]> {
  const one = [...expectedTensors({ ...c, nLayers: 1 })];
  const layer0 = one.filter(([n]) => n.startsWith('model.layers.0.'));
  const global = one.filter(([n]) => !n.startsWith('model.layers.0.'));
  const embedding = EMBED_NAME;
  yield* global.filter(([n]) => n === embedding);
  for (let i = 0; i < c.nLayers; i++) {
    for (const [n, shape] of layer0) yield [`model.layers.${i}.${n.slice('model.layers.0.'.length)}`, shape];
  }
  yield* global.filter(([n]) => n !== embedding);
}

/**
 * "N bytes of F32 weights but model.safetensors has M bytes of tensor data": the weight bytes `c`
 * implies (in float, closed form) vs the file's, at the file's smallest element size, so a BF16 file is
 * not measured as an F32 one.
 */
function impliedSize(c: LlamaConfig, entries: Map<string, SafetensorsEntry>, file: string): string {
  let present = 0;
  let element = Infinity;
  let dtype = 'F32';
  for (const e of entries.values()) {
    present += e.end - e.begin;
    const count = e.shape.reduce((a, d) => a * d, 1);
    if (count > 0 && (e.end - e.begin) / count < element) [element, dtype] = [(e.end - e.begin) / count, e.dtype];
  }
  const implied = llamaWeightCount(c) * (element === Infinity ? 4 : element);
  return `${formatCount(implied)} bytes of ${dtype} weights but ${file} has ${present} bytes of tensor data`;
}

const LAYER_TENSOR = /^model\.layers\.(\d+)\./;

/** num_hidden_layers against the layers the file has tensors for; a mismatch names config.json. */
function checkLayerCount(c: LlamaConfig, entries: Map<string, SafetensorsEntry>, cfgFile: string, file: string): void {
  let top = -1;
  let example = '';
  for (const name of entries.keys()) {
    const layer = Number(LAYER_TENSOR.exec(name)?.[1] ?? -1);
    if (layer > top) [top, example] = [layer, name];
  }
  const err = (problem: string): never => { throw new ModelFileError(cfgFile, `num_hidden_layers is ${c.nLayers} but ${file} ${problem}`, 'config'); };
  if (top >= c.nLayers) err(`holds tensors of layer ${top} (layers count from 0), e.g. "${example}"`);
  if (top < c.nLayers - 1) {
    const has = top < 0 ? 'has no model.layers.* tensors' : `has tensors of ${top + 1} layer${top ? 's' : ''} (model.layers.0 to model.layers.${top})`;
    err(`${has}: ${c.nLayers} layers imply ${impliedSize(c, entries, file)}`);
  }
}
