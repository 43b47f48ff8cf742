/** Node-only file helpers: open a model path (its weights read by positioned reads), write exported files. */
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkRange, type ByteSource } from './byte-source.ts';
import { ModelFileError } from './errors.ts';
import { INDEX_FILE } from './hf-checkpoint.ts';
import { isLlama2cCheckpoint } from './llama2c.ts';
import { loadTokenizerFile, openModelSources, type ModelFile, type OpenedModel } from './load-model.ts';
import type { WeightSource } from './weight-source.ts';
import type { Tokenizer } from './tokenizer.ts';
import { Llama2cTokenizer } from './tokenizer-llama2c.ts';

/** A file read by positioned reads (FileHandle.read), never whole; close() when done. */
export interface FileSource extends ByteSource {
  close(): Promise<void>;
}

/** Open `file` as a ByteSource. */
export async function openFileSource(file: string): Promise<FileSource> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ModelFileError(file, err.code === 'ENOENT' ? 'file not found' : `cannot read (${err.message})`, 'missing-file');
  }
  const handle = fh;
  const size = (await handle.stat()).size;
  const src: FileSource = {
    name: file,
    size,
    async read(offset, length, into) {
      checkRange(src, offset, length);
      const out = into ? into.subarray(0, length) : new Uint8Array(length);
      for (let at = 0; at < length;) {
        const { bytesRead } = await handle.read(out, at, length - at, offset + at);
        if (bytesRead === 0) throw new ModelFileError(file, `ended at byte ${offset + at} while reading [${offset}, ${offset + length}); did it change while loading?`, 'truncated');
        at += bytesRead;
      }
      return out;
    },
    close: () => handle.close(),
  };
  return src;
}

/** Sibling .bin files larger than this are not read when looking for a llama2.c tokenizer. */
const MAX_TOKENIZER_BIN = 16 << 20;

/** Write `files` (name → bytes) into `dir`, creating it. */
export async function writeFiles(dir: string, files: Map<string, Uint8Array>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of files) await writeFile(path.join(dir, name), bytes);
}

export interface ModelFromPath {
  /** The weights, read from their files when uploaded (the files stay open until close()). */
  base: WeightSource;
  tokenizer?: Tokenizer;
  /** Absolute path of the tokenizer file used, when there is one. */
  tokenizerFile?: string;
  /** What was loaded, for logs: format and absolute paths. */
  source: string;
  /** Close the weights files (the base cannot be read after). */
  close(): Promise<void>;
}

async function read(p: string): Promise<ModelFile> {
  try {
    const b = await readFile(p);
    return { name: p, bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ModelFileError(p, err.code === 'ENOENT' ? 'file not found' : `cannot read (${err.message})`, 'missing-file');
  }
}

async function kind(p: string): Promise<'file' | 'dir' | undefined> {
  try {
    const s = await stat(p);
    return s.isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/**
 * Load a model from a path: a llama2.c .bin (a tokenizer .bin of the right vocabulary next to it is
 * picked up), a .safetensors file next to its config.json, or a directory holding either. An
 * explicit `tokenizerPath` (tokenizer.bin or tokenizer.json) overrides any tokenizer found.
 */
export async function readModelPath(modelPath: string, tokenizerPath?: string): Promise<ModelFromPath> {
  const p = path.resolve(modelPath);
  const k = await kind(p);
  if (!k) throw new ModelFileError(p, 'no such file or directory', 'missing-file');
  const dir = k === 'dir' ? p : path.dirname(p);
  const entries = (await readdir(dir)).sort();
  const inDir = (names: string[]): string[] => names.map((n) => path.join(dir, n));
  const lower = (n: string): string => n.toLowerCase();

  let files: string[];
  let tokenizerSearch = false;
  const base = path.basename(p);
  const hfExtras = inDir(entries.filter((n) => ['tokenizer.json', 'tokenizer_config.json'].includes(lower(n))));
  if (k === 'file' && lower(base).endsWith('.bin')) {
    files = [p, ...hfExtras];
    tokenizerSearch = true;
  } else if (k === 'file' && (lower(base).endsWith('.safetensors') || lower(base) === 'config.json')) {
    const cfg = path.join(dir, 'config.json');
    if (!entries.includes('config.json')) throw new ModelFileError(cfg, `missing: ${base} needs the config.json next to it`, 'missing-file');
    const st = lower(base) === 'config.json' ? inDir(entries.filter((n) => lower(n) === 'model.safetensors')) : [p];
    if (st.length === 0) throw new ModelFileError(path.join(dir, 'model.safetensors'), 'missing: config.json needs model.safetensors next to it', 'missing-file');
    files = [cfg, ...st, ...hfExtras];
  } else if (k === 'dir') {
    const st = entries.filter((n) => lower(n).endsWith('.safetensors') && !n.startsWith('adapter_'));
    if (st.length > 0 || entries.includes('config.json')) {
      if (!entries.includes('config.json')) throw new ModelFileError(path.join(dir, 'config.json'), `missing: ${st[0]} needs a config.json in ${dir}`, 'missing-file');
      if (st.length === 0) throw new ModelFileError(path.join(dir, 'model.safetensors'), `missing: ${dir} has config.json but no .safetensors weights`, 'missing-file');
      const index = entries.filter((n) => n === INDEX_FILE); // a sharded checkpoint's map of tensors to shards
      files = inDir(['config.json', ...index, ...st]).concat(hfExtras);
    } else {
      const bins = entries.filter((n) => lower(n).endsWith('.bin'));
      if (bins.length === 0) {
        throw new ModelFileError(dir, 'no model files: expected config.json + model.safetensors or a llama2.c .bin', 'missing-file');
      }
      files = inDir(bins).concat(hfExtras);
    }
  } else {
    throw new ModelFileError(p, 'not a model file: expected a llama2.c .bin, a .safetensors next to config.json, or a directory', 'format');
  }

  const sources: FileSource[] = [];
  const close = () => Promise.all(sources.map((f) => f.close())).then(() => {});
  let loaded: OpenedModel;
  try {
    for (const f of files) sources.push(await openFileSource(f));
    loaded = await openModelSources(sources);
  } catch (e) {
    await close();
    throw e;
  }
  let tokenizer = loaded.tokenizer;
  let tokenizerFile = loaded.tokenizerFile;
  if (tokenizerPath) {
    const tp = path.resolve(tokenizerPath);
    const tf = await read(tp);
    const cfgPath = path.join(path.dirname(tp), 'tokenizer_config.json');
    const tcfg = lower(tp).endsWith('.json') && (await kind(cfgPath)) === 'file' ? await read(cfgPath) : undefined;
    tokenizer = await loadTokenizerFile(tf, loaded.base.config, tcfg, loaded.configFile);
    tokenizerFile = tp;
  } else if (!tokenizer && tokenizerSearch) {
    // A llama2.c tokenizer next to the checkpoint: tokenizer.bin, else the one small .bin that parses.
    const found = await findSiblingTokenizer(dir, entries, p, loaded.base.config.vocabSize);
    if (found) ({ tokenizer, file: tokenizerFile } = found);
  }
  const what = loaded.format === 'hf' ? 'Hugging Face model' : 'llama2.c checkpoint';
  // Files the weights are not read from (config, tokenizer) need not stay open.
  const kept = new Set(loaded.format === 'hf' ? files.filter((f) => f.toLowerCase().endsWith('.safetensors')) : [loaded.modelFile]);
  for (const s of sources) if (!kept.has(s.name)) await s.close();
  return {
    base: loaded.base, tokenizer, tokenizerFile,
    source: `${what} ${loaded.modelFile}${tokenizerFile ? `, tokenizer ${tokenizerFile}` : ''}`,
    close: () => Promise.all(sources.filter((s) => kept.has(s.name)).map((s) => s.close())).then(() => {}),
  };
}

async function findSiblingTokenizer(
  dir: string,
  entries: string[],
  model: string,
  vocabSize: number,
): Promise<{ tokenizer: Tokenizer; file: string } | undefined> {
  const json = entries.find((n) => n === 'tokenizer.json');
  if (json) return undefined; // handled by loadModelFromFiles via hfExtras
  const cands: string[] = [];
  for (const n of entries) {
    const full = path.join(dir, n);
    if (!n.toLowerCase().endsWith('.bin') || full === model) continue;
    const s = await stat(full);
    if (s.isFile() && s.size <= MAX_TOKENIZER_BIN) cands.push(full);
  }
  cands.sort((a, b) => Number(path.basename(b) === 'tokenizer.bin') - Number(path.basename(a) === 'tokenizer.bin'));
  const ok: { tokenizer: Tokenizer; file: string }[] = [];
  for (const c of cands) {
    const f = await read(c);
    if (isLlama2cCheckpoint(f.bytes)) continue;
    try {
      ok.push({ tokenizer: Llama2cTokenizer.fromBytes(f.bytes, c, vocabSize), file: c });
    } catch {
      // not a tokenizer of this vocabulary
    }
    if (path.basename(c) === 'tokenizer.bin' && ok.length) return ok[0];
  }
  return ok.length === 1 ? ok[0] : undefined;
}
