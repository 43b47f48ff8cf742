/**
 * Streamed loading: a Hugging Face checkpoint's tensors read one at a time from their files into one
 * reused buffer and uploaded. BF16 and F16 matrices stay 16-bit on the GPU (their bytes uploaded as
 * stored); 1-D norm gains and F32/F64 tensors become f32. The host never holds more than the largest
 * tensor (twice for a tensor decoded to f32), and no LlamaWeights is built.
 */
import type { Gpu } from '../gpu/gpu.ts';
import { fromHalfBits } from '../gpu/half.ts';
import type { Tensor, TensorDtype } from '../gpu/tensor.ts';
import { decodeCheckpointTensor, readCheckpointTensor, type CheckpointTensor, type HfCheckpoint } from '../io/hf-checkpoint.ts';
import { fingerprintOf, sampleBits, sampledIndices, type TensorSamples } from './fingerprint.ts';
import { LlamaModel } from './llama.ts';
import { storedHalf } from '../schema/tensors.ts';

export interface LoadCheckpointOptions {
  /** Keep every tensor in f32 (as before 16-bit storage); default false: 16-bit matrices stay 16-bit. */
  f32?: boolean;
  /** Called after each tensor is uploaded: bytes read so far and in all. */
  onProgress?: (done: number, total: number) => void;
}

export interface LoadedCheckpoint {
  model: LlamaModel;
  /** modelFingerprint of the same weights, computed while streaming. */
  fingerprint: string;
}

/** The GPU storage a checkpoint tensor gets: its own 16 bits for a BF16/F16 matrix, else f32. */
export function storageDtype(t: CheckpointTensor, f32 = false): TensorDtype {
  return f32 ? 'f32' : storedHalf(t.dtype, t.shape) ?? 'f32';
}

/** Upload every tensor of `ck`, one at a time. */
export async function loadCheckpointModel(gpu: Gpu, ck: HfCheckpoint, opts: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  const params = new Map<string, Tensor>();
  const samples = new Map<string, TensorSamples>();
  const scratch = new Uint8Array(ck.largestBytes);
  const total = ck.tensors.reduce((a, t) => a + t.end - t.begin, 0);
  let done = 0;
  try {
    for (const t of ck.tensors) {
      const bytes = await readCheckpointTensor(t, scratch);
      const dtype = storageDtype(t, opts.f32);
      if (dtype === 'f32') {
        const host = decodeCheckpointTensor(t, bytes);
        params.set(t.name, gpu.upload(t.name, host.shape, host.data));
        samples.set(t.name, { shape: host.shape, bits: sampleBits(host.data) });
      } else {
        params.set(t.name, gpu.uploadBytes(t.name, t.shape, dtype, bytes));
        samples.set(t.name, { shape: t.shape, bits: sampleBits16(bytes, dtype) });
      }
      done += t.end - t.begin;
      opts.onProgress?.(done, total);
    }
  } catch (e) {
    for (const p of params.values()) gpu.release(p);
    throw e;
  }
  const model = LlamaModel.fromParams(gpu, ck.config, params);
  return { model, fingerprint: fingerprintOf(ck.config, samples) };
}

/** The fingerprint's samples of a 16-bit tensor's bytes: the float32 bits of its sampled elements. */
function sampleBits16(bytes: Uint8Array, dtype: 'bf16' | 'f16'): Uint32Array {
  const count = bytes.length / 2;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const picked = Uint16Array.from(sampledIndices(count), (i) => dv.getUint16(2 * i, true));
  const values = fromHalfBits(picked, dtype);
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}
