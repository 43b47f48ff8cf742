/**
 * Streamed loading: a model's tensors read one at a time from a WeightSource (a checkpoint's files, or
 * weights in memory) and uploaded, 16-bit matrices through one reused buffer. BF16 and F16 matrices stay
 * 16-bit on the GPU (their bytes uploaded as stored); 1-D norm gains and F32/F64 tensors become f32. The
 * host never holds more than the largest tensor (twice for a tensor decoded to f32).
 */
import type { Gpu } from '../gpu/gpu.ts';
import { fromHalfBits } from '../gpu/half.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { largestStoredBytes, type WeightSource } from '../io/weight-source.ts';
import { fingerprintOf, sampleBits, sampledIndices, type TensorSamples } from './fingerprint.ts';
import { LlamaModel } from './llama.ts';

export interface LoadModelOptions {
  /** Called after each tensor is uploaded: tensors done and in all. */
  onProgress?: (done: number, total: number) => void;
}

export interface LoadedWeights {
  model: LlamaModel;
  /** modelFingerprint of the same weights, computed while streaming. */
  fingerprint: string;
}

/** Upload every tensor of `src`, one at a time. */
export async function loadModel(gpu: Gpu, src: WeightSource, opts: LoadModelOptions = {}): Promise<LoadedWeights> {
  const params = new Map<string, Tensor>();
  const samples = new Map<string, TensorSamples>();
  const scratch = new Uint8Array(largestStoredBytes(src)); // every read goes into it: one host buffer for the whole load
  let done = 0;
  try {
    for (const e of src.entries) {
      const t = await src.readStored(e.name, scratch);
      if (t.stored === 'f32') {
        params.set(e.name, gpu.upload(e.name, [...e.shape], t.data));
        samples.set(e.name, { shape: e.shape, bits: sampleBits(t.data) });
      } else {
        params.set(e.name, gpu.uploadBytes(e.name, [...e.shape], t.stored, t.bytes));
        samples.set(e.name, { shape: e.shape, bits: sampleBits16(t.bytes, t.stored) });
      }
      opts.onProgress?.(++done, src.entries.length);
    }
  } catch (e) {
    for (const p of params.values()) gpu.release(p);
    throw e;
  }
  const fileDtypes = new Map(src.entries.flatMap((e) => (e.fileDtype ? [[e.name, e.fileDtype] as const] : [])));
  const model = LlamaModel.fromParams(gpu, src.config, params, fileDtypes);
  return { model, fingerprint: fingerprintOf(src.config, samples) };
}

/** The fingerprint's samples of a 16-bit tensor's bytes: the float32 bits of its sampled elements. */
function sampleBits16(bytes: Uint8Array, dtype: 'bf16' | 'f16'): Uint32Array {
  const count = bytes.length / 2;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const picked = Uint16Array.from(sampledIndices(count), (i) => dv.getUint16(2 * i, true));
  const values = fromHalfBits(picked, dtype);
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}
