import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelFile } from '../../src/io/load-model.ts';
import {
  adapterPeftType, convertPissaToLora, readPeftAdapter, writePeftAdapter,
  type AdapterTensors, type PeftAdapterConfig,
} from '../../src/io/peft.ts';
import { readPeftAdapterDir, writePeftAdapterDir } from '../../src/io/peft-node.ts';
import { parseSafetensors, parseSafetensorsHeader, writeSafetensors } from '../../src/io/safetensors.ts';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';
import { LINEAR_MODULES, moduleName, type HostTensor, type LinearModule } from '../../src/schema/tensors.ts';
import { randomLoraTensors, randomTensor, seededUniform } from '../helpers/adapters.ts';
import { expectFileError } from '../helpers/errors.ts';

const CFG = 'adapter_config.json';
const ST = 'adapter_model.safetensors';

// q, o (16, 16); k, v (8, 16); gate, up (24, 16); down (16, 24): every shape distinct from its transpose.
const model: LlamaConfig = {
  dim: 16, hiddenDim: 24, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 11, maxSeqLen: 9,
  normEps: 1e-6, ropeTheta: 10000, tiedEmbeddings: true, bosId: 1, eosId: 2,
};

const loraConfig: PeftAdapterConfig = {
  r: 4, loraAlpha: 16, loraDropout: 0.05, targetModules: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'],
  useRslora: false, useDora: false, baseModelName: 'karpathy/stories260K',
};

const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const enc = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
const asFiles = (m: Map<string, Uint8Array>, dir = ''): ModelFile[] => [...m].map(([name, bytes]) => ({ name: dir + name, bytes }));

/** A written adapter with its config JSON and/or tensors edited. */
function edited(
  files: Map<string, Uint8Array>,
  editConfig?: (j: Record<string, unknown>) => void,
  editTensors?: (t: Map<string, HostTensor>) => Map<string, HostTensor> | void,
): ModelFile[] {
  const j = JSON.parse(dec(files.get(CFG)!)) as Record<string, unknown>;
  editConfig?.(j);
  let t = parseSafetensors(files.get(ST)!, ST).tensors;
  t = editTensors?.(t) ?? t;
  return [{ name: CFG, bytes: enc(j) }, { name: ST, bytes: writeSafetensors(t, { format: 'pt' }) }];
}

const P = 'base_model.model.model.layers';

describe('writePeftAdapter', () => {
  it('writes every adapter_config.json value METHODS.md lists', () => {
    const files = writePeftAdapter({ ...loraConfig, targetModules: ['v', 'q', 'down'] }, randomLoraTensors(model, 4, ['q', 'v', 'down'], false), model);
    expect([...files.keys()].sort()).toEqual([CFG, ST]);
    const j = JSON.parse(dec(files.get(CFG)!));
    expect(j).toStrictEqual({
      peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: 'karpathy/stories260K',
      r: 4, lora_alpha: 16, lora_dropout: 0.05, target_modules: ['q_proj', 'v_proj', 'down_proj'],
      use_rslora: false, use_dora: false, init_lora_weights: true, bias: 'none', fan_in_fan_out: false,
      inference_mode: true, modules_to_save: null, rank_pattern: {}, alpha_pattern: {}, lora_bias: false,
      // harmless keys peft itself writes
      layers_to_transform: null, layers_pattern: null, revision: null, auto_mapping: null,
    });
    expect(Object.keys(j)).toEqual(Object.keys(j).sort()); // sorted, as peft's save_pretrained writes
  });

  it('names and shapes the tensors as peft does, metadata {"format": "pt"}', () => {
    const files = writePeftAdapter({ ...loraConfig, useDora: true }, randomLoraTensors(model, 4, [...LINEAR_MODULES], true), model);
    const { entries, metadata } = parseSafetensorsHeader(files.get(ST)!, ST);
    expect(metadata).toEqual({ format: 'pt' });
    const got = Object.fromEntries([...entries].map(([k, e]) => [k, e.shape]));
    const want: Record<string, number[]> = {};
    for (let i = 0; i < 2; i++) {
      for (const [m, o, inF] of [['q', 16, 16], ['k', 8, 16], ['v', 8, 16], ['o', 16, 16]] as const) {
        want[`${P}.${i}.self_attn.${m}_proj.lora_A.weight`] = [4, inF];
        want[`${P}.${i}.self_attn.${m}_proj.lora_B.weight`] = [o, 4];
        want[`${P}.${i}.self_attn.${m}_proj.lora_magnitude_vector`] = [o];
      }
      for (const [m, o, inF] of [['gate', 24, 16], ['up', 24, 16], ['down', 16, 24]] as const) {
        want[`${P}.${i}.mlp.${m}_proj.lora_A.weight`] = [4, inF];
        want[`${P}.${i}.mlp.${m}_proj.lora_B.weight`] = [o, 4];
        want[`${P}.${i}.mlp.${m}_proj.lora_magnitude_vector`] = [o];
      }
    }
    expect(got).toEqual(want);
    expect(Object.keys(got)).toHaveLength(2 * 7 * 3);
    for (const e of entries.values()) expect(e.dtype).toBe('F32');
    expect(JSON.parse(dec(files.get(CFG)!)).use_dora).toBe(true);
  });

  it('refuses inconsistent input: wrong shape, missing module, magnitude without DoRA, base-rewriting init', () => {
    const t = randomLoraTensors(model, 4, ['q', 'v'], false);
    const cfg = { ...loraConfig, targetModules: ['q', 'v'] as LinearModule[] };
    const bad = new Map(t);
    bad.set(moduleName(1, 'v'), { A: t.get(moduleName(1, 'v'))!.A, B: randomTensor([16, 4], seededUniform(3)) });
    expectFileError(() => writePeftAdapter(cfg, bad, model), 'config', ST, `${P}.1.self_attn.v_proj.lora_B.weight`, '[16, 4]', '[8, 4]');
    const missing = new Map(t);
    missing.delete(moduleName(0, 'q'));
    expectFileError(() => writePeftAdapter(cfg, missing, model), 'missing-tensor', ST, 'model.layers.0.self_attn.q_proj');
    expectFileError(() => writePeftAdapter({ ...cfg, targetModules: ['q'] }, t, model), 'config', ST, 'model.layers.0.self_attn.v_proj');
    const withMag = randomLoraTensors(model, 4, ['q', 'v'], true);
    expectFileError(() => writePeftAdapter(cfg, withMag, model), 'config', CFG, 'use_dora');
    expectFileError(() => writePeftAdapter({ ...cfg, useDora: true }, t, model), 'missing-tensor', ST, 'magnitude');
    expectFileError(() => writePeftAdapter({ ...cfg, initLoraWeights: 'pissa_niter_4' }, t, model), 'config', CFG, 'pissa_niter_4');
  });
});

describe('readPeftAdapter', () => {
  function expectSame(a: AdapterTensors, b: AdapterTensors): void {
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, t] of a) {
      const u = b.get(name)!;
      expect(u.A.shape, name).toEqual(t.A.shape);
      expect(u.B.shape, name).toEqual(t.B.shape);
      expect(bits(u.A.data), name).toEqual(bits(t.A.data));
      expect(bits(u.B.data), name).toEqual(bits(t.B.data));
      expect(u.magnitude === undefined, name).toBe(t.magnitude === undefined);
      if (t.magnitude) {
        expect(u.magnitude!.shape).toEqual(t.magnitude.shape);
        expect(bits(u.magnitude!.data)).toEqual(bits(t.magnitude.data));
      }
    }
  }

  it('round-trips LoRA bit-exactly (file names with directory prefixes)', () => {
    const cfg: PeftAdapterConfig = { ...loraConfig, targetModules: ['q', 'k', 'gate'], loraAlpha: 7.5, useRslora: true };
    const t = randomLoraTensors(model, 4, ['q', 'k', 'gate'], false, 5);
    const back = readPeftAdapter(asFiles(writePeftAdapter(cfg, t, model), 'out/run-1/'), model);
    expect(back.config).toStrictEqual({ ...cfg, initLoraWeights: true });
    expectSame(t, back.tensors);
  });

  it('round-trips DoRA bit-exactly', () => {
    const cfg: PeftAdapterConfig = { ...loraConfig, r: 3, useDora: true, loraDropout: 0 };
    const t = randomLoraTensors(model, 3, [...LINEAR_MODULES], true, 9);
    const back = readPeftAdapter(asFiles(writePeftAdapter(cfg, t, model)), model);
    expect(back.config).toStrictEqual({ ...cfg, initLoraWeights: true });
    expectSame(t, back.tensors);
    expect(adapterPeftType(asFiles(writePeftAdapter(cfg, t, model)))).toBe('LORA');
  });

  it('fills missing config keys with peft defaults (r 8, alpha 8, dropout 0, targets q_proj, v_proj)', () => {
    const t = randomLoraTensors(model, 8, ['q', 'v'], false);
    const files = writePeftAdapter({ ...loraConfig, r: 8, targetModules: ['q', 'v'] }, t, model);
    const back = readPeftAdapter(edited(files, (j) => {
      for (const k of Object.keys(j)) if (k !== 'peft_type') delete j[k];
    }), model);
    expect(back.config).toStrictEqual({
      r: 8, loraAlpha: 8, loraDropout: 0, targetModules: ['q', 'v'], useRslora: false, useDora: false,
      baseModelName: '', initLoraWeights: true,
    });
  });

  it('accepts the ".default" adapter-name segment and target_modules as "all-linear" or a regex', () => {
    const t = randomLoraTensors(model, 2, [...LINEAR_MODULES], true);
    const files = writePeftAdapter({ ...loraConfig, r: 2, useDora: true }, t, model);
    const renamed = edited(files, (j) => { j.target_modules = 'all-linear'; }, (m) => new Map([...m].map(([k, v]) => [
      k.replace('.lora_A.weight', '.lora_A.default.weight').replace('lora_magnitude_vector', 'lora_magnitude_vector.default'), v,
    ])));
    expect(readPeftAdapter(renamed, model).tensors.size).toBe(14);
    const regex = edited(files, (j) => { j.target_modules = '.*\\.(q|k|v|o|gate|up|down)_proj'; });
    expect(readPeftAdapter(regex, model).config.targetModules).toEqual([...LINEAR_MODULES]);
  });

  it('error: a tensor of the wrong shape, naming the file and the key', () => {
    const files = writePeftAdapter(loraConfig, randomLoraTensors(model, 4, [...LINEAR_MODULES], false), model);
    const key = `${P}.1.mlp.down_proj.lora_A.weight`;
    const bad = edited(files, undefined, (m) => { m.set(key, randomTensor([4, 16], seededUniform(2))); });
    expectFileError(() => readPeftAdapter(bad, model), 'config', ST, key, '[4, 16]', '[4, 24]');
  });

  it('error: rank of the tensors differs from "r" → names adapter_config.json, which holds the wrong value', () => {
    const files = writePeftAdapter(loraConfig, randomLoraTensors(model, 4, [...LINEAR_MODULES], false), model);
    const e = expectFileError(() => readPeftAdapter(edited(files, (j) => { j.r = 8; }), model), 'config', CFG);
    expect(e.message).toBe('adapter_config.json: "r" is 8 but adapter_model.safetensors has lora_A of shape [4, 16] for model.layers.0.self_attn.q_proj (r = 4)');
    // only lora_B of one module with another rank (its lora_A fits r = 4)
    const key = `${P}.1.self_attn.v_proj.lora_B.weight`;
    const b = expectFileError(() => readPeftAdapter(edited(files, undefined, (m) => { m.set(key, randomTensor([8, 2], seededUniform(3))); }), model), 'config', CFG);
    expect(b.message).toBe('adapter_config.json: "r" is 4 but adapter_model.safetensors has lora_B of shape [8, 2] for model.layers.1.self_attn.v_proj (r = 2)');
  });

  it('target_modules regexes run in linear time: evil patterns answer at once, unsupported syntax is refused naming the file and key', () => {
    const files = writePeftAdapter({ ...loraConfig, targetModules: ['q', 'v'] }, randomLoraTensors(model, 4, ['q', 'v'], false), model);
    const withTargets = (t: string): ModelFile[] => edited(files, (j) => { j.target_modules = t; });
    for (const p of ['.*\\.(q|v)_proj', '.*(q_proj|v_proj)$', 'model\\.layers\\.\\d+\\.self_attn\\.(q|v)_proj', '(.*)*\\.(q|v)_proj']) {
      expect(readPeftAdapter(withTargets(p), model).config.targetModules, p).toEqual(['q', 'v']);
    }
    for (const p of ['(a+)+$', '(.*.*)*X']) {
      const e = expectFileError(() => readPeftAdapter(withTargets(p), model), 'config', CFG);
      expect(e.message).toBe(`adapter_config.json: "target_modules" ${JSON.stringify(p)} matches no linear module of this LLaMA model`);
    }
    const e = expectFileError(() => readPeftAdapter(withTargets('.*(?=q_proj).*'), model), 'config', CFG);
    expect(e.message).toBe('adapter_config.json: "target_modules" regex ".*(?=q_proj).*" is not supported: a lookahead (at position 2) cannot be matched without backtracking');
    const long = `(${'x|'.repeat(250)}q)_proj`;
    expect(expectFileError(() => readPeftAdapter(withTargets(long), model), 'config', CFG).message)
      .toBe(`adapter_config.json: "target_modules" regex ${JSON.stringify(long)} is not supported: it is 508 characters long, more than 500`);
  });

  it('error: lora_A without its lora_B', () => {
    const files = writePeftAdapter(loraConfig, randomLoraTensors(model, 4, [...LINEAR_MODULES], false), model);
    const key = `${P}.0.self_attn.o_proj.lora_B.weight`;
    const bad = edited(files, undefined, (m) => { m.delete(key); });
    expectFileError(() => readPeftAdapter(bad, model), 'missing-tensor', ST, key);
  });

  it('error: an unknown tensor key', () => {
    const files = writePeftAdapter(loraConfig, randomLoraTensors(model, 4, [...LINEAR_MODULES], false), model);
    for (const key of ['base_model.model.lm_head.lora_A.weight', `${P}.0.self_attn.q_proj.lora_B.bias`, `${P}.0.mlp.q_proj.lora_A.weight`]) {
      const bad = edited(files, undefined, (m) => { m.set(key, randomTensor([4, 16], seededUniform(2))); });
      expectFileError(() => readPeftAdapter(bad, model), 'format', ST, `unknown tensor "${key}"`);
    }
  });

  it('error: tensors and target_modules disagree', () => {
    const files = writePeftAdapter({ ...loraConfig, targetModules: ['q', 'v'] }, randomLoraTensors(model, 4, ['q', 'v'], false), model);
    expectFileError(() => readPeftAdapter(edited(files, (j) => { j.target_modules = ['q_proj']; }), model), 'config', ST, `${P}.0.self_attn.v_proj`, 'target_modules');
    expectFileError(
      () => readPeftAdapter(edited(files, (j) => { j.target_modules = ['q_proj', 'v_proj', 'k_proj']; }), model),
      'missing-tensor', ST, `${P}.0.self_attn.k_proj.lora_A.weight`,
    );
    expectFileError(
      () => readPeftAdapter(edited(files, (j) => { j.target_modules = ['model.layers.0.self_attn.q_proj', 'v_proj']; }), model),
      'config', CFG, 'layer 1',
    );
    expectFileError(() => readPeftAdapter(edited(files, (j) => { j.target_modules = ['q_proj', 'lm_head']; }), model), 'config', CFG, 'lm_head');
  });

  it('error: peft_type other than LORA, or missing', () => {
    const files = writePeftAdapter(loraConfig, randomLoraTensors(model, 4, [...LINEAR_MODULES], false), model);
    expectFileError(() => readPeftAdapter(edited(files, (j) => { j.peft_type = 'IA3'; }), model), 'format', CFG, '"peft_type"', 'IA3');
    expectFileError(() => readPeftAdapter(edited(files, (j) => { delete j.peft_type; }), model), 'format', CFG, '"peft_type"');
  });

  it('error: rank_pattern / alpha_pattern / modules_to_save are not supported', () => {
    const files = writePeftAdapter(loraConfig, randomLoraTensors(model, 4, [...LINEAR_MODULES], false), model);
    const cases: [string, unknown][] = [
      ['rank_pattern', { q_proj: 8 }], ['alpha_pattern', { 'model.layers.0.mlp.up_proj': 2 }], ['modules_to_save', ['lm_head']],
      ['layers_to_transform', [0]], ['lora_bias', true],
    ];
    for (const [key, value] of cases) {
      const e = expectFileError(() => readPeftAdapter(edited(files, (j) => { j[key] = value; }), model), 'config', CFG, `"${key}"`, 'not supported');
      expect(e.message).toContain(JSON.stringify(value));
    }
    // The "off" values peft writes are fine.
    expect(readPeftAdapter(edited(files, (j) => { j.modules_to_save = null; j.rank_pattern = {}; j.layers_to_transform = null; }), model).tensors.size).toBe(14);
  });

  it('error: a DoRA magnitude with use_dora false, or missing with use_dora true', () => {
    const files = writePeftAdapter({ ...loraConfig, useDora: true }, randomLoraTensors(model, 4, [...LINEAR_MODULES], true), model);
    expectFileError(() => readPeftAdapter(edited(files, (j) => { j.use_dora = false; }), model), 'config', ST, 'lora_magnitude_vector', 'use_dora');
    const key = `${P}.1.mlp.up_proj.lora_magnitude_vector`;
    expectFileError(() => readPeftAdapter(edited(files, undefined, (m) => { m.delete(key); }), model), 'missing-tensor', ST, key);
  });

  it('error: bad values and missing files', () => {
    const files = writePeftAdapter(loraConfig, randomLoraTensors(model, 4, [...LINEAR_MODULES], false), model);
    expectFileError(() => readPeftAdapter(edited(files, (j) => { j.r = 2.5; }), model), 'config', CFG, '"r"');
    expectFileError(() => readPeftAdapter(edited(files, (j) => { j.init_lora_weights = 'pissa'; }), model), 'config', CFG, 'init_lora_weights');
    expectFileError(() => readPeftAdapter(edited(files, (j) => { j.task_type = 'SEQ_CLS'; }), model), 'config', CFG, 'task_type');
    expectFileError(() => readPeftAdapter([{ name: CFG, bytes: files.get(CFG)! }], model), 'missing-file', ST);
    expectFileError(() => readPeftAdapter([{ name: CFG, bytes: enc('{') }, { name: ST, bytes: files.get(ST)! }], model), 'json', CFG);
    // The adapter of a bigger model: layer 2 does not exist here.
    const deeper = { ...model, nLayers: 3 };
    const big = writePeftAdapter(loraConfig, randomLoraTensors(deeper, 4, [...LINEAR_MODULES], false), deeper);
    expectFileError(() => readPeftAdapter(asFiles(big), model), 'config', ST, `${P}.2.`, '2 layers');
  });
});

describe('convertPissaToLora', () => {
  /** ΔW = s·B·A in float64, (out, in). */
  function delta(s: number, A: HostTensor, B: HostTensor): Float64Array {
    const [r, inF] = A.shape as [number, number];
    const out = B.shape[0]!;
    const d = new Float64Array(out * inF);
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < inF; i++) {
        let acc = 0;
        for (let k = 0; k < r; k++) acc += B.data[o * r + k]! * A.data[k * inF + i]!;
        d[o * inF + i] = s * acc;
      }
    }
    return d;
  }
  const scale = (c: PeftAdapterConfig): number => (c.useRslora ? c.loraAlpha / Math.sqrt(c.r) : c.loraAlpha / c.r);

  for (const [label, c, rslora] of [
    ['r = 4, LoRA scaling, stories-like shapes', model, false],
    ['r = 3, rsLoRA scaling, 1-layer 40×24 / 96 shapes', { ...model, dim: 40, hiddenDim: 96, nHeads: 5, nKvHeads: 5, nLayers: 1 }, true],
  ] as const) {
    it(`s'·B'·A' = s·(B·A − B₀·A₀) in float64 (${label})`, () => {
      const r = rslora ? 3 : 4;
      const cfg: PeftAdapterConfig = { ...loraConfig, r, loraAlpha: 2 * r, useRslora: rslora, initLoraWeights: 'pissa' };
      const init = randomLoraTensors(c, r, [...LINEAR_MODULES], false, 11);
      const trained = randomLoraTensors(c, r, [...LINEAR_MODULES], false, 12);
      const conv = convertPissaToLora(cfg, trained, init);
      expect(conv.config).toStrictEqual({ ...cfg, r: 2 * r, loraAlpha: rslora ? 2 * r * Math.SQRT2 : 4 * r, initLoraWeights: true });
      const s = scale(cfg), s2 = scale(conv.config);
      // rel 1e-15: the scales agree to rounding (exactly for plain LoRA).
      expect(Math.abs(s2 - s) / s).toBeLessThan(1e-15);
      for (const [name, t] of trained) {
        const t0 = init.get(name)!;
        const u = conv.tensors.get(name)!;
        const [out, inF] = [t.B.shape[0]!, t.A.shape[1]!];
        expect(u.A.shape).toEqual([2 * r, inF]);
        expect(u.B.shape).toEqual([out, 2 * r]);
        const got = delta(s2, u.A, u.B);
        const dTrained = delta(s, t.A, t.B), dInit = delta(s, t0.A, t0.B);
        let maxErr = 0, maxRef = 0;
        for (let k = 0; k < got.length; k++) {
          const ref = dTrained[k]! - dInit[k]!;
          maxErr = Math.max(maxErr, Math.abs(got[k]! - ref));
          maxRef = Math.max(maxRef, Math.abs(ref));
        }
        expect(maxRef).toBeGreaterThan(0.01);
        // float64 sums of the same f32 products in a different order: atol 1e-14 on values ~0.1.
        expect(maxErr, name).toBeLessThan(1e-14);
      }
      // The converted adapter is a valid peft file for the original model.
      const back = readPeftAdapter(asFiles(writePeftAdapter(conv.config, conv.tensors, c)), c);
      expect(back.config.r).toBe(2 * r);
      expect(back.tensors.size).toBe(7 * c.nLayers);
    });
  }

  it('keeps DoRA magnitudes and refuses mismatched initial tensors', () => {
    const cfg: PeftAdapterConfig = { ...loraConfig, targetModules: ['q'], useDora: true };
    const init = randomLoraTensors(model, 4, ['q'], true, 1);
    const trained = randomLoraTensors(model, 4, ['q'], true, 2);
    const conv = convertPissaToLora(cfg, trained, init);
    expect(conv.tensors.get(moduleName(0, 'q'))!.magnitude).toBe(trained.get(moduleName(0, 'q'))!.magnitude);
    const short = new Map(init);
    short.delete(moduleName(1, 'q'));
    expectFileError(() => convertPissaToLora(cfg, trained, short), 'missing-tensor', ST, 'model.layers.1.self_attn.q_proj');
    expectFileError(() => convertPissaToLora(cfg, trained, randomLoraTensors(model, 2, ['q'], true)), 'missing-tensor', ST, '[2, 16]');
  });
});

describe('peft-node', () => {
  it('writes and reads an adapter directory', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'peft-'));
    try {
      const t = randomLoraTensors(model, 4, ['q', 'v'], false);
      const cfg = { ...loraConfig, targetModules: ['q', 'v'] as LinearModule[] };
      await writePeftAdapterDir(path.join(dir, 'a'), cfg, t, model);
      expect((await readdir(path.join(dir, 'a'))).sort()).toEqual([CFG, ST]);
      const back = await readPeftAdapterDir(path.join(dir, 'a'), model);
      expect(back.config).toStrictEqual({ ...cfg, initLoraWeights: true });
      expect(bits(back.tensors.get(moduleName(1, 'v'))!.B.data)).toEqual(bits(t.get(moduleName(1, 'v'))!.B.data));
      await expect(readPeftAdapterDir(path.join(dir, 'missing'), model)).rejects.toMatchObject({ code: 'missing-file' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
