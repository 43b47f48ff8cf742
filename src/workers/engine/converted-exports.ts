/**
 * The studio's exports that convert the current model: the folder transformers.js and onnxruntime-web
 * load (src/export/onnx-folder.ts, the training merged in), and a MoRA, DoRA or full run's update as
 * a standard peft LoRA by SVD (src/export/lora-conversion.ts), with the error of each module.
 */
import { convertedLoraFiles, convertToLora, maxRelativeError, type Truncation } from '../../export/lora-conversion.ts';
import { mergedWeights } from '../../export/merged.ts';
import { onnxFolderFiles, type FolderFiles } from '../../export/onnx-folder.ts';
import { tokenizerFiles } from '../../export/tokenizer-files.ts';
import { adapterUpdates, weightUpdates } from '../../export/updates.ts';
import type { ConversionSummary, ExportOptions, OnnxDtype } from '../protocol.ts';
import { EngineRefusal, requireGpu, type Loaded } from './state.ts';

/** The run's name in file names: `run3`, or `base` before any run. */
export const runLabel = (loaded: Loaded): string => (loaded.tuned ? `run${loaded.tuned.runId}` : 'base');

/** Every file of the ONNX folder of the current model (the last run's training merged in). */
export async function onnxFolder(loaded: Loaded, dtype: OnnxDtype): Promise<FolderFiles> {
  const weights = await mergedWeights(loaded.model);
  const tok = tokenizerFiles(loaded.tokenizer, loaded.tokenizerFiles, weights.config.maxSeqLen);
  return onnxFolderFiles(weights, tok, { dtype: dtype === 'fp16' ? 'float16' : 'float32' });
}

/** The ONNX folder as the entries of one ZIP (an external data file's chunks joined). */
export async function onnxExportFiles(loaded: Loaded, dtype: OnnxDtype = 'fp32'): Promise<{ files: Map<string, Uint8Array>; fileName: string }> {
  const files = new Map<string, Uint8Array>();
  for (const [name, content] of await onnxFolder(loaded, dtype)) files.set(name, joinChunks(content));
  return { files, fileName: `subspace-onnx${dtype === 'fp16' ? '-fp16' : ''}-${runLabel(loaded)}.zip` };
}

/** A file's content as one buffer (an external data file's chunks joined). */
export function joinChunks(content: Uint8Array | readonly Uint8Array[]): Uint8Array {
  if (content instanceof Uint8Array) return content;
  const chunks = content;
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The methods whose update the studio converts to a standard LoRA (the others export a peft adapter already). */
export const CONVERTIBLE_METHODS = ['mora', 'dora', 'full'] as const;

/** The truncation of `options`: exactly one of a whole rank ≥ 1 and an energy in (0, 1]. */
function truncationOf(options: ExportOptions): Truncation {
  const { rank, energy } = options;
  if ((rank === undefined) === (energy === undefined)) throw new EngineRefusal('Give either a rank or an energy to keep for the LoRA conversion.', 'bad-options');
  if (rank !== undefined) {
    if (!(Number.isInteger(rank) && rank >= 1)) throw new EngineRefusal(`The LoRA rank must be a whole number ≥ 1, got ${rank}.`, 'bad-options');
    return { rank };
  }
  if (!(energy! > 0 && energy! <= 1)) throw new EngineRefusal(`The energy to keep must be in (0, 1], got ${energy}.`, 'bad-options');
  return { energy: energy! };
}

/** The last run's update as a peft LoRA (adapter_config.json, adapter_model.safetensors, conversion.json). */
export async function loraConversionFiles(
  loaded: Loaded, options: ExportOptions, baseModelName: string,
): Promise<{ files: Map<string, Uint8Array>; fileName: string; conversion: ConversionSummary }> {
  const { tuned, model } = loaded;
  if (!tuned) throw new EngineRefusal('Nothing to convert yet: train a run first.', 'no-run');
  if (!(CONVERTIBLE_METHODS as readonly string[]).includes(tuned.method)) {
    throw new EngineRefusal(`A ${tuned.method} run is a LoRA already: export its peft adapter instead.`, 'no-adapter');
  }
  const truncation = truncationOf(options);
  let notCarried: string[] = [];
  let updates;
  if (tuned.method === 'full') {
    ({ updates, notCarried } = await weightUpdates(loaded.base, model.weightSource(), `run ${tuned.runId}'s weights`));
  } else {
    updates = await adapterUpdates(model);
  }
  const conv = await convertToLora(requireGpu(), model.config, updates, truncation);
  const files = convertedLoraFiles(conv, model.config, baseModelName, {
    source: { run: tuned.runId, method: tuned.method, steps: tuned.steps }, truncation, not_carried: notCarried,
  });
  const conversion: ConversionSummary = { r: conv.r, maxRelativeError: maxRelativeError(conv), modules: conv.modules };
  return { files, fileName: `subspace-${tuned.method}-as-lora-r${conv.r}-${runLabel(loaded)}.zip`, conversion };
}
