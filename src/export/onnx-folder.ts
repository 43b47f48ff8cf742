/**
 * The folder transformers.js and onnxruntime-web load (optimum's layout): config.json,
 * generation_config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx
 * (onnx/model_fp16.onnx for float16, with onnx/<model>_data when the weights need external data).
 */
import { configToHfJson } from '../io/hf-config.ts';
import { writeOnnxModel, type OnnxWriteOptions } from '../io/onnx/model-file.ts';
import { jsonBytes } from '../io/peft.ts';
import type { LlamaWeights } from '../schema/tensors.ts';

/** File path → its bytes, or the chunks to write one after another (an external data file). */
export type FolderFiles = Map<string, Uint8Array | readonly Uint8Array[]>;

/** Every file of the ONNX folder for `weights` (the merged model), with its tokenizer files. */
export function onnxFolderFiles(weights: LlamaWeights, tokenizer: ReadonlyMap<string, Uint8Array>, o: OnnxWriteOptions): FolderFiles {
  const c = weights.config;
  const onnxFiles = writeOnnxModel(weights, o);
  const config = JSON.parse(configToHfJson(c)) as Record<string, unknown>;
  config.torch_dtype = o.dtype;
  if (onnxFiles.external) config['transformers.js_config'] = { use_external_data_format: true };
  const files: FolderFiles = new Map();
  files.set('config.json', jsonBytes(config));
  files.set('generation_config.json', jsonBytes({ bos_token_id: c.bosId, eos_token_id: c.eosId }));
  for (const [name, bytes] of tokenizer) files.set(name, bytes);
  if (!files.has('tokenizer.json')) throw new Error('ONNX export: no tokenizer.json (give the model\'s tokenizer)');
  files.set(`onnx/${onnxFiles.modelName}`, onnxFiles.model);
  if (onnxFiles.external) files.set(`onnx/${onnxFiles.external.name}`, onnxFiles.external.chunks);
  return files;
}
