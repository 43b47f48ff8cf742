/**
 * Exports of the last run as ZIP archives: the peft LoRA adapter (adapter_config.json +
 * adapter_model.safetensors), the MoRA adapter file, or the model with the training folded in,
 * in Hugging Face layout with its tokenizer files.
 */
import { adapterTargets, readLoraTensors } from '../../adapters/lora-io.ts';
import { moraConfigOf, readMoraTensors } from '../../adapters/mora-io.ts';
import { mergedWeights } from '../../export/merged.ts';
import { exportHfModel } from '../../io/export-hf.ts';
import { writeMoraAdapter } from '../../io/mora-file.ts';
import { convertPissaToLora, writePeftAdapter, type PeftAdapterConfig } from '../../io/peft.ts';
import { llama2cToTokenizerJson, llama2cTokenizerConfig } from '../../io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../../io/tokenizer-llama2c.ts';
import { writeZip } from '../../io/zip.ts';
import type { ConversionSummary, ExportKind, ExportOptions } from '../protocol.ts';
import { loraConversionFiles, onnxExportFiles } from './converted-exports.ts';
import { EngineRefusal, engine, errorEvent, post, refuseWhileTraining, requireModel, type Loaded } from './state.ts';

const json = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o, null, 2) + '\n');

/** tokenizer.json and tokenizer_config.json for the export: converted from llama2.c, or as loaded. */
function tokenizerFiles(loaded: Loaded): Map<string, Uint8Array> {
  if (loaded.tokenizer instanceof Llama2cTokenizer) {
    return new Map([
      ['tokenizer.json', json(llama2cToTokenizerJson(loaded.tokenizer))],
      ['tokenizer_config.json', json(llama2cTokenizerConfig({ modelMaxLength: loaded.model.config.maxSeqLen }))],
    ]);
  }
  return new Map(loaded.tokenizerFiles);
}

async function exportFiles(
  loaded: Loaded, kind: ExportKind, baseModelName: string, options: ExportOptions,
): Promise<{ files: Map<string, Uint8Array>; fileName: string; conversion?: ConversionSummary }> {
  const { model, tuned } = loaded;
  if (kind === 'onnx') return onnxExportFiles(loaded, options.dtype);
  if (kind === 'lora') return loraConversionFiles(loaded, options, baseModelName);
  const run = tuned ? `run${tuned.runId}` : 'base';
  if (kind === 'merged') {
    const files = exportHfModel(await mergedWeights(loaded.model));
    for (const [name, bytes] of tokenizerFiles(loaded)) files.set(name, bytes);
    return { files, fileName: `subspace-merged-${run}.zip` };
  }
  if (!tuned) throw new EngineRefusal('Nothing to export yet: train a run first.', 'no-run');
  if (kind === 'peft') {
    const method = tuned.method;
    if (method !== 'lora' && method !== 'dora' && method !== 'pissa' && method !== 'milora') {
      throw new EngineRefusal(
        tuned.method === 'full' ? 'Full fine-tuning has no adapter: export the merged model instead.' : `A ${tuned.method} run has no peft LoRA adapter.`,
        'no-adapter',
      );
    }
    const c = tuned.config;
    let config: PeftAdapterConfig = {
      r: c.rank, loraAlpha: c.alpha, loraDropout: c.dropout, targetModules: adapterTargets(model),
      useRslora: c.rslora, useDora: method === 'dora', baseModelName,
    };
    let tensors = await readLoraTensors(model);
    if (tuned.spectralInitial) {
      // PiSSA/MiLoRA trained on W_res: [A; A₀], [B, −B₀] applies to the ORIGINAL base weights.
      ({ config, tensors } = convertPissaToLora(config, tensors, tuned.spectralInitial));
    }
    const files = writePeftAdapter(config, tensors, model.config);
    return { files, fileName: `subspace-${method === 'lora' ? (c.rslora ? 'rslora' : 'lora') : method}-adapter-${run}.zip` };
  }
  if (tuned.method !== 'mora') throw new EngineRefusal(`A ${tuned.method} run has no MoRA adapter.`, 'no-adapter');
  const files = writeMoraAdapter(moraConfigOf(model, baseModelName), await readMoraTensors(model), model.config);
  return { files, fileName: `subspace-mora-adapter-${run}.zip` };
}

const EXPORT_STAGE: Record<ExportKind, string> = {
  peft: 'Reading the adapter', mora: 'Reading the adapter', merged: 'Folding the training into the weights',
  onnx: 'Folding the training into the weights and writing the ONNX model', lora: 'Factoring each update by SVD',
};

export async function handleExportRun(id: number, kind: ExportKind, baseModelName: string, options: ExportOptions = {}): Promise<void> {
  try {
    const loaded = requireModel();
    refuseWhileTraining('Exporting');
    if (engine.generation) throw new EngineRefusal('A generation is running: wait for it to finish before exporting.', 'busy');
    post({ type: 'progress', id, stage: 'export', message: EXPORT_STAGE[kind] });
    const { files, fileName, conversion } = await exportFiles(loaded, kind, baseModelName, options);
    const zip = writeZip([...files].map(([name, bytes]) => ({ name, bytes })));
    const bytes = zip.buffer as ArrayBuffer;
    post({ type: 'exported', id, fileName, bytes, entries: [...files.keys()], ...(conversion ? { conversion } : {}) }, [bytes]);
  } catch (e) {
    post(errorEvent(id, e));
  }
}
