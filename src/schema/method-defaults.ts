/**
 * Default learning rate and step count per method, chosen from measurements on the built-in model
 * (docs/defaults.md, `scripts/measure-defaults.ts`): with them a default run (batch 4, seq 128)
 * visibly changes greedy generation on the new-facts and new-style demos without diverging.
 */
import type { Method } from './train-config.ts';

export interface MethodDefaults {
  lr: number;
  steps: number;
}

/** The engine's methods, and rsLoRA (LoRA with α/√r scaling) apart: its larger scale wants its own lr. */
export type MethodVariant = Method | 'rslora';

export const METHOD_DEFAULTS: Readonly<Record<MethodVariant, MethodDefaults>> = {
  full: { lr: 1e-3, steps: 50 }, // every weight moves: 1e-3 already recalls the new facts at 50 steps; more only forgets more
  lora: { lr: 1e-2, steps: 100 },
  rslora: { lr: 3e-3, steps: 100 }, // α/√r is 2.8× LoRA's α/r at r 8: 1e-2 recalls no more and forgets more
  pissa: { lr: 1e-2, steps: 100 },
  milora: { lr: 1e-2, steps: 100 },
  dora: { lr: 1e-2, steps: 100 },
  mora: { lr: 1e-2, steps: 100 },
};

/** The defaults of `method` (`rslora`: LoRA's scaling is α/√r). */
export function methodDefaults(method: Method, rslora = false): MethodDefaults {
  return METHOD_DEFAULTS[method === 'lora' && rslora ? 'rslora' : method];
}
