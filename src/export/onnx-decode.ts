/**
 * Decoding with an exported decoder in onnxruntime (onnxruntime-web in the page or in Node, or
 * onnxruntime-node): feeds in optimum's layout, the KV cache carried from present.* to past_key_values.*,
 * and greedy generation that stops where the engine's generate does (BOS/EOS left out, maxTokens, the
 * end of the context). The runtime is passed in, so this file loads none of them.
 */
import { f16ToF32 } from '../gpu/half.ts';
import { argmax } from '../model/sampling.ts';
import { headDim, type LlamaConfig } from '../schema/llama-config.ts';

/** The parts of an onnxruntime tensor the decoder reads. */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
  dispose(): void;
}

/** The parts of an onnxruntime module the decoder uses (onnxruntime-web or onnxruntime-node). */
export interface OrtLike {
  Tensor: {
    new (type: 'int64', data: BigInt64Array, dims: readonly number[]): OrtTensorLike;
    new (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensorLike;
    new (type: 'float16', data: Uint16Array, dims: readonly number[]): OrtTensorLike;
  };
}

/** An InferenceSession of an exported decoder. */
export interface OrtSessionLike {
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
}

/** present.{i}.key/value of one run, to feed back as past_key_values. */
export type Past = Map<string, OrtTensorLike>;

const i64 = (v: readonly number[]): BigInt64Array => BigInt64Array.from(v.map((x) => BigInt(x)));

/**
 * Run `ids` after `past` (none: past length 0) for batch 1: logits (S, V) as float32, and the new past.
 * `dtype` is the cache's element type (an empty float16 cache is a zero-length Uint16Array).
 */
export async function runDecoder(
  ort: OrtLike, session: OrtSessionLike, c: LlamaConfig, ids: readonly number[], past?: Past, dtype: 'float32' | 'float16' = 'float32',
): Promise<{ logits: Float32Array; past: Past }> {
  const P = past ? (past.get('present.0.key')!.dims[2] as number) : 0;
  const S = ids.length;
  const feeds: Record<string, OrtTensorLike> = {
    input_ids: new ort.Tensor('int64', i64(ids), [1, S]),
    attention_mask: new ort.Tensor('int64', i64(Array(P + S).fill(1)), [1, P + S]),
    position_ids: new ort.Tensor('int64', i64(ids.map((_, i) => P + i)), [1, S]),
  };
  const empty = [1, c.nKvHeads, 0, headDim(c)];
  for (let l = 0; l < c.nLayers; l++) {
    for (const kv of ['key', 'value']) {
      feeds[`past_key_values.${l}.${kv}`] = past?.get(`present.${l}.${kv}`) ??
        (dtype === 'float32' ? new ort.Tensor('float32', new Float32Array(0), empty) : new ort.Tensor('float16', new Uint16Array(0), empty));
    }
  }
  const out = await session.run(feeds);
  const next: Past = new Map();
  for (const [name, t] of Object.entries(out)) if (name.startsWith('present.')) next.set(name, t);
  const raw = out.logits!;
  return { logits: raw.type === 'float16' ? f16ToF32(raw.data as Uint16Array) : (raw.data as Float32Array), past: next };
}

export interface OnnxGreedyResult {
  /** The prompt's ids followed by the generated ones (the stop token left out). */
  ids: number[];
  newTokens: number;
  /** Wall time of the whole generation (prompt included), ms. */
  ms: number;
}

/**
 * Greedy generation from `promptIds` (BOS included): up to `maxTokens` new tokens, stopping before
 * BOS or EOS and at the model's context, as the engine's generate does at temperature 0.
 */
export async function onnxGreedy(
  ort: OrtLike, session: OrtSessionLike, c: LlamaConfig, promptIds: readonly number[], maxTokens: number, dtype: 'float32' | 'float16' = 'float32',
  shouldStop?: () => boolean,
): Promise<OnnxGreedyResult> {
  const started = performance.now();
  const ids = [...promptIds];
  const capacity = Math.min(c.maxSeqLen, ids.length + maxTokens);
  const stops = new Set([c.bosId, c.eosId]);
  let step = await runDecoder(ort, session, c, ids, undefined, dtype);
  let newTokens = 0;
  try {
    for (let n = 0; n < maxTokens && !shouldStop?.(); n++) {
      const next = argmax(step.logits.subarray(step.logits.length - c.vocabSize));
      if (stops.has(next)) break;
      ids.push(next);
      newTokens++;
      if (ids.length >= capacity) break;
      const prev = step.past;
      step = await runDecoder(ort, session, c, [next], prev, dtype);
      for (const t of prev.values()) t.dispose();
    }
  } finally {
    for (const t of step.past.values()) t.dispose();
  }
  return { ids, newTokens, ms: performance.now() - started };
}
