/**
 * Exports of the last run as ZIP archives, built by src/export: the peft LoRA adapter
 * (adapter_config.json + adapter_model.safetensors), the MoRA adapter file, the model with the
 * training folded in (Hugging Face layout with its tokenizer files), the ONNX folder and a standard
 * LoRA converted by SVD (./converted-exports.ts).
 */
import { adapterFiles, PEFT_METHODS } from '../../export/adapter-files.ts';
import { mergedWeights } from '../../export/merged.ts';
import { tokenizerFiles } from '../../export/tokenizer-files.ts';
import { exportHfModel } from '../../io/export-hf.ts';
import { writeZip } from '../../io/zip.ts';
import type { ConversionSummary, ExportKind, ExportOptions } from '../protocol.ts';
import { loraConversionFiles, onnxExportFiles, runLabel } from './converted-exports.ts';
import { EngineRefusal, engine, errorEvent, post, refuseWhileTraining, requireModel, type Loaded } from './state.ts';

async function exportFiles(
  loaded: Loaded, kind: ExportKind, baseModelName: string, options: ExportOptions,
): Promise<{ files: Map<string, Uint8Array>; fileName: string; conversion?: ConversionSummary }> {
  const { model, tuned } = loaded;
  if (kind === 'onnx') return onnxExportFiles(loaded, options.dtype);
  if (kind === 'lora') return loraConversionFiles(loaded, options, baseModelName);
  const run = runLabel(loaded);
  if (kind === 'merged') {
    const files = exportHfModel(await mergedWeights(loaded.model), undefined, undefined, options.mergedF32 ? new Map() : loaded.model.fileDtypes);
    for (const [name, bytes] of tokenizerFiles(loaded.tokenizer, loaded.tokenizerFiles, loaded.model.config.maxSeqLen)) files.set(name, bytes);
    return { files, fileName: `subspace-merged-${run}.zip` };
  }
  if (!tuned) throw new EngineRefusal('Nothing to export yet: train a run first.', 'no-run');
  const method = tuned.method;
  if (kind === 'peft' && !(PEFT_METHODS as readonly string[]).includes(method)) {
    throw new EngineRefusal(method === 'full' ? 'Full fine-tuning has no adapter: export the merged model instead.' : `A ${method} run has no peft LoRA adapter.`, 'no-adapter');
  }
  if (kind === 'mora' && method !== 'mora') throw new EngineRefusal(`A ${method} run has no MoRA adapter.`, 'no-adapter');
  // PiSSA/MiLoRA trained on W_res: with their initial A₀, B₀ the adapter applies to the ORIGINAL base weights.
  const files = (await adapterFiles(model, { ...tuned.config, method }, baseModelName, tuned.spectralInitial))!;
  const label = method === 'lora' ? (tuned.config.rslora ? 'rslora' : 'lora') : method;
  return { files, fileName: `subspace-${label}-adapter-${run}.zip` };
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
