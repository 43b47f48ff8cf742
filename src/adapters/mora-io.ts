/** Moving MoRA adapters between the GPU model and host tensors (src/io/mora-file.ts reads and writes the files). */
import type { MoraAdapterConfig, MoraTensors } from '../io/mora-file.ts';
import type { LlamaModel } from '../model/llama.ts';
import { LINEAR_MODULES, linearName, moduleName } from '../schema/tensors.ts';
import { adapterTargets } from './lora-io.ts';
import { MoraAdapter } from './mora.ts';

/** The model's MoRA adapters as host tensors: M (r̂, r̂) per module. */
export async function readMoraTensors(model: LlamaModel): Promise<MoraTensors> {
  const out: MoraTensors = new Map();
  for (const [name, adapter] of model.adapters) {
    if (!(adapter instanceof MoraAdapter)) throw new Error(`${name}: not a MoRA adapter`);
    out.set(name, { shape: [...adapter.M.shape], data: await model.gpu.read(adapter.M) });
  }
  return out;
}

/** The file config describing the model's MoRA adapters (every one shares r and the type). */
export function moraConfigOf(model: LlamaModel, baseModelName: string): MoraAdapterConfig {
  const first = [...model.adapters.values()][0];
  if (!(first instanceof MoraAdapter)) throw new Error('the model carries no MoRA adapters');
  return { r: first.config.rank, moraType: first.config.type, targetModules: adapterTargets(model), baseModelName };
}

/**
 * Attach MoRA adapters from host tensors (validated against the model by readMoraAdapter), replacing
 * any adapter a module had. `dropout` applies when they are trained further.
 */
export function attachMoraTensors(model: LlamaModel, config: MoraAdapterConfig, tensors: MoraTensors, seed = 0, dropout = 0): void {
  const gpu = model.gpu;
  let i = 0;
  for (let l = 0; l < model.config.nLayers; l++) {
    for (const m of LINEAR_MODULES) {
      const name = moduleName(l, m);
      const t = tensors.get(name);
      if (!t) continue;
      const [out, inF] = model.param(linearName(l, m)).shape as [number, number];
      const M = gpu.upload(`${name}.mora_M`, t.shape, t.data);
      let adapter: MoraAdapter;
      try {
        adapter = new MoraAdapter(name, M, out, inF, { rank: config.r, type: config.moraType, dropout }, (seed + i++) >>> 0, gpu);
      } catch (e) {
        gpu.release(M);
        throw e;
      }
      model.adapters.get(name)?.dispose(gpu);
      model.adapters.set(name, adapter);
    }
  }
}
