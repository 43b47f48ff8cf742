/** Dense updates ΔW per linear module: from a model's adapters, or between a tuned model and its base (ΔW = W − W₀). */
import { ModelFileError } from '../io/errors.ts';
import type { LlamaModel } from '../model/llama.ts';
import type { LlamaConfig } from '../schema/llama-config.ts';
import type { WeightSource } from '../io/weight-source.ts';
import { LINEAR_MODULES, linearName, moduleName, moduleShape } from '../schema/tensors.ts';
import type { DenseUpdate } from './lora-conversion.ts';

/** ΔW of every adapter on `model` (MoRA's, DoRA's merged change, LoRA's s·B·A), read back. */
export async function adapterUpdates(model: LlamaModel): Promise<Map<string, DenseUpdate>> {
  const out = new Map<string, DenseUpdate>();
  for (const [name, adapter] of model.adapters) {
    const W = model.param(`${name}.weight`);
    const [rows, cols] = W.shape as [number, number];
    const D = adapter.deltaWeight(model.gpu, W); // (out, in)
    try {
      out.set(name, { out: rows, in: cols, data: await model.gpu.read(D) });
    } finally {
      model.gpu.release(D);
    }
  }
  return out;
}

const ARCH_FIELDS: (keyof LlamaConfig)[] = ['dim', 'hiddenDim', 'nLayers', 'nHeads', 'nKvHeads', 'vocabSize', 'tiedEmbeddings'];

/**
 * W − W₀ of every linear module that changed, and the names of other tensors that changed (embeddings,
 * norms: a LoRA cannot carry them). Both models are read one tensor at a time. `tunedFile` names the
 * tuned model in errors.
 */
export async function weightUpdates(base: WeightSource, tuned: WeightSource, tunedFile: string): Promise<{ updates: Map<string, DenseUpdate>; notCarried: string[] }> {
  for (const k of ARCH_FIELDS) {
    if (base.config[k] !== tuned.config[k]) {
      throw new ModelFileError(tunedFile, `another architecture than the base model: ${k} is ${String(tuned.config[k])}, the base has ${String(base.config[k])}`, 'config');
    }
  }
  const updates = new Map<string, DenseUpdate>();
  const linear = new Set<string>();
  for (let l = 0; l < base.config.nLayers; l++) {
    for (const m of LINEAR_MODULES) {
      const name = linearName(l, m);
      linear.add(name);
      const [out, inF] = moduleShape(base.config, m);
      const w0 = (await base.read(name)).data;
      const data = (await tuned.read(name)).data; // becomes W − W₀ in place
      let changed = false;
      for (let i = 0; i < data.length; i++) if ((data[i] = data[i]! - w0[i]!) !== 0) changed = true;
      if (changed) updates.set(moduleName(l, m), { out, in: inF, data });
    }
  }
  const notCarried: string[] = [];
  for (const { name } of base.entries) {
    if (linear.has(name)) continue;
    const [t, u] = [(await base.read(name)).data, (await tuned.read(name)).data];
    if (t.some((v, i) => v !== u[i])) notCarried.push(name);
  }
  if (updates.size === 0) throw new ModelFileError(tunedFile, 'no linear module differs from the base model: nothing to convert', 'format');
  return { updates, notCarried };
}
