/**
 * Recognise and open a model from its files, given as ByteSources (a browser File, a Node file read by
 * positioned reads, a Hub download) or as bytes: a llama2.c checkpoint .bin (+ tokenizer .bin), or a
 * Hugging Face directory's config.json + model.safetensors or its shards (+ tokenizer.json +
 * tokenizer_config.json).
 */
import type { LlamaConfig } from '../schema/llama-config.ts';
import type { LlamaWeights } from '../schema/tensors.ts';
import { baseName, bytesSource, type ByteSource } from './byte-source.ts';
import { ModelFileError } from './errors.ts';
import { checkpointWeights, INDEX_FILE, openHfCheckpoint } from './hf-checkpoint.ts';
import { isLlama2cFile, llama2cHead, openLlama2c } from './llama2c.ts';
import type { Tokenizer } from './tokenizer.ts';
import { HfTokenizer } from './tokenizer-hf.ts';
import { Llama2cTokenizer } from './tokenizer-llama2c.ts';
import { readAllWeights, type WeightSource } from './weight-source.ts';

/** A file as bytes; `name` may carry a path ("dir/config.json"): only its last part is matched. */
export interface ModelFile {
  name: string;
  bytes: Uint8Array;
}

/** A model opened for streaming: its weights stay in their files until uploaded (see WeightSource). */
export interface OpenedModel {
  base: WeightSource;
  tokenizer?: Tokenizer;
  format: 'llama2c' | 'hf';
  /** Name of the weights file used (a sharded checkpoint's index). */
  modelFile: string;
  /** Name of the tokenizer file used, if any. */
  tokenizerFile?: string;
  /** Name of the file that holds the architecture numbers (vocab_size ...): config.json, or the llama2.c checkpoint. */
  configFile: string;
  /** tokenizer.json and tokenizer_config.json as given (lower-case names), when the tokenizer used is tokenizer.json. */
  tokenizerJson: Map<string, Uint8Array>;
}

/** Weights (and tokenizer) of files already in memory, decoded to the host. */
export interface LoadedModel extends Omit<OpenedModel, 'base' | 'tokenizerJson'> {
  weights: LlamaWeights;
}

export { baseName };
const ext = (name: string): string => {
  const b = baseName(name).toLowerCase();
  const i = b.lastIndexOf('.');
  return i < 0 ? '' : b.slice(i + 1);
};
const text = (f: ModelFile): string => new TextDecoder().decode(f.bytes);
const TOKENIZER_JSON = ['tokenizer.json', 'tokenizer_config.json'];

function parseJsonObject(f: ModelFile): Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(text(f));
  } catch (e) {
    throw new ModelFileError(f.name, `not valid JSON (${(e as Error).message})`, 'json');
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new ModelFileError(f.name, 'not a JSON object', 'json');
  return j as Record<string, unknown>;
}

/** A small file (config, index, tokenizer, llama2.c checkpoint) read whole. */
const whole = async (s: ByteSource): Promise<ModelFile> => ({ name: s.name, bytes: await s.read(0, s.size) });

/**
 * Open a model from its files: a Hugging Face directory's config.json + model.safetensors (or
 * model.safetensors.index.json + shards), with tokenizer.json + tokenizer_config.json when given, or
 * a llama2.c checkpoint .bin (+ tokenizer .bin). Safetensors weights are not read here: only their
 * headers (a llama2.c checkpoint: its 28-byte header); the returned WeightSource reads each tensor from
 * its file when it is uploaded. Throws ModelFileError naming the file.
 */
export async function openModelSources(files: readonly ByteSource[], o: { f32?: boolean } = {}): Promise<OpenedModel> {
  const byName = (n: string): ByteSource | undefined => files.find((f) => baseName(f.name).toLowerCase() === n);
  const listed = files.map((f) => baseName(f.name)).join(', ') || 'none';
  const tokenizerFiles = async (names: string[]) => Promise.all(files.filter((f) => names.includes(baseName(f.name).toLowerCase())).map(whole));

  const shards = files.filter((f) => ext(f.name) === 'safetensors' && !baseName(f.name).startsWith('adapter_'));
  if (shards.length > 0) {
    const index = byName(INDEX_FILE);
    const st = index ? undefined : byName('model.safetensors') ?? (shards.length === 1 ? shards[0] : undefined);
    if (!index && !st) {
      const sharded = shards.some((f) => /-\d+-of-\d+\.safetensors$/.test(f.name));
      throw new ModelFileError(
        shards[0]!.name,
        sharded ? `a sharded checkpoint needs its ${INDEX_FILE} (files given: ${listed})`
          : `several .safetensors files (${shards.map((f) => baseName(f.name)).join(', ')}); expected one model.safetensors`,
        'format',
      );
    }
    const cfgSource = byName('config.json');
    const weightsName = index?.name ?? st!.name;
    if (!cfgSource) throw new ModelFileError('config.json', `missing: ${baseName(weightsName)} needs the config.json next to it (files given: ${listed})`, 'missing-file');
    const cfg = await whole(cfgSource);
    const indexFile = index ? await whole(index) : undefined;
    const ck = await openHfCheckpoint({ name: cfg.name, text: text(cfg) }, index ? shards : [st!], indexFile && { name: indexFile.name, text: text(indexFile) });
    // Only tokenizer files by name: an HF directory may also hold e.g. pytorch_model.bin.
    const tokFiles = await tokenizerFiles([...TOKENIZER_JSON, 'tokenizer.bin']);
    const tok = await tokenizerFromFiles(tokFiles, ck.config, cfg.name);
    return { base: checkpointWeights(ck, o), format: 'hf', modelFile: weightsName, configFile: cfg.name, ...tok, tokenizerJson: jsonOf(tokFiles, tok.tokenizerFile) };
  }

  const binSources = files.filter((f) => ext(f.name) === 'bin');
  const isCheckpoint = await Promise.all(binSources.map(async (f) => isLlama2cFile(await llama2cHead(f), f.size)));
  const models = binSources.filter((_, i) => isCheckpoint[i]);
  if (models.length > 1) {
    throw new ModelFileError(models[1]!.name, `several llama2.c checkpoints given (${models.map((f) => baseName(f.name)).join(', ')}); pick one`, 'format');
  }
  // The other .bin files are tokenizer candidates: small, read whole.
  const bins = await Promise.all(binSources.filter((_, i) => !isCheckpoint[i]).map(whole));
  if (models.length === 0) {
    if (bins.length === 0) {
      throw new ModelFileError(
        files.length ? listed : '(no files)',
        'no model found: expected a llama2.c checkpoint (.bin) or config.json + model.safetensors',
        'missing-file',
      );
    }
    // Report what is wrong with the largest .bin that is not a valid tokenizer.
    const isTokenizer = (f: ModelFile) => {
      try {
        Llama2cTokenizer.fromBytes(f.bytes, f.name);
        return true;
      } catch {
        return false;
      }
    };
    const candidates = bins.filter((f) => !isTokenizer(f));
    if (candidates.length === 0) {
      throw new ModelFileError(listed, 'no model found: the .bin files given are tokenizers; add the llama2.c checkpoint', 'missing-file');
    }
    const largest = candidates.reduce((a, b) => (b.bytes.length > a.bytes.length ? b : a));
    await openLlama2c(bytesSource(largest.name, largest.bytes)); // throws what is wrong with its header or size
    throw new ModelFileError(largest.name, 'not a llama2.c checkpoint', 'format');
  }
  const model = models[0]!;
  const base = await openLlama2c(model);
  const tokFiles = [...bins, ...(await tokenizerFiles(TOKENIZER_JSON))];
  const tok = await tokenizerFromFiles(tokFiles, base.config, model.name);
  return { base, format: 'llama2c', modelFile: model.name, configFile: model.name, ...tok, tokenizerJson: jsonOf(tokFiles, tok.tokenizerFile) };
}

/** tokenizer.json / tokenizer_config.json by lower-case name, when `used` is a tokenizer.json. */
function jsonOf(files: ModelFile[], used: string | undefined): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  if (!used?.toLowerCase().endsWith('.json')) return out;
  for (const f of files) if (TOKENIZER_JSON.includes(baseName(f.name).toLowerCase())) out.set(baseName(f.name).toLowerCase(), f.bytes);
  return out;
}

/** Load weights (and a tokenizer when one is among the files) from files in memory, decoded to the host. */
export async function loadModelFromFiles(files: ModelFile[]): Promise<LoadedModel> {
  const { base, tokenizerJson: _, ...rest } = await openModelSources(files.map((f) => bytesSource(f.name, f.bytes)));
  return { ...rest, weights: await readAllWeights(base) };
}

/**
 * The tokenizer among `files`, if any: tokenizer.json (+ tokenizer_config.json), or a llama2.c
 * tokenizer .bin (preferably named tokenizer.bin) whose size fits the model's vocabulary. `configFile`
 * names the file holding the model's vocab_size, for errors.
 */
export async function tokenizerFromFiles(
  files: ModelFile[],
  config: LlamaConfig,
  configFile = 'config.json',
): Promise<{ tokenizer?: Tokenizer; tokenizerFile?: string }> {
  const json = files.find((f) => baseName(f.name).toLowerCase() === 'tokenizer.json');
  if (json) {
    const cfg = files.find((f) => baseName(f.name).toLowerCase() === 'tokenizer_config.json');
    const tok = await HfTokenizer.fromJson(parseJsonObject(json), cfg ? parseJsonObject(cfg) : {}, config, json.name);
    return { tokenizer: checkVocab(tok, json.name, config, configFile), tokenizerFile: json.name };
  }
  const bins = files.filter((f) => ext(f.name) === 'bin');
  if (bins.length === 0) return {};
  const named = bins.find((f) => baseName(f.name).toLowerCase() === 'tokenizer.bin');
  if (named || bins.length === 1) {
    const f = named ?? bins[0]!;
    return { tokenizer: Llama2cTokenizer.fromBytes(f.bytes, f.name, config.vocabSize), tokenizerFile: f.name };
  }
  const ok = bins.flatMap((f) => {
    try {
      return [{ f, tok: Llama2cTokenizer.fromBytes(f.bytes, f.name, config.vocabSize) }];
    } catch {
      return [];
    }
  });
  if (ok.length === 1) return { tokenizer: ok[0]!.tok, tokenizerFile: ok[0]!.f.name };
  throw new ModelFileError(
    bins[0]!.name,
    ok.length === 0 ? `none of ${bins.map((f) => baseName(f.name)).join(', ')} is a llama2.c tokenizer with ${config.vocabSize} tokens`
      : `several tokenizer files (${ok.map((o) => baseName(o.f.name)).join(', ')}); name the one to use tokenizer.bin`,
    'format',
  );
}

/**
 * Load one explicitly chosen tokenizer file (tokenizer.bin or tokenizer.json, with an optional
 * tokenizer_config.json) for a model whose vocab_size is in `configFile`.
 */
export async function loadTokenizerFile(file: ModelFile, config: LlamaConfig, tokenizerConfig?: ModelFile, configFile = 'config.json'): Promise<Tokenizer> {
  if (ext(file.name) === 'json') {
    const tok = await HfTokenizer.fromJson(parseJsonObject(file), tokenizerConfig ? parseJsonObject(tokenizerConfig) : {}, config, file.name);
    return checkVocab(tok, file.name, config, configFile);
  }
  return Llama2cTokenizer.fromBytes(file.bytes, file.name, config.vocabSize);
}

/** Every id the tokenizer can produce (its id space, BOS and EOS) must have a row in the model's embedding. */
function checkVocab(tok: Tokenizer, file: string, config: LlamaConfig, configFile: string): Tokenizer {
  const V = config.vocabSize;
  if (tok.vocabSize > V) {
    throw new ModelFileError(
      file,
      `the tokenizer can produce token ids up to ${tok.vocabSize - 1} (${tok.vocabSize} ids) but ${configFile} gives the model a vocabulary of ${V} (ids 0 to ${V - 1})`,
      'config',
    );
  }
  for (const [what, id] of [['BOS', tok.bosId], ['EOS', tok.eosId]] as const) {
    if (!(Number.isInteger(id) && id >= 0 && id < V)) {
      throw new ModelFileError(file, `the tokenizer's ${what} id ${id} is outside the model's vocabulary of ${V} (${configFile})`, 'config');
    }
  }
  return tok;
}
