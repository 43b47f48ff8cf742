/**
 * A short fingerprint of a model's weights, to recognise the same base model again (a saved run
 * resumes only on the weights it trained). FNV-1a over the config, every tensor's name and shape,
 * and up to 4096 evenly spaced float bit patterns per tensor: cheap for any size, and any changed
 * weight file changes it in practice.
 */
import type { LlamaWeights } from '../schema/tensors.ts';

const SAMPLES_PER_TENSOR = 4096;

export function modelFingerprint(weights: LlamaWeights): string {
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
  text(JSON.stringify(weights.config));
  for (const name of [...weights.tensors.keys()].sort()) {
    const t = weights.tensors.get(name)!;
    text(`${name}[${t.shape.join(',')}]`);
    const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    const stride = Math.max(1, Math.floor(bits.length / SAMPLES_PER_TENSOR));
    for (let i = 0; i < bits.length; i += stride) mix(bits[i]!);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
