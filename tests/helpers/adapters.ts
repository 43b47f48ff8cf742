/**
 * Deterministic random tensors for adapter (and model) file tests. Some tests compare exact bytes, so the
 * LCG, its scaling and the order of draws must not change.
 */
import type { MoraTensors } from '../../src/io/mora-file.ts';
import type { AdapterTensors } from '../../src/io/peft.ts';
import { moraRank, type MoraType } from '../../src/schema/mora.ts';
import { moduleShape } from '../../src/schema/tensors.ts';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';
import { moduleName, type HostTensor, type LinearModule } from '../../src/schema/tensors.ts';

/** Uniform draws in [−0.5, 0.5) from a 32-bit LCG (Numerical Recipes constants) seeded with `seed`. */
export function seededUniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** A tensor of `shape` filled, in row-major order, with draws from `next`. */
export function randomTensor(shape: number[], next: () => number): HostTensor {
  const n = shape.reduce((a, d) => a * d, 1);
  return { shape, data: Float32Array.from({ length: n }, next) };
}

/**
 * LoRA A (r, in), B (out, r) and, for DoRA, magnitude (out) for every target of every layer of `c`, drawn in
 * that order (layer by layer, target by target) from seededUniform(seed).
 */
export function randomLoraTensors(c: LlamaConfig, r: number, targets: LinearModule[], dora: boolean, seed = 1): AdapterTensors {
  const next = seededUniform(seed);
  const t: AdapterTensors = new Map();
  for (let i = 0; i < c.nLayers; i++) {
    for (const m of targets) {
      const [o, inF] = moduleShape(c, m);
      const entry = { A: randomTensor([r, inF], next), B: randomTensor([o, r], next) };
      t.set(moduleName(i, m), dora ? { ...entry, magnitude: randomTensor([o], next) } : entry);
    }
  }
  return t;
}

/** MoRA M (r̂, r̂) for every target of every layer of `c`, drawn layer by layer, target by target from seededUniform(seed). */
export function randomMoraTensors(c: LlamaConfig, r: number, type: MoraType, targets: LinearModule[], seed = 1): MoraTensors {
  const next = seededUniform(seed);
  const t: MoraTensors = new Map();
  for (let i = 0; i < c.nLayers; i++) {
    for (const m of targets) {
      const [o, inF] = moduleShape(c, m);
      const n = moraRank(inF, o, r, type);
      t.set(moduleName(i, m), randomTensor([n, n], next));
    }
  }
  return t;
}
