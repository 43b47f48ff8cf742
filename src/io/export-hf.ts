/** LlamaWeights (+ tokenizer) → the files of a Hugging Face LLaMA model directory. */
import { expectedTensors, type HostTensor, type LlamaWeights } from '../schema/tensors.ts';
import { ModelFileError } from './errors.ts';
import { configToHfJson } from './hf-config.ts';
import { writeSafetensors } from './safetensors.ts';

const json = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o, null, 2) + '\n');

/**
 * config.json, generation_config.json and model.safetensors (metadata {"format": "pt"}, tensors in
 * expectedTensors order), plus tokenizer.json / tokenizer_config.json when given. Tensors are F32,
 * except those `dtypes` names: BF16 or F16, rounded to nearest even (a model keeps the dtype of the
 * file it came from). Loadable by transformers' LlamaForCausalLM.from_pretrained and by loadHfModel.
 */
export function exportHfModel(
  weights: LlamaWeights,
  tokenizerJson?: object,
  tokenizerConfig?: object,
  dtypes: ReadonlyMap<string, 'bf16' | 'f16'> = new Map(),
): Map<string, Uint8Array> {
  const c = weights.config;
  const tensors = new Map<string, HostTensor>();
  for (const [name, shape] of expectedTensors(c)) {
    const t = weights.tensors.get(name);
    if (!t) throw new ModelFileError('model.safetensors', `cannot export: tensor "${name}" is missing`, 'missing-tensor');
    const n = shape.reduce((a, d) => a * d, 1);
    if (t.data.length !== n) {
      throw new ModelFileError('model.safetensors', `cannot export: tensor "${name}" has ${t.data.length} values, config implies [${shape.join(', ')}]`, 'config');
    }
    tensors.set(name, { shape, data: t.data });
  }
  const files = new Map<string, Uint8Array>();
  files.set('config.json', new TextEncoder().encode(configToHfJson(c)));
  files.set('generation_config.json', json({ bos_token_id: c.bosId, eos_token_id: c.eosId }));
  const dtypeOf = (name: string) => ({ bf16: 'BF16', f16: 'F16' } as const)[dtypes.get(name)!] ?? 'F32';
  files.set('model.safetensors', writeSafetensors(tensors, { format: 'pt' }, dtypeOf));
  if (tokenizerJson) files.set('tokenizer.json', json(tokenizerJson));
  if (tokenizerConfig) files.set('tokenizer_config.json', json(tokenizerConfig));
  return files;
}
