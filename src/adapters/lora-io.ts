/** Moving LoRA and DoRA adapters between the GPU model and peft-format host tensors. */
import type { PeftAdapterConfig, AdapterTensors } from '../io/peft.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { LlamaModel } from '../model/llama.ts';
import { LINEAR_MODULES, linearName, moduleName, type LinearModule } from '../schema/tensors.ts';
import { DoraAdapter, doraBaseWeight } from './dora.ts';
import { LoraAdapter, type LoraConfig } from './lora.ts';

/** Read a model's LoRA (or DoRA) adapters back as peft tensors (A (r, in), B (out, r), DoRA m (out) per module). */
export async function readLoraTensors(model: LlamaModel): Promise<AdapterTensors> {
  const out: AdapterTensors = new Map();
  const read = async (t: Tensor) => ({ shape: [...t.shape], data: await model.gpu.read(t) });
  for (const [name, adapter] of model.adapters) {
    if (adapter instanceof DoraAdapter) {
      out.set(name, { A: await read(adapter.A), B: await read(adapter.B), magnitude: await read(adapter.magnitude) });
      continue;
    }
    if (!(adapter instanceof LoraAdapter)) throw new Error(`${name}: not a LoRA adapter`);
    out.set(name, { A: await read(adapter.A), B: await read(adapter.B) });
  }
  return out;
}

/** The targets present in a model's adapters, in canonical order. */
export function adapterTargets(model: LlamaModel): LinearModule[] {
  return LINEAR_MODULES.filter((m) => [...model.adapters.keys()].some((n) => n.endsWith(`.${m}_proj`)));
}

/** Attach LoRA adapters (DoRA when `config.useDora`) from peft tensors (validated against the model by readPeftAdapter). */
export function attachLoraTensors(model: LlamaModel, config: PeftAdapterConfig, tensors: AdapterTensors, seed = 0): void {
  const lora: LoraConfig = {
    rank: config.r, alpha: config.loraAlpha, rslora: config.useRslora, dropout: config.loraDropout, init: 'kaiming',
  };
  const gpu = model.gpu;
  let i = 0;
  for (let l = 0; l < model.config.nLayers; l++) {
    for (const m of LINEAR_MODULES) {
      const name = moduleName(l, m);
      const t = tensors.get(name);
      if (!t) continue;
      const [out, inF] = model.param(linearName(l, m)).shape as [number, number];
      if (t.A.shape[1] !== inF || t.B.shape[0] !== out) throw new Error(`${name}: adapter shape does not match the model`);
      const A = gpu.upload(`${name}.lora_A`, t.A.shape, t.A.data);
      const B = gpu.upload(`${name}.lora_B`, t.B.shape, t.B.data);
      model.adapters.get(name)?.dispose(gpu);
      if (config.useDora) {
        if (!t.magnitude || t.magnitude.shape[0] !== out) throw new Error(`${name}: DoRA adapter needs a magnitude vector of length ${out}`);
        doraBaseWeight(model, l, m); // its kernels read W in f32
        const magnitude = gpu.upload(`${name}.lora_magnitude_vector`, t.magnitude.shape, t.magnitude.data);
        model.adapters.set(name, new DoraAdapter(name, A, B, magnitude, lora, (seed + i++) >>> 0, gpu));
        continue;
      }
      model.adapters.set(name, new LoraAdapter(name, A, B, lora, (seed + i++) >>> 0, gpu));
    }
  }
}
