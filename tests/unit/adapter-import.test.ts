/**
 * Importing an adapter into the studio, the pure part (src/adapters/import-check.ts and the TrainConfig
 * it stands for): adapters written by our own writers for stories260K — peft LoRA, rsLoRA, DoRA and the
 * MoRA file, zipped as the studio exports them or loose — read back with their numbers and tensors
 * exact, and bad files refused with an error naming the file and what is wrong.
 */
import { describe, expect, it } from 'vitest';
import { checkAdapter, sameModelName, type CheckedAdapter } from '../../src/adapters/import-check.ts';
import { llama2cConfig, readLlama2cHeader } from '../../src/io/llama2c.ts';
import type { ModelFile } from '../../src/io/load-model.ts';
import { writeMoraAdapter, type MoraAdapterConfig } from '../../src/io/mora-file.ts';
import { writePeftAdapter, type PeftAdapterConfig } from '../../src/io/peft.ts';
import { writeZip } from '../../src/io/zip.ts';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';
import type { LinearModule } from '../../src/schema/tensors.ts';
import { importedMethodId } from '../../src/store/import-slice.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../src/schema/train-config.ts';
import { importedTrainConfig } from '../../src/workers/engine/import-config.ts';
import { randomLoraTensors, randomMoraTensors } from '../helpers/adapters.ts';
import { expectFileError } from '../helpers/errors.ts';
import { readFixture, STORIES_BIN } from '../helpers/fixtures.ts';

const CFG = 'adapter_config.json';
const ST = 'adapter_model.safetensors';
const BASE = 'stories260K.bin+tok512.bin';

/** stories260K: dim 64, FFN 172, 5 layers, 8 heads, 4 kv heads → q, o (64, 64); k, v (32, 64); gate, up (172, 64); down (64, 172). */
const model: LlamaConfig = llama2cConfig(readLlama2cHeader(readFixture(STORIES_BIN), 'stories260K.bin'));

const lora: PeftAdapterConfig = { r: 8, loraAlpha: 16, loraDropout: 0, targetModules: ['q', 'v'], useRslora: false, useDora: false, baseModelName: BASE };

/** The written files as one ZIP, the way exportRun hands them to the browser. */
const zipOf = (name: string, files: Map<string, Uint8Array>, prefix = ''): ModelFile => ({
  name,
  bytes: writeZip([...files].map(([n, bytes]) => ({ name: prefix + n, bytes }))),
});
const loose = (files: Map<string, Uint8Array>): ModelFile[] => [...files].map(([name, bytes]) => ({ name, bytes }));
const enc = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

const peftOf = (a: CheckedAdapter) => {
  if (a.kind !== 'peft') throw new Error(`expected a peft adapter, got ${a.kind}`);
  return a;
};

describe('importing a peft LoRA / DoRA adapter', () => {
  const tensors = randomLoraTensors(model, 8, ['q', 'v'], false);
  const files = writePeftAdapter(lora, tensors, model);

  it('reads our exported zip back: the summary numbers, and every tensor bit for bit', () => {
    const a = peftOf(checkAdapter([zipOf('subspace-lora-adapter-run1.zip', files)], model, BASE));
    // q: 8·(64 + 64) = 1024, v: 8·(64 + 32) = 768 per layer, 5 layers: the studio's 8,960 estimate.
    expect(a.summary).toEqual({
      method: 'lora', rank: 8, alpha: 16, rslora: false, dropout: 0, moraType: null, targets: ['q', 'v'],
      moduleCount: 10, trainableCount: 8960, baseModelName: BASE,
      files: ['subspace-lora-adapter-run1.zip/adapter_config.json', 'subspace-lora-adapter-run1.zip/adapter_model.safetensors'],
      warnings: [],
    });
    expect([...a.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      const got = a.tensors.get(name)!;
      expect(got.A.shape).toEqual(t.A.shape);
      expect(got.B.shape).toEqual(t.B.shape);
      expect(bits(got.A.data)).toEqual(bits(t.A.data));
      expect(bits(got.B.data)).toEqual(bits(t.B.data));
    }
  });

  it('reads the loose files, and a zip whose files sit in a folder next to a README', () => {
    const a = checkAdapter(loose(files), model, BASE);
    expect(a.summary.files).toEqual([CFG, ST]);
    expect(a.summary.trainableCount).toBe(8960);
    const zipped = writeZip([
      { name: 'my-adapter/', bytes: new Uint8Array() },
      { name: 'my-adapter/README.md', bytes: enc('# notes') },
      ...[...files].map(([n, bytes]) => ({ name: `my-adapter/${n}`, bytes })),
    ]);
    const b = checkAdapter([{ name: 'a.zip', bytes: zipped }], model, BASE);
    expect(b.summary.files).toEqual(['a.zip/my-adapter/adapter_config.json', 'a.zip/my-adapter/adapter_model.safetensors']);
    expect(b.summary.moduleCount).toBe(10);
  });

  it('DoRA with rsLoRA on all seven targets: magnitudes counted, method row rsLoRA/DoRA', () => {
    const all: LinearModule[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];
    const cfg: PeftAdapterConfig = { ...lora, r: 4, loraAlpha: 8, loraDropout: 0.05, targetModules: all, useRslora: true, useDora: true };
    const a = checkAdapter([zipOf('dora.zip', writePeftAdapter(cfg, randomLoraTensors(model, 4, all, true), model))], model, BASE);
    // Per layer: A + B = 4·(in + out) summed = 4·(128 + 96 + 96 + 128 + 236 + 236 + 236) = 4624; m = out summed = 64+32+32+64+172+172+64 = 600.
    expect(a.summary).toMatchObject({ method: 'dora', rank: 4, alpha: 8, rslora: true, dropout: 0.05, targets: all, moduleCount: 35, trainableCount: 5 * (4624 + 600) });
    expect(importedMethodId(a.summary)).toBe('dora');
    expect(importedMethodId({ method: 'lora', rslora: true })).toBe('rslora');
    expect(importedMethodId({ method: 'lora', rslora: false })).toBe('lora');
  });

  it('the TrainConfig it stands for re-exports the same adapter_config.json', () => {
    const a = checkAdapter(loose(files), model, BASE);
    const c = importedTrainConfig(a.summary);
    expect(c).toEqual({ ...DEFAULT_TRAIN_CONFIG, method: 'lora', rank: 8, alpha: 16, rslora: false, dropout: 0, targets: ['q', 'v'], moraType: DEFAULT_TRAIN_CONFIG.moraType });
    // exportRun's peft config, built from tuned.config as src/workers/engine/exports.ts does.
    const again = writePeftAdapter(
      { r: c.rank, loraAlpha: c.alpha, loraDropout: c.dropout, targetModules: c.targets, useRslora: c.rslora, useDora: c.method === 'dora', baseModelName: a.summary.baseModelName },
      peftOf(a).tensors,
      model,
    );
    expect(dec(again.get(CFG)!)).toBe(dec(files.get(CFG)!));
    expect(again.get(ST)).toEqual(files.get(ST));
  });

  it('a different base model name with fitting shapes is a warning, not an error', () => {
    const a = checkAdapter(loose(files), model, 'karpathy/stories260K');
    expect(a.summary.warnings).toEqual([`The adapter was saved for "${BASE}" but the loaded model is "karpathy/stories260K"; its shapes fit, so it is applied anyway.`]);
    expect(sameModelName('/models/stories260K', 'stories260K')).toBe(true);
    expect(sameModelName('Karpathy/Stories260K/', 'karpathy/stories260K')).toBe(true);
    expect(sameModelName('stories260K.bin + tok512.bin', 'stories260K.bin+tok512.bin')).toBe(true);
    expect(sameModelName('stories15M', 'stories260K')).toBe(false);
  });
});

describe('importing a MoRA adapter file', () => {
  it('reads our MoRA zip: type, rank, r̂² parameters, no α; the TrainConfig carries the MoRA type', () => {
    const cfg: MoraAdapterConfig = { r: 8, moraType: 6, targetModules: ['q', 'v'], baseModelName: BASE };
    const M = randomMoraTensors(model, cfg.r, cfg.moraType, cfg.targetModules, 2);
    const a = checkAdapter([zipOf('subspace-mora-adapter-run2.zip', writeMoraAdapter(cfg, M, model))], model, BASE);
    if (a.kind !== 'mora') throw new Error('expected MoRA');
    // r̂ = even ⌊√((in + out)·8) + ½⌋: q 32, v 28 → 32² + 28² = 1808 per layer (the studio's 9,040).
    expect(a.summary).toMatchObject({ method: 'mora', rank: 8, alpha: null, moraType: 6, targets: ['q', 'v'], moduleCount: 10, trainableCount: 9040 });
    expect(bits(a.tensors.get('model.layers.4.self_attn.v_proj')!.data)).toEqual(bits(M.get('model.layers.4.self_attn.v_proj')!.data));
    expect(importedMethodId(a.summary)).toBe('mora');
    const c = importedTrainConfig(a.summary);
    expect({ method: c.method, rank: c.rank, moraType: c.moraType, alpha: c.alpha, targets: c.targets }).toEqual({
      method: 'mora', rank: 8, moraType: 6, alpha: DEFAULT_TRAIN_CONFIG.alpha, targets: ['q', 'v'],
    });
  });
});

describe('bad adapter files are refused, naming the file', () => {
  const files = writePeftAdapter(lora, randomLoraTensors(model, 8, ['q', 'v'], false), model);

  it('wrong shapes: an adapter for a wider model names the tensor, the shapes and the model it was made for', () => {
    const wide: LlamaConfig = { ...model, dim: 128, hiddenDim: 344 };
    const other = writePeftAdapter({ ...lora, baseModelName: 'stories-wide' }, randomLoraTensors(wide, 8, ['q', 'v'], false), wide);
    expectFileError(
      () => checkAdapter([zipOf('wide.zip', other)], model, BASE),
      'config',
      'wide.zip/adapter_model.safetensors',
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" has shape [8, 128]',
      'needs (r, in) = [8, 64]',
      'made for "stories-wide"',
      `not the loaded model "${BASE}"`,
    );
  });

  it('more layers than the model has', () => {
    const deep: LlamaConfig = { ...model, nLayers: 6 };
    const other = writePeftAdapter(lora, randomLoraTensors(deep, 8, ['q', 'v'], false), deep);
    const e = expectFileError(() => checkAdapter(loose(other), model, BASE), 'config', ST);
    expect(e.message).toBe(
      'adapter_model.safetensors: tensor "base_model.model.model.layers.5.self_attn.q_proj.lora_A.weight" is for layer 5 but the model has 5 layers (its num_hidden_layers): the adapter was made for a deeper model',
    );
  });

  it('a wrong r names the adapter_config.json inside the zip, with the shape that disagrees', () => {
    const wrongR = new Map([...files, [CFG, enc({ ...JSON.parse(dec(files.get(CFG)!)), r: 4 })]]);
    const e = expectFileError(() => checkAdapter([zipOf('a.zip', wrongR)], model, BASE), 'config', 'a.zip/adapter_config.json');
    expect(e.message).toBe('a.zip/adapter_config.json: "r" is 4 but a.zip/adapter_model.safetensors has lora_A of shape [8, 64] for model.layers.0.self_attn.q_proj (r = 8)');
  });

  it('a catastrophic-backtracking target_modules regex answers at once; a lookahead is refused', () => {
    const retarget = (targets: unknown): ModelFile[] => loose(new Map([...files, [CFG, enc({ ...JSON.parse(dec(files.get(CFG)!)), target_modules: targets })]]));
    expect(checkAdapter(retarget('(.*)*\\.(q|v)_proj'), model, BASE).summary.targets).toEqual(['q', 'v']);
    const evil = expectFileError(() => checkAdapter(retarget('(.*.*)*X'), model, BASE), 'config', CFG);
    expect(evil.message).toBe('adapter_config.json: "target_modules" "(.*.*)*X" matches no linear module of this LLaMA model');
    const look = expectFileError(() => checkAdapter(retarget('.*(?<!mlp)\\.q_proj'), model, BASE), 'config', CFG);
    expect(look.message).toBe('adapter_config.json: "target_modules" regex ".*(?<!mlp)\\\\.q_proj" is not supported: a lookbehind (at position 2) cannot be matched without backtracking');
  });

  it('unknown targets: a module of another architecture, lm_head, and tensors for modules the config does not list', () => {
    const retarget = (targets: unknown): ModelFile[] => loose(new Map([...files, [CFG, enc({ ...JSON.parse(dec(files.get(CFG)!)), target_modules: targets })]]));
    expectFileError(() => checkAdapter(retarget(['q_proj', 'c_attn']), model, BASE), 'config', CFG, '"c_attn" matches no linear module');
    expectFileError(() => checkAdapter(retarget(['q_proj', 'lm_head']), model, BASE), 'config', CFG, '"lm_head"');
    expectFileError(() => checkAdapter(retarget(['q_proj']), model, BASE), 'config', ST, 'v_proj', 'does not select');
  });

  it('a zip without the weights, or without the config', () => {
    const onlyConfig = zipOf('half.zip', new Map([[CFG, files.get(CFG)!]]));
    expectFileError(() => checkAdapter([onlyConfig], model, BASE), 'missing-file', 'half.zip', `holds no ${ST} (entries: ${CFG})`);
    const onlyWeights = zipOf('half.zip', new Map([[ST, files.get(ST)!]]));
    expectFileError(() => checkAdapter([onlyWeights], model, BASE), 'missing-file', 'half.zip', `holds no ${CFG}`);
    // Loose: the config alone.
    expectFileError(() => checkAdapter([{ name: ST, bytes: files.get(ST)! }], model, BASE), 'missing-file', CFG, `files given: ${ST}`);
  });

  it('non-zip bytes in a .zip, a stray file, a zip together with loose files, two adapters in one zip', () => {
    const garbage = { name: 'garbage.zip', bytes: enc('this is not an archive at all') };
    expectFileError(() => checkAdapter([garbage], model, BASE), 'format', 'garbage.zip', 'cannot be read as a ZIP archive', 'no end-of-central-directory record');
    expectFileError(() => checkAdapter([...loose(files), { name: 'notes.txt', bytes: enc('hi') }], model, BASE), 'format', 'notes.txt', 'not an adapter file');
    expectFileError(() => checkAdapter([zipOf('a.zip', files), ...loose(files)], model, BASE), 'format', 'a.zip', 'give one .zip on its own');
    const two = writeZip([...files].flatMap(([n, bytes]) => [{ name: `one/${n}`, bytes }, { name: `two/${n}`, bytes }]));
    expectFileError(() => checkAdapter([{ name: 'two.zip', bytes: two }], model, BASE), 'format', 'two.zip/two/adapter_config.json', '2 files named adapter_config.json');
  });

  it('a truncated safetensors file and a config that is not JSON name the file inside the zip', () => {
    const cut = new Map(files);
    cut.set(ST, files.get(ST)!.subarray(0, files.get(ST)!.length - 100)); // the header intact, the data short
    expectFileError(() => checkAdapter([zipOf('cut.zip', cut)], model, BASE), 'offsets', 'cut.zip/adapter_model.safetensors', 'run past the end of the data', 'file truncated?');
    const notJson = new Map(files);
    notJson.set(CFG, new TextEncoder().encode('{"r": 8,'));
    expectFileError(() => checkAdapter([zipOf('bad.zip', notJson)], model, BASE), 'json', 'bad.zip/adapter_config.json', 'not valid JSON');
  });
});
