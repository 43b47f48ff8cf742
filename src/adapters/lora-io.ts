/** Moving LoRA adapters between the GPU model and peft-format host tensors. */
import type { PeftAdapterConfig, AdapterTensors } from '../io/peft.ts';
import type { LlamaModel } from '../model/llama.ts';
import { LINEAR_MODULES, linearName, moduleName, type LinearModule } from '../model/weights.ts';
import { LoraAdapter, type LoraConfig } from './lora.ts';

/** Read a model's LoRA adapters back as peft tensors (A (r, in), B (out, r) per module). */
export async function readLoraTensors(model: LlamaModel): Promise<AdapterTensors> {
  const out: AdapterTensors = new Map();
  for (const [name, adapter] of model.adapters) {
    if (!(adapter instanceof LoraAdapter)) throw new Error(`${name}: not a LoRA adapter`);
    out.set(name, {
      A: { shape: [...adapter.A.shape], data: await model.gpu.read(adapter.A) },
      B: { shape: [...adapter.B.shape], data: await model.gpu.read(adapter.B) },
    });
  }
  return out;
}

/** The targets present in a model's adapters, in canonical order. */
export function adapterTargets(model: LlamaModel): LinearModule[] {
  return LINEAR_MODULES.filter((m) => [...model.adapters.keys()].some((n) => n.endsWith(`.${m}_proj`)));
}

/** Attach LoRA adapters from peft tensors (validated against the model by readPeftAdapter). */
export function attachLoraTensors(model: LlamaModel, config: PeftAdapterConfig, tensors: AdapterTensors, seed = 0): void {
  if (config.useDora) throw new Error('DoRA adapters are not supported yet');
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
      model.adapters.set(name, new LoraAdapter(name, A, B, lora, (seed + i++) >>> 0, gpu));
    }
  }
}
