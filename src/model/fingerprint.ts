/**
 * A short fingerprint of a model's weights, to recognise the same base model again (a saved run
 * resumes only on the weights it trained). FNV-1a over the config, every tensor's name and shape,
 * and up to 4096 evenly spaced float bit patterns per tensor: cheap for any size, and any changed
 * weight file changes it in practice.
 */
import type { LlamaConfig } from '../schema/llama-config.ts';
import type { LlamaWeights } from '../schema/tensors.ts';

const SAMPLES_PER_TENSOR = 4096;

export function modelFingerprint(weights: LlamaWeights): string {
  const samples = new Map<string, TensorSamples>();
  for (const [name, t] of weights.tensors) samples.set(name, { shape: t.shape, bits: sampleBits(t.data) });
  return fingerprintOf(weights.config, samples);
}

/** What the fingerprint reads of one tensor: its shape and sampled float32 bit patterns. */
export interface TensorSamples {
  shape: readonly number[];
  bits: Uint32Array;
}

/** The evenly spaced elements of a tensor of `count` elements the fingerprint samples. */
export function sampledIndices(count: number): number[] {
  const stride = Math.max(1, Math.floor(count / SAMPLES_PER_TENSOR));
  const out: number[] = [];
  for (let i = 0; i < count; i += stride) out.push(i);
  return out;
}

/** The sampled float32 bit patterns of `data`. */
export function sampleBits(data: Float32Array): Uint32Array {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  return Uint32Array.from(sampledIndices(data.length), (i) => bits[i]!);
}

/** The fingerprint of a model from its config and every tensor's samples (streamed loading keeps only these). */
export function fingerprintOf(config: LlamaConfig, tensors: ReadonlyMap<string, TensorSamples>): string {
  let h = 0x811c9dc5;
  const mix = (x: number) => {
    h ^= x & 0xff;
    h = Math.imul(h, 0x01000193);
    h ^= (x >>> 8) & 0xff;
    h = Math.imul(h, 0x01000193);
    h ^= (x >>> 16) & 0xff;
    h = Math.imul(h, 0x01000193);
    h ^= x >>> 24;
    h = Math.imul(h, 0x01000193);
  };
  const text = (s: string) => {
    for (let i = 0; i < s.length; i++) mix(s.charCodeAt(i));
  };
  text(JSON.stringify(config));
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name)!;
    text(`${name}[${t.shape.join(',')}]`);
    for (const b of t.bits) mix(b);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
