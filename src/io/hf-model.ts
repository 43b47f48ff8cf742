/** A Hugging Face LLaMA checkpoint (config.json + a single model.safetensors) → LlamaWeights. */
import { expectedTensors, type HostTensor, type LlamaWeights } from '../model/weights.ts';
import { ModelFileError } from './errors.ts';
import { parseHfConfig } from './hf-config.ts';
import { decodeEntry, parseSafetensorsHeader } from './safetensors.ts';

/**
 * Check that the safetensors file holds every tensor the config implies with the right shape, and
 * decode those (others, e.g. a tied model's redundant lm_head, are ignored).
 */
export function loadHfModel(
  configText: string,
  safetensorsBytes: Uint8Array,
  names: { config?: string; weights?: string } = {},
): LlamaWeights {
  const cfgFile = names.config ?? 'config.json';
  const file = names.weights ?? 'model.safetensors';
  const config = parseHfConfig(configText, cfgFile);
  const { entries } = parseSafetensorsHeader(safetensorsBytes, file);

  const tensors = new Map<string, HostTensor>();
  for (const [name, shape] of expectedTensors(config)) {
    const e = entries.get(name);
    if (!e) {
      const hint = name === 'lm_head.weight' ? ` (${cfgFile} says tie_word_embeddings is false)` : '';
      throw new ModelFileError(file, `missing tensor "${name}"${hint}`, 'missing-tensor');
    }
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFileError(
        file,
        `tensor "${name}" has shape [${e.shape.join(', ')}] but ${cfgFile} implies [${shape.join(', ')}]`,
        'config',
      );
    }
    tensors.set(name, decodeEntry(safetensorsBytes, e, file, name));
  }
  return { config, tensors };
}
