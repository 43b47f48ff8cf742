/** Fresh weights for training from scratch: N(0, 0.02²), residual outputs scaled by 1/√(2L), norms 1. */
import { Rng } from './sampling.ts';
import type { LlamaConfig } from '../schema/llama-config.ts';
import { expectedTensors, type LlamaWeights } from '../schema/tensors.ts';

export function initWeights(config: LlamaConfig, seed: number, std = 0.02): LlamaWeights {
  const rng = new Rng(seed);
  const normal = (): number => {
    const u = Math.max(rng.next(), 1e-12), v = rng.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of expectedTensors(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith('norm.weight') || name.endsWith('layernorm.weight')) data.fill(1);
    else {
      // Projections that write into the residual stream start smaller (GPT-2's scheme).
      const s = /o_proj|down_proj/.test(name) ? std / Math.sqrt(2 * config.nLayers) : std;
      for (let i = 0; i < data.length; i++) data[i] = normal() * s;
    }
    tensors.set(name, { shape, data });
  }
  return { config, tensors };
}
