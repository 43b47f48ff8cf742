/**
 * `cli export-onnx`: the model (with an adapter merged in) as the folder transformers.js and
 * onnxruntime-web load. `cli export-lora`: a MoRA/DoRA adapter or a full fine-tune as a peft LoRA.
 * Both write to a temporary folder renamed to --out at the end, and refuse an --out that exists.
 */
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { adapterUpdates, weightUpdates } from '../export/updates.ts';
import { convertedLoraFiles, convertToLora, CONVERSION_FILE, type Truncation } from '../export/lora-conversion.ts';
import { mergedWeights } from '../export/merged.ts';
import { onnxFolderFiles } from '../export/onnx-folder.ts';
import { tokenizerFiles } from '../export/tokenizer-files.ts';
import { ModelFileError } from '../io/errors.ts';
import { readModelPath } from '../io/fs-node.ts';
import { parseHfConfig } from '../io/hf-config.ts';
import { llama2cConfig, readLlama2cHeader } from '../io/llama2c.ts';
import { checkOneOnnxFile } from '../io/onnx/model-file.ts';
import type { LlamaConfig } from '../schema/llama-config.ts';
import { loadModel } from '../model/load-checkpoint.ts';
import { readAllWeights } from '../io/weight-source.ts';
import { attachAdapterDir } from './adapter-dir.ts';
import { optionalNumber, optionalString, requireString, UsageError, type Values } from './args.ts';
import { openGpu } from '../kernels/node-gpu.ts';
import { tokenizerJsonFiles } from './tokenizer-files.ts';
import { HUB_OPTIONS, modelName, resolveModelArg } from './model-arg.ts';
import { refuseExisting, writeDirAtomic } from './write-dir.ts';

export const EXPORT_ONNX_OPTIONS = {
  model: { type: 'string' }, tokenizer: { type: 'string' }, adapter: { type: 'string' }, dtype: { type: 'string' }, out: { type: 'string' },
  'single-file': { type: 'boolean' }, ...HUB_OPTIONS,
} as const;

export const EXPORT_LORA_OPTIONS = {
  model: { type: 'string' }, tokenizer: { type: 'string' }, adapter: { type: 'string' }, tuned: { type: 'string' },
  rank: { type: 'string' }, energy: { type: 'string' }, out: { type: 'string' }, ...HUB_OPTIONS,
} as const;

export async function runExportOnnx(v: Values): Promise<void> {
  const modelPath = requireString(v, 'model');
  const out = requireString(v, 'out');
  const dtypeFlag = optionalString(v, 'dtype') ?? 'fp32';
  if (dtypeFlag !== 'fp32' && dtypeFlag !== 'fp16') throw new UsageError(`--dtype must be fp32 or fp16, got "${dtypeFlag}"`);
  await refuseExisting(out);
  const modelDir = await resolveModelArg(v);
  const onnxOptions = { dtype: dtypeFlag === 'fp32' ? 'float32' : 'float16', allowExternalData: v['single-file'] !== true } as const;
  /** A too-big refusal names the file in --out it would have been, and the model. */
  const inOut = (e: unknown): unknown => e instanceof ModelFileError && e.code === 'too-big'
    ? new ModelFileError(path.join(path.resolve(out), e.file), `${e.problem} (the model ${modelName(modelPath)}; without --single-file the weights go to ${e.file}_data)`, e.code)
    : e;
  if (!onnxOptions.allowExternalData) {
    const config = await configOnly(modelDir);
    try {
      if (config) checkOneOnnxFile(config, onnxOptions); // refused before the weights are read
    } catch (e) {
      throw inOut(e);
    }
  }
  const loaded = await readModelPath(modelDir, optionalString(v, 'tokenizer'));
  if (!loaded.tokenizer) throw new UsageError(`no tokenizer found for ${modelPath}: pass --tokenizer <tokenizer.bin or tokenizer.json>`);
  let weights;
  const adapterDir = optionalString(v, 'adapter');
  if (!adapterDir) weights = await readAllWeights(loaded.base); // an ONNX file is written whole
  else {
    const gpu = await openGpu();
    const { model } = await loadModel(gpu, loaded.base);
    try {
      await attachAdapterDir(model, adapterDir); // refused, naming the file, when it is for another model
      weights = await mergedWeights(model);
    } finally {
      model.dispose();
      gpu.destroy();
    }
  }
  const tok = tokenizerFiles(loaded.tokenizer, await tokenizerJsonFiles(loaded.tokenizerFile), weights.config.maxSeqLen);
  let files;
  try {
    files = onnxFolderFiles(weights, tok, onnxOptions);
  } catch (e) {
    throw inOut(e);
  }
  await writeDirAtomic(out, files);
  process.stderr.write(`wrote ${path.resolve(out)}: ${[...files.keys()].join(', ')}\n`);
}

/** The config of a model path from its config.json or llama2.c header alone (no weights read); undefined when there is neither. */
async function configOnly(modelPath: string): Promise<LlamaConfig | undefined> {
  const p = path.resolve(modelPath);
  const s = await stat(p).catch(() => undefined);
  if (!s) return undefined; // readModelPath names what is missing
  if (s.isFile() && p.toLowerCase().endsWith('.bin')) {
    const f = await open(p, 'r');
    try {
      const { buffer, bytesRead } = await f.read(new Uint8Array(28), 0, 28, 0);
      return llama2cConfig(readLlama2cHeader(buffer.subarray(0, bytesRead), p));
    } finally {
      await f.close();
    }
  }
  const cfg = path.join(s.isDirectory() ? p : path.dirname(p), 'config.json');
  const text = await readFile(cfg, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseHfConfig(text, cfg);
}

export async function runExportLora(v: Values): Promise<void> {
  const modelPath = requireString(v, 'model');
  const out = requireString(v, 'out');
  const adapterDir = optionalString(v, 'adapter');
  const tunedPath = optionalString(v, 'tuned');
  if ((adapterDir === undefined) === (tunedPath === undefined)) throw new UsageError('give exactly one of --adapter <dir> and --tuned <merged dir>');
  const rank = optionalNumber(v, 'rank', { min: 1, integer: true });
  const energy = optionalNumber(v, 'energy', { min: 0, max: 1 });
  if ((rank === undefined) === (energy === undefined)) throw new UsageError('give exactly one of --rank R and --energy E');
  if (energy === 0) throw new UsageError('--energy must be greater than 0');
  const truncation: Truncation = rank !== undefined ? { rank } : { energy: energy! };
  await refuseExisting(out);
  const loaded = await readModelPath(await resolveModelArg(v), optionalString(v, 'tokenizer'));
  const gpu = await openGpu();
  const { model } = await loadModel(gpu, loaded.base);
  try {
    let updates;
    let notCarried: string[] = [];
    if (adapterDir) {
      await attachAdapterDir(model, adapterDir);
      updates = await adapterUpdates(model);
    } else {
      const tuned = await readModelPath(await resolveModelArg(v, { flag: 'tuned' }));
      ({ updates, notCarried } = await weightUpdates(loaded.base, tuned.base, path.resolve(tunedPath!)));
    }
    const conv = await convertToLora(gpu, model.config, updates, truncation);
    const source = {
      source: adapterDir ? { adapter: path.resolve(adapterDir) } : { tuned: path.resolve(tunedPath!) },
      truncation, not_carried: notCarried,
    };
    await writeDirAtomic(out, convertedLoraFiles(conv, model.config, modelName(modelPath), source));
    for (const m of conv.modules) {
      process.stdout.write(`${m.name}: rank ${m.rank}, relative error ${m.relative_error.toExponential(3)}, energy kept ${(100 * m.energy_kept).toFixed(2)}%\n`);
    }
    if (notCarried.length) process.stderr.write(`warning: a LoRA cannot carry the changes to ${notCarried.join(', ')}\n`);
    process.stderr.write(`wrote ${path.resolve(out)} (r ${conv.r}; errors in ${CONVERSION_FILE})\n`);
  } finally {
    model.dispose();
    gpu.destroy();
  }
}
