/**
 * A Hugging Face LLaMA checkpoint opened for streaming: config.json, then the safetensors headers of
 * model.safetensors — or of every shard model.safetensors.index.json names — read and checked, with no
 * tensor data read yet. Each tensor is then read on its own (readCheckpointTensor) from its ByteSource,
 * so loading never holds more than one tensor's bytes.
 */
import type { LlamaConfig } from '../schema/llama-config.ts';
import { storedHalf, type HostTensor } from '../schema/tensors.ts';
import { baseName, type ByteSource } from './byte-source.ts';
import { ModelFileError } from './errors.ts';
import { parseHfConfig } from './hf-config.ts';
import { expectedEntries } from './hf-model.ts';
import { decodeEntry, readSafetensorsHeader, type SafetensorsEntry } from './safetensors.ts';
import type { StoredAs, WeightSource } from './weight-source.ts';

export const INDEX_FILE = 'model.safetensors.index.json';

/** One tensor of the checkpoint: where its bytes are. */
export interface CheckpointTensor extends SafetensorsEntry {
  name: string;
  /** The file holding it (a shard of a sharded checkpoint). */
  source: ByteSource;
}

export interface HfCheckpoint {
  config: LlamaConfig;
  configFile: string;
  /** The weights files read, in order: model.safetensors, or the shards. */
  weightFiles: string[];
  /** Every tensor the config implies, in load order (embedding, layers, final norm, head). */
  tensors: CheckpointTensor[];
  /** Bytes of the largest tensor: the one buffer loading needs. */
  largestBytes: number;
}

/** A text file given by name. */
export interface TextFile {
  name: string;
  text: string;
}

/**
 * Open a checkpoint from config.json and its weights: one safetensors file, or — with `index`
 * (model.safetensors.index.json) — the shards it maps tensors to, all of which must be among `weights`.
 * Throws ModelFileError naming the file at fault.
 */
export async function openHfCheckpoint(config: TextFile, weights: readonly ByteSource[], index?: TextFile): Promise<HfCheckpoint> {
  const cfg = parseHfConfig(config.text, config.name);
  const entries = new Map<string, CheckpointTensor>();
  let file: string;
  let used: ByteSource[];
  if (index) {
    file = index.name;
    used = await indexedEntries(index, weights, entries);
  } else {
    if (weights.length !== 1) {
      throw new ModelFileError(weights[0]?.name ?? 'model.safetensors', `expected one model.safetensors, got ${weights.length} weights files (a sharded checkpoint needs its ${INDEX_FILE})`, 'format');
    }
    const src = weights[0]!;
    file = src.name;
    used = [src];
    for (const [name, e] of (await readSafetensorsHeader(src)).entries) entries.set(name, { ...e, name, source: src });
  }
  const fileOf = (name: string) => entries.get(name)?.source.name ?? file;
  const tensors = expectedEntries(cfg, entries, config.name, file, fileOf).map(([, e]) => e);
  const largestBytes = tensors.reduce((m, t) => Math.max(m, t.end - t.begin), 0);
  return { config: cfg, configFile: config.name, weightFiles: used.map((s) => s.name), tensors, largestBytes };
}

/** Fill `entries` from the shards `index` maps each tensor to; returns the shards in index order. */
async function indexedEntries(index: TextFile, weights: readonly ByteSource[], entries: Map<string, CheckpointTensor>): Promise<ByteSource[]> {
  let json: unknown;
  try {
    json = JSON.parse(index.text);
  } catch (e) {
    throw new ModelFileError(index.name, `not valid JSON (${(e as Error).message})`, 'json');
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new ModelFileError(index.name, 'has no "weight_map" object (tensor name → shard file)', 'json');
  }
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string') throw new ModelFileError(index.name, `weight_map["${name}"] is ${JSON.stringify(shard)}, not a file name`, 'json');
    byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  }
  const given = weights.map((w) => baseName(w.name)).join(', ') || 'none';
  const shards: ByteSource[] = [];
  for (const [shard, names] of byShard) {
    const src = weights.find((w) => baseName(w.name) === shard);
    if (!src) throw new ModelFileError(index.name, `maps ${names.length} tensors to shard "${shard}", which is not among the files (${given})`, 'missing-file');
    shards.push(src);
    const header = (await readSafetensorsHeader(src)).entries;
    for (const name of names) {
      const e = header.get(name);
      if (!e) throw new ModelFileError(src.name, `has no tensor "${name}", which ${baseName(index.name)} says is in this shard`, 'missing-tensor');
      entries.set(name, { ...e, name, source: src });
    }
  }
  return shards;
}

/** The raw bytes of one tensor, as stored (into `scratch` when given: it must hold the tensor). */
function readCheckpointTensor(t: CheckpointTensor, scratch?: Uint8Array): Promise<Uint8Array> {
  return t.source.read(t.begin, t.end - t.begin, scratch);
}

/** One tensor's stored bytes decoded to float32 (F32, F16, BF16, F64); other dtypes are refused naming the file. */
function decodeCheckpointTensor(t: CheckpointTensor, bytes: Uint8Array): HostTensor {
  return decodeEntry(bytes, { dtype: t.dtype, shape: t.shape, begin: 0, end: bytes.length }, t.source.name, t.name);
}

/**
 * The checkpoint as a WeightSource: each read goes back to the tensor's file. BF16/F16 matrices stay
 * 16-bit on the GPU unless `f32` (every tensor f32, as before 16-bit storage).
 */
export function checkpointWeights(ck: HfCheckpoint, o: { f32?: boolean } = {}): WeightSource {
  const byName = new Map(ck.tensors.map((t) => [t.name, t]));
  const tensor = (name: string): CheckpointTensor => {
    const t = byName.get(name);
    if (!t) throw new Error(`${ck.weightFiles.join(', ')} has no tensor "${name}"`);
    return t;
  };
  const storedAs = (t: CheckpointTensor): StoredAs => (o.f32 ? undefined : storedHalf(t.dtype, t.shape)) ?? 'f32';
  return {
    config: ck.config,
    entries: ck.tensors.map((t) => {
      const fileDtype = t.dtype === 'BF16' ? 'bf16' : t.dtype === 'F16' ? 'f16' : undefined;
      return { name: t.name, shape: t.shape, stored: storedAs(t), ...(fileDtype ? { fileDtype } : {}) };
    }),
    origin: ck.weightFiles.length === 1 ? ck.weightFiles[0]! : `${ck.weightFiles.length} shards (${ck.weightFiles.map(baseName).join(', ')})`,
    async read(name) {
      const t = tensor(name);
      return decodeCheckpointTensor(t, await readCheckpointTensor(t));
    },
    async readStored(name, scratch) {
      const t = tensor(name);
      const stored = storedAs(t);
      const bytes = await readCheckpointTensor(t, scratch && scratch.length >= t.end - t.begin ? scratch : undefined);
      return stored === 'f32' ? { stored, data: decodeCheckpointTensor(t, bytes).data } : { stored, bytes };
    },
  };
}
