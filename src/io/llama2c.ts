/**
 * llama2.c checkpoints ("v0"/legacy layout): a 28-byte header of 7 little-endian int32
 * (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len), then float32 tensors, all
 * layers of one tensor before the next. A negative vocab_size means an untied classifier at the end.
 * Loaded into HF tensor names and HF q/k row order (see weights.ts).
 */
import { validateConfig, type LlamaConfig } from '../schema/llama-config.ts';
import { attentionNormName, EMBED_NAME, expectedTensors, ffnNormName, FINAL_NORM_NAME, type HostTensor, linearName, type LlamaWeights, LM_HEAD_NAME } from '../schema/tensors.ts';
import type { ByteSource } from './byte-source.ts';
import { ModelFileError } from './errors.ts';
import type { WeightSource } from './weight-source.ts';
import { formatCount, llamaWeightCount } from './weight-count.ts';

const HEADER_BYTES = 28;
/** First int32 of llama2.c's newer "ak42" exports (version 1/2), which this reader does not handle. */
const AK42_MAGIC = 0x616b3432;

/** The 7 header numbers as stored (vocabSize may be negative). */
export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
}

/** Config of a llama2.c checkpoint: run.c's fixed constants plus the header numbers. */
export function llama2cConfig(h: Llama2cHeader): LlamaConfig {
  return {
    dim: h.dim, hiddenDim: h.hiddenDim, nLayers: h.nLayers, nHeads: h.nHeads, nKvHeads: h.nKvHeads,
    vocabSize: Math.abs(h.vocabSize), maxSeqLen: h.seqLen,
    normEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: h.vocabSize > 0, bosId: 1, eosId: 2,
  };
}

/**
 * Number of float32 values after the header that `h` implies (RoPE tables and wcls included), in closed
 * form: a float, exact below 2^53, never a per-layer loop (the header may claim 2^31 layers).
 */
export function llama2cFloatCount(h: Llama2cHeader): number {
  const c = llama2cConfig(h);
  // old RoPE cos and sin tables, seq_len × head_size/2 each
  return llamaWeightCount(c) + c.maxSeqLen * (c.dim / c.nHeads);
}

const HEADER_NAMES = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;

/** "dim 64, hidden_dim 172, ..., seq_len 512": the header as stored. */
const describeHeader = (h: Llama2cHeader): string =>
  [h.dim, h.hiddenDim, h.nLayers, h.nHeads, h.nKvHeads, h.vocabSize, h.seqLen].map((v, i) => `${HEADER_NAMES[i]} ${v}`).join(', ');

/**
 * Read and sanity-check the header (positive numbers that describe a LLaMA); throws ModelFileError
 * 'truncated' / 'config' / 'format'. Whether the file is as long as the header implies is
 * checkLlama2cSize's job.
 */
export function readLlama2cHeader(bytes: Uint8Array, file = 'model.bin'): Llama2cHeader {
  if (bytes.length < HEADER_BYTES) {
    throw new ModelFileError(file, `truncated: expected at least a ${HEADER_BYTES}-byte header, got ${bytes.length} bytes`, 'truncated');
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const v = Array.from({ length: 7 }, (_, i) => dv.getInt32(i * 4, true));
  if (dv.getUint32(0, true) === AK42_MAGIC) {
    throw new ModelFileError(file, `llama2.c "ak42" export (version ${v[1]}) is not supported; export with the legacy (v0) format`, 'format');
  }
  const h: Llama2cHeader = { dim: v[0]!, hiddenDim: v[1]!, nLayers: v[2]!, nHeads: v[3]!, nKvHeads: v[4]!, vocabSize: v[5]!, seqLen: v[6]! };
  v.forEach((x, i) => {
    const a = i === 5 ? Math.abs(x) : x;
    if (a <= 0) {
      throw new ModelFileError(file, `header ${HEADER_NAMES[i]} = ${x} is not a plausible value (header: ${v.join(', ')}); not a llama2.c checkpoint?`, 'config');
    }
  });
  try {
    validateConfig(llama2cConfig(h), 'header');
  } catch (e) {
    throw new ModelFileError(file, `${(e as Error).message} (header: ${v.join(', ')}); not a llama2.c checkpoint?`, 'config');
  }
  return h;
}

/** True when `bytes` has a plausible llama2.c header and exactly the size it implies. */
export const isLlama2cCheckpoint = (bytes: Uint8Array): boolean => isLlama2cFile(bytes, bytes.length);

/** True when a file of `size` bytes starting with `head` (≥ 28 bytes) has a plausible llama2.c header and exactly the size it implies. */
export function isLlama2cFile(head: Uint8Array, size: number): boolean {
  try {
    const h = readLlama2cHeader(head);
    return size === HEADER_BYTES + 4 * llama2cFloatCount(h);
  } catch {
    return false;
  }
}

/** The 28 header bytes a llama2.c checkpoint starts with (fewer when the file is shorter). */
export const llama2cHead = (src: ByteSource): Promise<Uint8Array> => src.read(0, Math.min(HEADER_BYTES, src.size));

/** One tensor of a llama2.c checkpoint: its float offset after the header, and for q/k the heads whose rows are permuted to HF order. */
interface Llama2cTensor {
  name: string;
  shape: number[];
  at: number;
  permuteHeads?: number;
}

/** Every tensor of the checkpoint in file order (all layers of one tensor before the next), in HF names and shapes. */
function llama2cLayout(config: LlamaConfig): Llama2cTensor[] {
  const { dim, hiddenDim: hid, nLayers: L, nHeads, nKvHeads, vocabSize: V } = config;
  const kv = (dim / nHeads) * nKvHeads;
  const out: Llama2cTensor[] = [];
  let at = 0;
  const one = (name: string, shape: number[], permuteHeads?: number) => {
    out.push({ name, shape, at, ...(permuteHeads ? { permuteHeads } : {}) });
    at += shape.reduce((a, d) => a * d, 1);
  };
  const perLayer = (name: (i: number) => string, shape: number[], permuteHeads?: number) => {
    for (let i = 0; i < L; i++) one(name(i), shape, permuteHeads);
  };
  one(EMBED_NAME, [V, dim]);
  perLayer((i) => attentionNormName(i), [dim]);
  perLayer((i) => linearName(i, 'q'), [dim, dim], nHeads);
  perLayer((i) => linearName(i, 'k'), [kv, dim], nKvHeads);
  perLayer((i) => linearName(i, 'v'), [kv, dim]);
  perLayer((i) => linearName(i, 'o'), [dim, dim]);
  perLayer((i) => ffnNormName(i), [dim]);
  perLayer((i) => linearName(i, 'gate'), [hid, dim]); // w1
  perLayer((i) => linearName(i, 'down'), [dim, hid]); // w2
  perLayer((i) => linearName(i, 'up'), [hid, dim]); // w3
  one(FINAL_NORM_NAME, [dim]);
  at += config.maxSeqLen * (dim / nHeads); // the old RoPE cos/sin tables, not read
  if (!config.tiedEmbeddings) one(LM_HEAD_NAME, [V, dim]);
  const order = [...expectedTensors(config).keys()];
  return out.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

/** A tensor's float32 values from its little-endian bytes, in HF row order. */
function decodeLlama2c(t: Llama2cTensor, bytes: Uint8Array): Float32Array {
  const n = bytes.length / 4;
  let f: Float32Array;
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) f = new Float32Array(bytes.buffer, bytes.byteOffset, n).slice();
  else {
    f = new Float32Array(n);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) f[i] = dv.getFloat32(i * 4, true);
  }
  return t.permuteHeads ? metaToHfRows(f, t.permuteHeads, t.shape[0]!, t.shape[1]!) : f;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A llama2.c checkpoint as a WeightSource: the header read and checked against the file's size, then
 * each tensor read from its range when asked for (f32 on the GPU).
 */
export async function openLlama2c(src: ByteSource): Promise<WeightSource> {
  const h = readLlama2cHeader(await llama2cHead(src), src.name);
  checkLlama2cSize(src.size, h, src.name);
  const config = llama2cConfig(h);
  const layout = llama2cLayout(config);
  const byName = new Map(layout.map((t) => [t.name, t]));
  /** Tensor `name`'s bytes, into `scratch` when it holds them. */
  const bytesOf = async (name: string, scratch?: Uint8Array): Promise<{ t: Llama2cTensor; n: number; bytes: Uint8Array }> => {
    const t = byName.get(name);
    if (!t) throw new Error(`${src.name} has no tensor "${name}"`);
    const n = t.shape.reduce((a, d) => a * d, 1);
    return { t, n, bytes: await src.read(HEADER_BYTES + 4 * t.at, 4 * n, scratch && scratch.length >= 4 * n ? scratch : undefined) };
  };
  return {
    config, origin: src.name,
    entries: layout.map((t) => ({ name: t.name, shape: t.shape, stored: 'f32' as const })),
    async read(name) {
      const { t, bytes } = await bytesOf(name);
      return { shape: [...t.shape], data: decodeLlama2c(t, bytes) };
    },
    async readStored(name, scratch) {
      // Into the caller's buffer, and uploaded from a view of it when no rows move: no allocation per tensor.
      const { t, n, bytes } = await bytesOf(name, scratch);
      const view = !t.permuteHeads && LITTLE_ENDIAN && bytes.byteOffset % 4 === 0;
      return { stored: 'f32', data: view ? new Float32Array(bytes.buffer, bytes.byteOffset, n) : decodeLlama2c(t, bytes) };
    },
  };
}

/**
 * The file's byte count, checked against what header `h` implies (computed in float, before anything is
 * allocated): shorter is 'truncated' (or an absurd header, e.g. 2^24 layers), longer is 'byte-count'.
 */
function checkLlama2cSize(size: number, h: Llama2cHeader, file = 'model.bin'): number {
  const floats = llama2cFloatCount(h);
  const expected = HEADER_BYTES + 4 * floats;
  if (expected === size) return expected;
  const implied = `the header (${describeHeader(h)}) implies ${formatCount(expected)} bytes (${formatCount(4 * floats)} bytes of weights after the ${HEADER_BYTES}-byte header) but the file has ${size}`;
  if (size < expected) throw new ModelFileError(file, `${implied}: truncated, or the header is wrong`, 'truncated');
  throw new ModelFileError(file, `${implied}; not a legacy llama2.c checkpoint?`, 'byte-count');
}

/** Parse a llama2.c checkpoint held in memory into HF-layout weights. */
export function parseLlama2c(bytes: Uint8Array, file = 'model.bin'): LlamaWeights {
  const h = readLlama2cHeader(bytes, file);
  checkLlama2cSize(bytes.length, h, file);
  const config = llama2cConfig(h);
  const tensors = new Map<string, HostTensor>();
  for (const t of llama2cLayout(config)) {
    const n = t.shape.reduce((a, d) => a * d, 1);
    tensors.set(t.name, { shape: t.shape, data: decodeLlama2c(t, bytes.subarray(HEADER_BYTES + 4 * t.at, HEADER_BYTES + 4 * (t.at + n))) });
  }
  return { config, tensors };
}

/**
 * Serialise HF-layout weights as a legacy llama2.c checkpoint (inverse of parseLlama2c). RoPE theta
 * and eps are not stored: run.c assumes 10000 and 1e-5.
 */
export function writeLlama2c(w: LlamaWeights): Uint8Array {
  const c = w.config;
  validateConfig(c, 'writeLlama2c');
  const hd = c.dim / c.nHeads;
  const kv = hd * c.nKvHeads;
  const h: Llama2cHeader = {
    dim: c.dim, hiddenDim: c.hiddenDim, nLayers: c.nLayers, nHeads: c.nHeads, nKvHeads: c.nKvHeads,
    vocabSize: c.tiedEmbeddings ? c.vocabSize : -c.vocabSize, seqLen: c.maxSeqLen,
  };
  const out = new Uint8Array(HEADER_BYTES + 4 * llama2cFloatCount(h));
  const dv = new DataView(out.buffer);
  [h.dim, h.hiddenDim, h.nLayers, h.nHeads, h.nKvHeads, h.vocabSize, h.seqLen].forEach((x, i) => dv.setInt32(i * 4, x, true));
  let pos = HEADER_BYTES;
  const put = (data: Float32Array): void => {
    for (let i = 0; i < data.length; i++) dv.setFloat32(pos + i * 4, data[i]!, true);
    pos += data.length * 4;
  };
  const get = (name: string): Float32Array => {
    const t = w.tensors.get(name);
    const shape = expectedTensors({ ...c, tiedEmbeddings: false }).get(name)!;
    if (!t) throw new ModelFileError('model.bin', `cannot write: tensor "${name}" is missing`, 'missing-tensor');
    if (t.data.length !== shape.reduce((a, d) => a * d, 1)) {
      throw new ModelFileError('model.bin', `cannot write: tensor "${name}" has ${t.data.length} values, expected [${shape.join(', ')}]`, 'config');
    }
    return t.data;
  };
  const layers = (f: (i: number) => Float32Array): void => { for (let i = 0; i < c.nLayers; i++) put(f(i)); };
  put(get(EMBED_NAME));
  layers((i) => get(attentionNormName(i)));
  layers((i) => hfToMetaRows(get(linearName(i, 'q')), c.nHeads, c.dim, c.dim));
  layers((i) => hfToMetaRows(get(linearName(i, 'k')), c.nKvHeads, kv, c.dim));
  layers((i) => get(linearName(i, 'v')));
  layers((i) => get(linearName(i, 'o')));
  layers((i) => get(ffnNormName(i)));
  layers((i) => get(linearName(i, 'gate')));
  layers((i) => get(linearName(i, 'down')));
  layers((i) => get(linearName(i, 'up')));
  put(get(FINAL_NORM_NAME));
  // freqs_cos then freqs_sin, (seq_len, head_size/2), as llama2.c's legacy_export writes them.
  const cos = new Float32Array(c.maxSeqLen * (hd / 2));
  const sin = new Float32Array(c.maxSeqLen * (hd / 2));
  for (let p = 0; p < c.maxSeqLen; p++) {
    for (let i = 0; i < hd / 2; i++) {
      const a = p * Math.pow(c.ropeTheta, (-2 * i) / hd);
      cos[p * (hd / 2) + i] = Math.cos(a);
      sin[p * (hd / 2) + i] = Math.sin(a);
    }
  }
  put(cos);
  put(sin);
  if (!c.tiedEmbeddings) put(get(LM_HEAD_NAME));
  return out;
}

/**
 * Row permutation between llama2.c/Meta (RoPE on adjacent pairs) and HF (RoPE on halves) for a
 * q or k weight of `nHeads` heads: HF row (h, half, i) = Meta row (h, 2i + half). As in transformers'
 * convert_llama_weights_to_hf: w.view(n_heads, hd/2, 2, in).transpose(1, 2).reshape(out, in).
 */
export function metaToHfRows(w: Float32Array, nHeads: number, rows: number, cols: number): Float32Array {
  const hd = rows / nHeads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let half = 0; half < 2; half++) {
      for (let i = 0; i < hd / 2; i++) {
        const dst = h * hd + half * (hd / 2) + i;
        const src = h * hd + 2 * i + half;
        out.set(w.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}

/** Inverse of metaToHfRows. */
export function hfToMetaRows(w: Float32Array, nHeads: number, rows: number, cols: number): Float32Array {
  const hd = rows / nHeads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let half = 0; half < 2; half++) {
      for (let i = 0; i < hd / 2; i++) {
        const src = h * hd + half * (hd / 2) + i;
        const dst = h * hd + 2 * i + half;
        out.set(w.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}
