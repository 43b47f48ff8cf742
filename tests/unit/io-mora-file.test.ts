import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelFile } from '../../src/io/load-model.ts';
import { moraRank } from '../../src/schema/mora.ts';
import { moraRanks, readMoraAdapter, writeMoraAdapter, type MoraAdapterConfig } from '../../src/io/mora-file.ts';
import { adapterPeftType, readPeftAdapter } from '../../src/io/peft.ts';
import { readMoraAdapterDir, writeMoraAdapterDir } from '../../src/io/peft-node.ts';
import { parseSafetensors, parseSafetensorsHeader, writeSafetensors } from '../../src/io/safetensors.ts';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';
import { LINEAR_MODULES, moduleName, type HostTensor } from '../../src/schema/tensors.ts';
import { randomMoraTensors } from '../helpers/adapters.ts';
import { expectFileError } from '../helpers/errors.ts';

const CFG = 'adapter_config.json';
const ST = 'adapter_model.safetensors';
const P = 'base_model.model.model.layers';

// q, o (16, 16); k, v (8, 16); gate, up (24, 16); down (16, 24).
const model: LlamaConfig = {
  dim: 16, hiddenDim: 24, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 11, maxSeqLen: 9,
  normEps: 1e-6, ropeTheta: 10000, tiedEmbeddings: true, bosId: 1, eosId: 2,
};

const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const enc = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
const asFiles = (m: Map<string, Uint8Array>, dir = ''): ModelFile[] => [...m].map(([name, bytes]) => ({ name: dir + name, bytes }));

function edited(
  files: Map<string, Uint8Array>,
  editConfig?: (j: Record<string, unknown>) => void,
  editTensors?: (t: Map<string, HostTensor>) => void,
): ModelFile[] {
  const j = JSON.parse(dec(files.get(CFG)!)) as Record<string, unknown>;
  editConfig?.(j);
  const t = parseSafetensors(files.get(ST)!, ST).tensors;
  editTensors?.(t);
  return [{ name: CFG, bytes: enc(j) }, { name: ST, bytes: writeSafetensors(t, { format: 'pt' }) }];
}

/** r_hat of cfg6's targets at rank r (type 6), as adapter_config.json spells it. */
const moraRanksOf = (r: number): Record<string, number> => {
  const all = moraRanks(model, r, 6);
  return { q_proj: all.q, v_proj: all.v, down_proj: all.down };
};

const cfg6: MoraAdapterConfig = { r: 4, moraType: 6, targetModules: ['q', 'v', 'down'], baseModelName: 'karpathy/stories260K' };

describe('moraRank', () => {
  it('rounds like the official code: LLaMA-2 gate_proj (4096 → 11008) at r = 8 is 348', () => {
    expect(moraRank(4096, 11008, 8, 1)).toBe(348); // √120832 = 347.6 → 348 (a floor would give 347)
    expect(moraRank(4096, 11008, 8, 6)).toBe(348); // already even
    expect(moraRank(4096, 4096, 8, 1)).toBe(256);
  });
  it('type 6 rounds down to even; type 1 does not', () => {
    expect(moraRank(16, 16, 4, 1)).toBe(11); // √128 = 11.31
    expect(moraRank(16, 16, 4, 6)).toBe(10);
    expect(moraRank(16, 24, 8, 1)).toBe(18); // √320 = 17.89 rounds up
    expect(moraRank(16, 24, 8, 6)).toBe(18);
    expect(moraRank(16, 8, 8, 1)).toBe(14); // √192 = 13.86
    expect(moraRanks(model, 4, 6)).toEqual({ q: 10, k: 10, v: 10, o: 10, gate: 12, up: 12, down: 12 });
    expect(moraRanks(model, 4, 1)).toEqual({ q: 11, k: 10, v: 10, o: 11, gate: 13, up: 13, down: 13 });
  });
});

describe('MoRA adapter file', () => {
  it('writes the config and keys METHODS.md / the brief specify', () => {
    const files = writeMoraAdapter(cfg6, randomMoraTensors(model, 4, 6, ['q', 'v', 'down']), model);
    expect(JSON.parse(dec(files.get(CFG)!))).toStrictEqual({
      peft_type: 'MORA', format: 'subspace-mora', version: 1, mora_type: 6, r: 4,
      r_hat: { q_proj: 10, v_proj: 10, down_proj: 12 }, target_modules: ['q_proj', 'v_proj', 'down_proj'],
      base_model_name_or_path: 'karpathy/stories260K',
    });
    const { entries, metadata } = parseSafetensorsHeader(files.get(ST)!, ST);
    expect(metadata).toEqual({ format: 'pt' });
    expect(Object.fromEntries([...entries].map(([k, e]) => [k, e.shape]))).toEqual({
      [`${P}.0.self_attn.q_proj.mora_M.weight`]: [10, 10],
      [`${P}.0.self_attn.v_proj.mora_M.weight`]: [10, 10],
      [`${P}.0.mlp.down_proj.mora_M.weight`]: [12, 12],
      [`${P}.1.self_attn.q_proj.mora_M.weight`]: [10, 10],
      [`${P}.1.self_attn.v_proj.mora_M.weight`]: [10, 10],
      [`${P}.1.mlp.down_proj.mora_M.weight`]: [12, 12],
    });
    expect(adapterPeftType(asFiles(files))).toBe('MORA');
  });

  for (const type of [1, 6] as const) {
    it(`round-trips bit-exactly (type ${type}, all modules, directory prefixes)`, () => {
      const cfg: MoraAdapterConfig = { r: 8, moraType: type, targetModules: [...LINEAR_MODULES], baseModelName: '' };
      const t = randomMoraTensors(model, 8, type, [...LINEAR_MODULES], 3 + type);
      const back = readMoraAdapter(asFiles(writeMoraAdapter(cfg, t, model), 'runs/mora/'), model);
      expect(back.config).toStrictEqual(cfg);
      expect([...back.tensors.keys()]).toEqual([...t.keys()]);
      for (const [name, M] of t) {
        expect(back.tensors.get(name)!.shape).toEqual(M.shape);
        expect(bits(back.tensors.get(name)!.data), name).toEqual(bits(M.data));
      }
    });
  }

  it('write refuses a wrong-size M and a missing module', () => {
    const t = randomMoraTensors(model, 4, 6, ['q', 'v', 'down']);
    const bad = new Map(t);
    bad.set(moduleName(1, 'down'), { shape: [13, 13], data: new Float32Array(169) });
    expectFileError(() => writeMoraAdapter(cfg6, bad, model), 'config', ST, `${P}.1.mlp.down_proj.mora_M.weight`, '[12, 12]');
    const missing = new Map(t);
    missing.delete(moduleName(0, 'v'));
    expectFileError(() => writeMoraAdapter(cfg6, missing, model), 'missing-tensor', ST, 'model.layers.0.self_attn.v_proj');
  });

  const files = writeMoraAdapter(cfg6, randomMoraTensors(model, 4, 6, ['q', 'v', 'down']), model);

  it('error: M not square', () => {
    const key = `${P}.0.mlp.down_proj.mora_M.weight`;
    const bad = edited(files, undefined, (m) => { m.set(key, { shape: [12, 10], data: new Float32Array(120) }); });
    expectFileError(() => readMoraAdapter(bad, model), 'config', ST, key, 'square', '[12, 12]');
  });

  it('error: M of the wrong size for the formula', () => {
    const key = `${P}.1.self_attn.q_proj.mora_M.weight`;
    const bad = edited(files, undefined, (m) => { m.set(key, { shape: [11, 11], data: new Float32Array(121) }); });
    expectFileError(() => readMoraAdapter(bad, model), 'config', ST, key, '[10, 10]');
  });

  it('error: "r" (with its r_hat) disagreeing with the tensors → names adapter_config.json, which holds the wrong value', () => {
    // r 8 and the r_hat it implies (q, v, down: 16, 12, 18), over tensors saved at r = 4 (10, 8, 12)
    const bad = edited(files, (j) => { j.r = 8; j.r_hat = moraRanksOf(8); });
    const e = expectFileError(() => readMoraAdapter(bad, model), 'config', CFG);
    expect(e.message).toBe(`adapter_config.json: "r" is 8 (r̂ = 16 for q_proj) but adapter_model.safetensors has mora_M of shape [10, 10] for model.layers.0.self_attn.q_proj, which r = 3 or 4 gives`);
  });

  it('error: r_hat disagreeing with the formula', () => {
    const bad = edited(files, (j) => { j.r_hat = { q_proj: 11, v_proj: 10, down_proj: 12 }; });
    expectFileError(() => readMoraAdapter(bad, model), 'config', CFG, '"r_hat"."q_proj"', '11', 'r̂ = 10');
    // r changed: every r̂ (and M) would be different.
    expectFileError(() => readMoraAdapter(edited(files, (j) => { j.r = 8; }), model), 'config', CFG, '"r_hat"');
    expectFileError(() => readMoraAdapter(edited(files, (j) => { (j.r_hat as Record<string, number>).k_proj = 10; }), model), 'config', CFG, 'k_proj');
  });

  it('error: unknown key, missing M, untargeted module', () => {
    const unknown = `${P}.0.self_attn.q_proj.lora_A.weight`;
    expectFileError(() => readMoraAdapter(edited(files, undefined, (m) => { m.set(unknown, { shape: [1], data: new Float32Array(1) }); }), model), 'format', ST, unknown);
    const key = `${P}.1.self_attn.v_proj.mora_M.weight`;
    expectFileError(() => readMoraAdapter(edited(files, undefined, (m) => { m.delete(key); }), model), 'missing-tensor', ST, key);
    const k = `${P}.0.self_attn.k_proj.mora_M.weight`;
    expectFileError(() => readMoraAdapter(edited(files, undefined, (m) => { m.set(k, { shape: [10, 10], data: new Float32Array(100) }); }), model), 'config', ST, k, 'target_modules');
  });

  it('error: peft_type, format, version, mora_type', () => {
    expectFileError(() => readMoraAdapter(edited(files, (j) => { j.peft_type = 'LORA'; }), model), 'format', CFG, '"peft_type"', 'readPeftAdapter');
    expectFileError(() => readMoraAdapter(edited(files, (j) => { j.format = 'kongds'; }), model), 'format', CFG, '"format"');
    expectFileError(() => readMoraAdapter(edited(files, (j) => { j.version = 2; }), model), 'format', CFG, '"version"');
    expectFileError(() => readMoraAdapter(edited(files, (j) => { j.mora_type = 3; }), model), 'config', CFG, '"mora_type"');
    expectFileError(() => readMoraAdapter(edited(files, (j) => { j.target_modules = ['q_proj', 'lm_head']; }), model), 'config', CFG, 'lm_head');
    // And readPeftAdapter refuses a MoRA file, pointing to readMoraAdapter.
    expectFileError(() => readPeftAdapter(asFiles(files), model), 'format', CFG, 'MORA', 'readMoraAdapter');
  });

  it('peft-node: directory round trip', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mora-'));
    try {
      const t = randomMoraTensors(model, 4, 6, ['q', 'v', 'down'], 7);
      await writeMoraAdapterDir(dir, cfg6, t, model);
      const back = await readMoraAdapterDir(dir, model);
      expect(back.config).toStrictEqual(cfg6);
      expect(bits(back.tensors.get(moduleName(1, 'down'))!.data)).toEqual(bits(t.get(moduleName(1, 'down'))!.data));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
