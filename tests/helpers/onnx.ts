/** Running an exported decoder in onnxruntime (the Node binding or onnxruntime-web's WASM build): feeds in optimum's layout. */
import type * as ortNode from 'onnxruntime-node';
import { f16ToF32 } from '../../src/gpu/half.ts';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';

type Ort = typeof ortNode;
type Session = ortNode.InferenceSession;
type OrtTensor = ortNode.Tensor;

/** present.{i}.key/value of one run, to feed back as past_key_values. */
export type Past = Map<string, OrtTensor>;

const i64 = (v: readonly number[]): BigInt64Array => BigInt64Array.from(v.map((x) => BigInt(x)));

/**
 * Run `ids` after `past` (empty: past length 0) for batch 1: logits (S, V) as float32, and the new past.
 * `dtype` is the cache's element type (float16 caches are zero-length Uint16Arrays when empty).
 */
export async function runDecoder(
  ort: Ort, session: Session, c: LlamaConfig, ids: readonly number[], past?: Past, dtype: 'float32' | 'float16' = 'float32',
): Promise<{ logits: Float32Array; past: Past }> {
  const hd = c.dim / c.nHeads;
  const P = past ? (past.get('present.0.key')!.dims[2] as number) : 0;
  const S = ids.length;
  const feeds: Record<string, OrtTensor> = {
    input_ids: new ort.Tensor('int64', i64(ids), [1, S]),
    attention_mask: new ort.Tensor('int64', i64(Array(P + S).fill(1)), [1, P + S]),
    position_ids: new ort.Tensor('int64', i64(ids.map((_, i) => P + i)), [1, S]),
  };
  for (let l = 0; l < c.nLayers; l++) {
    for (const kv of ['key', 'value']) {
      feeds[`past_key_values.${l}.${kv}`] = past?.get(`present.${l}.${kv}`) ??
        new ort.Tensor(dtype, dtype === 'float32' ? new Float32Array(0) : new Uint16Array(0), [1, c.nKvHeads, 0, hd]);
    }
  }
  const out = await session.run(feeds);
  const next: Past = new Map();
  for (const [name, t] of Object.entries(out)) if (name.startsWith('present.')) next.set(name, t);
  const raw = out.logits!;
  return { logits: raw.type === 'float16' ? f16ToF32(raw.data as Uint16Array) : (raw.data as Float32Array), past: next };
}

/** A fixed 32-token sequence inside the vocabulary (BOS first). */
export function testIds(c: LlamaConfig, n = 32): number[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? c.bosId : (i * 37 + 11) % c.vocabSize));
}
