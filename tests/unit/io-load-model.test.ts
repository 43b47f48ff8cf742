import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readAllWeights } from '../../src/io/weight-source.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelFileError } from '../../src/io/errors.ts';
import { exportHfModel } from '../../src/io/export-hf.ts';
import { readModelPath, writeFiles } from '../../src/io/fs-node.ts';
import { loadModelFromFiles, type ModelFile } from '../../src/io/load-model.ts';
import { parseSafetensors, writeSafetensors } from '../../src/io/safetensors.ts';
import { HfTokenizer, llama2cToTokenizerJson, llama2cTokenizerConfig } from '../../src/io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import type { LlamaWeights } from '../../src/schema/tensors.ts';
import { expectFileErrorAsync } from '../helpers/errors.ts';

const FIX = fileURLToPath(new URL('../../../shared/fixtures/stories260K/', import.meta.url));
const MODEL_PATH = path.join(FIX, 'stories260K.bin');
const TOK_PATH = path.join(FIX, 'tok512.bin');
const modelBin: ModelFile = { name: 'stories260K.bin', bytes: new Uint8Array(readFileSync(MODEL_PATH)) };
const tokBin: ModelFile = { name: 'tok512.bin', bytes: new Uint8Array(readFileSync(TOK_PATH)) };
const tmp = mkdtempSync(path.join(tmpdir(), 'subspace-io-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
function expectSameWeights(a: LlamaWeights, b: LlamaWeights): void {
  expect(b.config).toEqual(a.config);
  expect([...b.tensors.keys()]).toEqual([...a.tensors.keys()]);
  for (const [name, t] of a.tensors) expect(bits(b.tensors.get(name)!.data), name).toEqual(bits(t.data));
}

const golden = 'Once upon a time, there was a little girl named Lily.';

describe('loadModelFromFiles (bytes, browser and Node)', async () => {
  const base = await loadModelFromFiles([modelBin, tokBin]);
  const hfFiles = exportHfModel(base.weights, llama2cToTokenizerJson(base.tokenizer as Llama2cTokenizer), llama2cTokenizerConfig({ modelMaxLength: 512 }));
  const asFiles = (m: Map<string, Uint8Array>, prefix = ''): ModelFile[] => [...m].map(([name, bytes]) => ({ name: prefix + name, bytes }));

  it('recognises a llama2.c checkpoint and its tokenizer .bin, in any order', async () => {
    expect(base.format).toBe('llama2c');
    expect(base.modelFile).toBe('stories260K.bin');
    expect(base.tokenizerFile).toBe('tok512.bin');
    expect(base.tokenizer).toBeInstanceOf(Llama2cTokenizer);
    expect(base.weights.config.dim).toBe(64);
    expect(base.tokenizer!.encode(golden, { bos: true }).slice(0, 5)).toEqual([1, 403, 407, 261, 378]);
    const swapped = await loadModelFromFiles([tokBin, modelBin]);
    expect(swapped.modelFile).toBe('stories260K.bin');
  });

  it('loads a llama2.c checkpoint alone (no tokenizer)', async () => {
    const m = await loadModelFromFiles([modelBin]);
    expect(m.tokenizer).toBeUndefined();
    expect(m.weights.tensors.size).toBe(47);
  });

  it('recognises HF files (paths in names allowed) with an HfTokenizer, weights bit-exact', async () => {
    const m = await loadModelFromFiles(asFiles(hfFiles, 'my-model/'));
    expect(m.format).toBe('hf');
    expect(m.modelFile).toBe('my-model/model.safetensors');
    expect(m.tokenizer).toBeInstanceOf(HfTokenizer);
    expectSameWeights(base.weights, m.weights);
    expect(m.tokenizer!.encode(golden, { bos: true })).toEqual(base.tokenizer!.encode(golden, { bos: true }));
  });

  it('HF files without a tokenizer load weights only', async () => {
    const m = await loadModelFromFiles(asFiles(hfFiles).filter((f) => !f.name.startsWith('tokenizer')));
    expect(m.tokenizer).toBeUndefined();
  });

  it('safetensors without config.json → missing-file naming config.json', async () => {
    const e = await expectFileErrorAsync(loadModelFromFiles(asFiles(hfFiles).filter((f) => f.name !== 'config.json')), 'missing-file', 'config.json');
    expect(e.message).toContain('model.safetensors');
  });

  it('no model among the files → missing-file listing them', async () => {
    await expectFileErrorAsync(loadModelFromFiles([{ name: 'notes.txt', bytes: new Uint8Array(3) }]), 'missing-file', 'notes.txt');
  });

  it('a .bin that is neither a checkpoint nor a tokenizer → its parse error', async () => {
    const junk: ModelFile = { name: 'junk.bin', bytes: new Uint8Array(4096).fill(0xff) };
    await expectFileErrorAsync(loadModelFromFiles([junk, tokBin]), 'config', 'junk.bin');
  });

  it('a tokenizer.json that can produce ids ≥ vocab_size → config naming both files and both numbers', async () => {
    const tj = JSON.parse(new TextDecoder().decode(hfFiles.get('tokenizer.json')!)) as Record<string, unknown>;
    const added = [...(tj.added_tokens as unknown[]), { id: 515, content: '<tool>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }];
    const files = asFiles(hfFiles, 'm/').map((f) => (f.name === 'm/tokenizer.json' ? { ...f, bytes: new TextEncoder().encode(JSON.stringify({ ...tj, added_tokens: added })) } : f));
    const e = await expectFileErrorAsync(loadModelFromFiles(files), 'config', 'm/tokenizer.json');
    expect(e.message).toBe('m/tokenizer.json: the tokenizer can produce token ids up to 515 (516 ids) but m/config.json gives the model a vocabulary of 512 (ids 0 to 511)');
    // a llama2.c checkpoint with that tokenizer.json given explicitly: the checkpoint holds vocab_size
    const p = path.join(tmp, 'big-tokenizer.json');
    writeFileSync(p, JSON.stringify({ ...tj, added_tokens: added }));
    const b = await expectFileErrorAsync(readModelPath(MODEL_PATH, p), 'config', p);
    expect(b.message).toBe(`${p}: the tokenizer can produce token ids up to 515 (516 ids) but ${MODEL_PATH} gives the model a vocabulary of 512 (ids 0 to 511)`);
  });

  it('two checkpoints → format error', async () => {
    await expectFileErrorAsync(loadModelFromFiles([modelBin, { name: 'other.bin', bytes: modelBin.bytes }]), 'format', 'other.bin');
  });

  it('a tokenizer .bin with the wrong vocabulary size → its error', async () => {
    const cut = { name: 'tokenizer.bin', bytes: tokBin.bytes.subarray(0, 3000) };
    await expectFileErrorAsync(loadModelFromFiles([modelBin, cut]), 'truncated', 'tokenizer.bin');
  });

  /** model.safetensors split in two shards (tensors in order, half each) with their index. */
  function shardFiles(): ModelFile[] {
    const { tensors } = parseSafetensors(hfFiles.get('model.safetensors')!);
    const names = [...tensors.keys()];
    const halves = [names.slice(0, names.length / 2), names.slice(names.length / 2)];
    const shardName = (i: number) => `model-0000${i + 1}-of-00002.safetensors`;
    const weightMap = Object.fromEntries(halves.flatMap((h, i) => h.map((n) => [n, shardName(i)])));
    return [
      { name: 'config.json', bytes: hfFiles.get('config.json')! },
      ...halves.map((h, i) => ({ name: shardName(i), bytes: writeSafetensors(new Map(h.map((n) => [n, tensors.get(n)!]))) })),
      { name: 'model.safetensors.index.json', bytes: new TextEncoder().encode(JSON.stringify({ metadata: {}, weight_map: weightMap })) },
      { name: 'tokenizer.json', bytes: hfFiles.get('tokenizer.json')! },
    ];
  }

  it('a sharded checkpoint (index + shards) loads the same weights as one model.safetensors', async () => {
    const m = await loadModelFromFiles(shardFiles());
    expectSameWeights(base.weights, m.weights);
    expect(m.modelFile).toBe('model.safetensors.index.json');
    expect(m.tokenizer?.encode(golden)).toEqual(base.tokenizer!.encode(golden));
  });

  it('shards without their index → format error naming the index', async () => {
    const files = shardFiles().filter((f) => !f.name.endsWith('.index.json'));
    const e = await expectFileErrorAsync(loadModelFromFiles(files), 'format', 'model-00001-of-00002.safetensors');
    expect(e.message).toContain('a sharded checkpoint needs its model.safetensors.index.json');
  });
});

describe('fs-node: writeFiles and readModelPath', async () => {
  const base = await loadModelFromFiles([modelBin, tokBin]);
  const hfDir = path.join(tmp, 'hf');
  await writeFiles(hfDir, exportHfModel(base.weights, llama2cToTokenizerJson(base.tokenizer as Llama2cTokenizer), llama2cTokenizerConfig()));

  it('reads a llama2.c .bin and picks up the tokenizer .bin next to it', async () => {
    const m = await readModelPath(MODEL_PATH);
    expectSameWeights(base.weights, await readAllWeights(m.base));
    expect(m.tokenizer).toBeInstanceOf(Llama2cTokenizer);
    expect(m.source).toContain('llama2.c checkpoint');
    expect(m.source).toContain('tok512.bin');
  });

  it('reads an HF directory written by writeFiles', async () => {
    const m = await readModelPath(hfDir);
    expectSameWeights(base.weights, await readAllWeights(m.base));
    expect(m.tokenizer).toBeInstanceOf(HfTokenizer);
    expect(m.tokenizer!.decode(m.tokenizer!.encode(golden, { bos: true }))).toBe(golden);
    expect(m.source).toContain(path.join(hfDir, 'model.safetensors'));
  });

  it('reads a .safetensors path next to config.json', async () => {
    const m = await readModelPath(path.join(hfDir, 'model.safetensors'));
    expectSameWeights(base.weights, await readAllWeights(m.base));
  });

  it('an explicit tokenizer path overrides (tokenizer.bin for an HF model, tokenizer.json for a .bin)', async () => {
    const a = await readModelPath(hfDir, TOK_PATH);
    expect(a.tokenizer).toBeInstanceOf(Llama2cTokenizer);
    expect(a.source).toContain('tok512.bin');
    const b = await readModelPath(MODEL_PATH, path.join(hfDir, 'tokenizer.json'));
    expect(b.tokenizer).toBeInstanceOf(HfTokenizer);
  });

  it('reads a directory holding a single llama2.c .bin (and its tokenizer)', async () => {
    const dir = path.join(tmp, 'l2c');
    await writeFiles(dir, new Map());
    copyFileSync(MODEL_PATH, path.join(dir, 'model.bin'));
    copyFileSync(TOK_PATH, path.join(dir, 'tokenizer.bin'));
    const m = await readModelPath(dir);
    expect(m.base.config.nLayers).toBe(5);
    expect(m.tokenizer?.vocabSize).toBe(512);
  });

  it('missing path → missing-file naming it', async () => {
    const p = path.join(tmp, 'nope.bin');
    await expectFileErrorAsync(readModelPath(p), 'missing-file', p);
  });

  it('.safetensors without config.json → missing-file naming config.json', async () => {
    const dir = path.join(tmp, 'noconfig');
    await writeFiles(dir, new Map([['model.safetensors', readFileSync(path.join(hfDir, 'model.safetensors'))]]));
    await expectFileErrorAsync(readModelPath(path.join(dir, 'model.safetensors')), 'missing-file', path.join(dir, 'config.json'));
    await expectFileErrorAsync(readModelPath(dir), 'missing-file', path.join(dir, 'config.json'));
  });

  it('missing explicit tokenizer → missing-file naming it', async () => {
    const p = path.join(tmp, 'tokenizer.bin');
    await expectFileErrorAsync(readModelPath(MODEL_PATH, p), 'missing-file', p);
  });

  it('empty directory → missing-file naming it', async () => {
    const dir = path.join(tmp, 'empty');
    await writeFiles(dir, new Map());
    await expectFileErrorAsync(readModelPath(dir), 'missing-file', dir);
  });

  it('a corrupt config.json in a directory → json naming its path', async () => {
    const dir = path.join(tmp, 'badcfg');
    await writeFiles(dir, new Map([['model.safetensors', readFileSync(path.join(hfDir, 'model.safetensors'))]]));
    writeFileSync(path.join(dir, 'config.json'), '{"hidden_size": 64');
    await expectFileErrorAsync(readModelPath(dir), 'json', path.join(dir, 'config.json'));
  });
});

describe('loadModelFromFiles with a broken checkpoint next to a tokenizer', () => {
  it('names the checkpoint, even when it is smaller than the tokenizer', async () => {
    const tiny: ModelFile = { name: 'tiny.bin', bytes: modelBin.bytes.slice(0, 3000) };
    const err = await loadModelFromFiles([tiny, tokBin]).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as ModelFileError).file).toBe('tiny.bin');
    expect((err as ModelFileError).code).toBe('truncated');
  });

  it('says when only tokenizers were given', async () => {
    const err = await loadModelFromFiles([tokBin]).then(() => null, (e: unknown) => e);
    expect((err as Error).message).toMatch(/tokenizers; add the llama2.c checkpoint/);
  });
});
