/**
 * The files of a model's trained adapters: peft's adapter_config.json + adapter_model.safetensors
 * for LoRA, rsLoRA, DoRA, PiSSA and MiLoRA; the project's MoRA adapter file for MoRA.
 */
import { adapterTargets, readLoraTensors } from '../adapters/lora-io.ts';
import { moraConfigOf, readMoraTensors } from '../adapters/mora-io.ts';
import { writeMoraAdapter } from '../io/mora-file.ts';
import { convertPissaToLora, writePeftAdapter, type AdapterTensors, type PeftAdapterConfig } from '../io/peft.ts';
import type { LlamaModel } from '../model/llama.ts';
import { SPECTRAL_METHODS, type TrainConfig } from '../schema/train-config.ts';

export type AdapterSettings = Pick<TrainConfig, 'method' | 'rank' | 'alpha' | 'dropout' | 'rslora'>;

/** Methods whose adapter is a peft LoRA (DoRA with use_dora). */
export const PEFT_METHODS = ['lora', 'dora', ...SPECTRAL_METHODS] as const;

/**
 * The adapter files of `model` trained with `settings`, or undefined for full fine-tuning (no adapter).
 * PiSSA/MiLoRA: with `initial` (A₀, B₀) the adapter is converted by convertPissaToLora (r → 2r) so it
 * applies to the ORIGINAL base; without it the plain A, B are written (they apply to W_res only).
 */
export async function adapterFiles(
  model: LlamaModel, settings: AdapterSettings, baseModelName: string, initial?: AdapterTensors,
): Promise<Map<string, Uint8Array> | undefined> {
  const { method } = settings;
  if ((PEFT_METHODS as readonly string[]).includes(method)) {
    let config: PeftAdapterConfig = {
      r: settings.rank, loraAlpha: settings.alpha, loraDropout: settings.dropout, targetModules: adapterTargets(model),
      useRslora: settings.rslora, useDora: method === 'dora', baseModelName,
    };
    let tensors = await readLoraTensors(model);
    if (SPECTRAL_METHODS.includes(method) && initial) ({ config, tensors } = convertPissaToLora(config, tensors, initial));
    return writePeftAdapter(config, tensors, model.config);
  }
  if (method === 'mora') return writeMoraAdapter(moraConfigOf(model, baseModelName), await readMoraTensors(model), model.config);
  return undefined;
}
