/** Attaching an adapter directory written by `train` or `init` to a model: peft LoRA/DoRA or the MoRA file. */
import { attachLoraTensors } from '../adapters/lora-io.ts';
import { attachMoraTensors } from '../adapters/mora-io.ts';
import { readMoraAdapter } from '../io/mora-file.ts';
import { adapterPeftType, readPeftAdapter } from '../io/peft.ts';
import { readAdapterDirFiles } from '../io/peft-node.ts';
import type { LlamaModel } from '../model/llama.ts';

/** Read `dir` and attach its adapters to `model` (peft_type "MORA" → MoRA, otherwise peft LoRA/DoRA). */
export async function attachAdapterDir(model: LlamaModel, dir: string): Promise<'LORA' | 'MORA'> {
  const files = await readAdapterDirFiles(dir);
  if (adapterPeftType(files) === 'MORA') {
    const adapter = readMoraAdapter(files, model.config);
    attachMoraTensors(model, adapter.config, adapter.tensors);
    return 'MORA';
  }
  const adapter = readPeftAdapter(files, model.config);
  attachLoraTensors(model, adapter.config, adapter.tensors);
  return 'LORA';
}
