/**
 * llama2.c checkpoints ("v0"/legacy layout): a 28-byte header of 7 little-endian int32
 * (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len), then float32 tensors, all
 * layers of one tensor before the next. A negative vocab_size means an untied classifier at the end.
 * Loaded into HF tensor names and HF q/k row order (see weights.ts).
 */
import { validateConfig, type LlamaConfig } from '../schema/llama-config.ts';
import { attentionNormName, EMBED_NAME, expectedTensors, ffnNormName, FINAL_NORM_NAME, type HostTensor, linearName, type LlamaWeights, LM_HEAD_NAME } from '../schema/tensors.ts';
import { ModelFileError } from './errors.ts';
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
export function isLlama2cCheckpoint(bytes: Uint8Array): boolean {
  try {
    const h = readLlama2cHeader(bytes);
    return bytes.length === HEADER_BYTES + 4 * llama2cFloatCount(h);
  } catch {
    return false;
  }
}

/**
 * The file's byte count, checked against what header `h` implies (computed in float, before anything is
 * allocated): shorter is 'truncated' (or an absurd header, e.g. 2^24 layers), longer is 'byte-count'.
 */
function checkLlama2cSize(bytes: Uint8Array, h: Llama2cHeader, file = 'model.bin'): number {
  const floats = llama2cFloatCount(h);
  const expected = HEADER_BYTES + 4 * floats;
  if (expected === bytes.length) return expected;
  const implied = `the header (${describeHeader(h)}) implies ${formatCount(expected)} bytes (${formatCount(4 * floats)} bytes of weights after the ${HEADER_BYTES}-byte header) but the file has ${bytes.length}`;
  if (bytes.length < expected) throw new ModelFileError(file, `${implied}: truncated, or the header is wrong`, 'truncated');
  throw new ModelFileError(file, `${implied}; not a legacy llama2.c checkpoint?`, 'byte-count');
}

/** Parse a llama2.c checkpoint into HF-layout weights. */
export function parseLlama2c(bytes: Uint8Array, file = 'model.bin'): LlamaWeights {
  const h = readLlama2cHeader(bytes, file);
  const config = llama2cConfig(h);
  const expected = checkLlama2cSize(bytes, h, file);
  // One aligned copy of the float data; every tensor is a copy of a range of it.
  const f = new Float32Array(bytes.slice(HEADER_BYTES, expected).buffer);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (!le) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset + HEADER_BYTES);
    for (let i = 0; i < f.length; i++) f[i] = dv.getFloat32(i * 4, true);
  }
  let pos = 0;
  const take = (n: number): Float32Array => {
    const t = f.slice(pos, pos + n);
    pos += n;
    return t;
  };

  const { dim, hiddenDim: hid, nLayers: L, nHeads, nKvHeads, vocabSize: V } = config;
  const kv = (dim / nHeads) * nKvHeads;
  const tensors = new Map<string, HostTensor>();
  const perLayer = (name: (i: number) => string, shape: number[], fix?: (w: Float32Array) => Float32Array): void => {
    const n = shape.reduce((a, d) => a * d, 1);
    for (let i = 0; i < L; i++) {
      const w = take(n);
      tensors.set(name(i), { shape, data: fix ? fix(w) : w });
    }
  };
  // embedding (vocab, dim)
  tensors.set(EMBED_NAME, { shape: [V, dim], data: take(V * dim) });
  perLayer((i) => attentionNormName(i), [dim]);
  perLayer((i) => linearName(i, 'q'), [dim, dim], (w) => metaToHfRows(w, nHeads, dim, dim));
  perLayer((i) => linearName(i, 'k'), [kv, dim], (w) => metaToHfRows(w, nKvHeads, kv, dim));
  perLayer((i) => linearName(i, 'v'), [kv, dim]);
  perLayer((i) => linearName(i, 'o'), [dim, dim]);
  perLayer((i) => ffnNormName(i), [dim]);
  perLayer((i) => linearName(i, 'gate'), [hid, dim]); // w1
  perLayer((i) => linearName(i, 'down'), [dim, hid]); // w2
  perLayer((i) => linearName(i, 'up'), [hid, dim]); // w3
  tensors.set(FINAL_NORM_NAME, { shape: [dim], data: take(dim) });
  pos += config.maxSeqLen * (dim / nHeads); // skip the old RoPE cos/sin tables
  if (!config.tiedEmbeddings) tensors.set(LM_HEAD_NAME, { shape: [V, dim], data: take(V * dim) });
  return { config, tensors: orderLike(config, tensors) };
}

/** The tensors in expectedTensors order (embedding, layer by layer, norm, head). */
function orderLike(c: LlamaConfig, t: Map<string, HostTensor>): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const name of expectedTensors(c).keys()) out.set(name, t.get(name)!);
  return out;
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
