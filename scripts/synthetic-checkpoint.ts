/**
 * Random BF16 LLaMA checkpoints with real models' widths, written at test or bench time (nothing is
 * downloaded): config.json and model.safetensors, or shards with model.safetensors.index.json. Each
 * tensor is generated and written on its own, so writing a 270 MB file holds one tensor at a time.
 * Matrices are uniform(±0.05) (like a 0.02-std init), norm gains 1 ± 0.1, all rounded to BF16.
 */
import { open, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { configToHfJson } from '../src/io/hf-config.ts';
import { encodeTensor, safetensorsHeaderBytes, type TensorSpec, type WritableDtype } from '../src/io/safetensors.ts';
import type { LlamaConfig } from '../src/schema/llama-config.ts';
import { expectedTensors } from '../src/schema/tensors.ts';

/** SmolLM2-135M: hidden 576, FFN 1536, 9 heads / 3 kv heads (head 64), vocab 49152, tied, 30 layers. */
export const SMOLLM2_135M: LlamaConfig = {
  dim: 576, hiddenDim: 1536, nLayers: 30, nHeads: 9, nKvHeads: 3, vocabSize: 49152, maxSeqLen: 8192,
  normEps: 1e-5, ropeTheta: 100000, tiedEmbeddings: true, bosId: 1, eosId: 2,
};

/** TinyLlama-1.1B: hidden 2048, FFN 5632, 32 heads / 4 kv heads (head 64), vocab 32000, untied, 22 layers. */
export const TINYLLAMA_1_1B: LlamaConfig = {
  dim: 2048, hiddenDim: 5632, nLayers: 22, nHeads: 32, nKvHeads: 4, vocabSize: 32000, maxSeqLen: 2048,
  normEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false, bosId: 1, eosId: 2,
};

export interface SyntheticOptions {
  /** Element type of every tensor (default BF16). */
  dtype?: WritableDtype;
  /** Split into this many shards (with model.safetensors.index.json); default 1: one model.safetensors. */
  shards?: number;
  seed?: number;
}

export interface SyntheticCheckpoint {
  dir: string;
  config: LlamaConfig;
  /** The weights files written (model.safetensors or the shards), absolute paths. */
  files: string[];
  /** Bytes of tensor data, and of the largest tensor. */
  dataBytes: number;
  largestBytes: number;
}

/** Deterministic uniform(−1, 1) values (xorshift32), `n` of them. */
function uniform(n: number, state: { s: number }): Float32Array {
  const out = new Float32Array(n);
  let s = state.s;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2147483648 - 1;
  }
  state.s = s;
  return out;
}

/** A tensor's values: norm gains (1-D) near 1, matrices small. */
function values(shape: readonly number[], state: { s: number }): Float32Array {
  const n = shape.reduce((a, d) => a * d, 1);
  const u = uniform(n, state);
  const [scale, offset] = shape.length === 1 ? [0.1, 1] : [0.05, 0];
  for (let i = 0; i < n; i++) u[i] = offset + scale * u[i]!;
  return u;
}

/** Write a random checkpoint of `config` into `dir` (created). */
export async function writeSyntheticCheckpoint(dir: string, config: LlamaConfig, opts: SyntheticOptions = {}): Promise<SyntheticCheckpoint> {
  const dtype = opts.dtype ?? 'BF16';
  const shards = opts.shards ?? 1;
  const state = { s: (opts.seed ?? 1) * 2654435761 || 1 };
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), configToHfJson(config).replace('"float32"', dtype === 'F32' ? '"float32"' : dtype === 'BF16' ? '"bfloat16"' : '"float16"'));
  const specs: TensorSpec[] = [...expectedTensors(config)].map(([name, shape]) => ({ name, dtype, shape }));
  const bytesOf = (s: TensorSpec) => s.shape.reduce((a, d) => a * d, 1) * (dtype === 'F32' ? 4 : 2);
  const dataBytes = specs.reduce((a, s) => a + bytesOf(s), 0);
  // Shards by bytes: tensors in order, a new shard once the current one passes its share.
  const groups: TensorSpec[][] = [[]];
  let inShard = 0;
  for (const s of specs) {
    if (inShard >= dataBytes / shards && groups.length < shards) {
      groups.push([]);
      inShard = 0;
    }
    groups.at(-1)!.push(s);
    inShard += bytesOf(s);
  }
  const names = groups.length === 1 ? ['model.safetensors'] : groups.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(groups.length).padStart(5, '0')}.safetensors`);
  const files: string[] = [];
  for (const [i, group] of groups.entries()) {
    const file = path.join(dir, names[i]!);
    const fh = await open(file, 'w');
    try {
      await fh.write(safetensorsHeaderBytes(group, { format: 'pt' }));
      for (const s of group) await fh.write(encodeTensor(values(s.shape, state), s.dtype));
    } finally {
      await fh.close();
    }
    files.push(file);
  }
  if (groups.length > 1) {
    const weightMap: Record<string, string> = {};
    groups.forEach((g, i) => g.forEach((s) => (weightMap[s.name] = names[i]!)));
    await writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: dataBytes }, weight_map: weightMap }, null, 2));
  }
  return { dir, config, files, dataBytes, largestBytes: Math.max(...specs.map(bytesOf)) };
}
