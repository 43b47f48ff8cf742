import type { MoraType } from './mora.ts';
import type { LinearModule } from './tensors.ts';

/** What an imported adapter is, as the UI shows it. */
export interface ImportedAdapter {
  method: 'lora' | 'dora' | 'mora';
  /** LoRA/DoRA r; MoRA's r (the LoRA rank whose parameter count it matches). */
  rank: number;
  /** lora_alpha; null for MoRA, which has no α. */
  alpha: number | null;
  rslora: boolean;
  /** lora_dropout (0 for MoRA files, which do not record it). */
  dropout: number;
  /** MoRA's type (1 sharing, 6 rotation); null for LoRA/DoRA. */
  moraType: MoraType | null;
  /** Adapted module kinds, in LINEAR_MODULES order (every layer has each). */
  targets: LinearModule[];
  /** Adapted linear modules: layers × targets. */
  moduleCount: number;
  /** Values in the adapter's tensors (A, B and DoRA's m, or MoRA's M): what training it further would update. */
  trainableCount: number;
  /** base_model_name_or_path as the file has it ('' when absent). */
  baseModelName: string;
  /** The files read, e.g. "adapter.zip/adapter_config.json". */
  files: string[];
  /** Things worth knowing that do not stop the import (e.g. a different base model name). */
  warnings: string[];
}
