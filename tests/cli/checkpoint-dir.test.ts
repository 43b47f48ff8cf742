/**
 * <out>/checkpoint/ on disk without a GPU: a TrainerCheckpoint survives trainer.safetensors + state.json bit for
 * bit (PiSSA/MiLoRA's A₀, B₀ included); a save interrupted between its two renames still resumes; damaged or
 * foreign files are refused with the file and field named.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  readCheckpointDir, removeCheckpointDir, writeCheckpointDir, writeFileAtomic, type RunInfo,
} from '../../src/cli/checkpoint-dir.ts';
import { parseSafetensors, writeSafetensors } from '../../src/io/safetensors.ts';
import type { TrainerCheckpoint } from '../../src/train/checkpoint.ts';
import { DEFAULT_TRAIN_CONFIG, type Method } from '../../src/schema/train-config.ts';

const work = mkdtempSync(path.join(tmpdir(), 'subspace-ckptdir-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const random = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 12.9898) * 43758.5453 % 1);

function checkpoint(method: Method, step: number): TrainerCheckpoint {
  const mod = 'model.layers.0.self_attn.q_proj';
  const params = [
    { name: `${mod}.lora_A.weight`, shape: [2, 8] },
    { name: `${mod}.lora_B.weight`, shape: [8, 2] },
  ].map((p, i) => ({ ...p, value: random(16, step + i), m: random(16, step + i + 10), v: random(16, step + i + 20).map(Math.abs) }));
  return {
    version: 1,
    config: { ...DEFAULT_TRAIN_CONFIG, method, rank: 2, targets: ['q'], steps: 10, dropout: 0.1 },
    step,
    params,
    dropoutCalls: { [mod]: step },
    ...(method === 'milora' ? { spectralInitial: new Map([[mod, { A: { shape: [2, 8], data: random(16, 99) }, B: { shape: [8, 2], data: random(16, 98) } }]]) } : {}),
  };
}
const info = (lines: number): RunInfo => ({
  model_fingerprint: '1a2b3c4d', data: { file: 'data.txt', sha256: 'ab'.repeat(32), eval_fraction: 0.1 }, metrics_lines: lines,
});

describe('checkpoint directory', () => {
  it('round-trips a checkpoint bit for bit, with the documented tensor names and state.json fields, no temp files left', async () => {
    for (const method of ['lora', 'milora'] as const) {
      const dir = path.join(work, `rt-${method}`);
      const c = checkpoint(method, 3);
      await writeCheckpointDir(dir, c, info(5));
      expect(readdirSync(dir).sort()).toEqual(['state.json', 'trainer.safetensors']);
      const names = [...parseSafetensors(new Uint8Array(readFileSync(path.join(dir, 'trainer.safetensors')))).tensors.keys()];
      const mod = 'model.layers.0.self_attn.q_proj';
      expect(names).toEqual([
        `${mod}.lora_A.weight`, `${mod}.lora_A.weight.adam_m`, `${mod}.lora_A.weight.adam_v`,
        `${mod}.lora_B.weight`, `${mod}.lora_B.weight.adam_m`, `${mod}.lora_B.weight.adam_v`,
        ...(method === 'milora' ? [`${mod}.initial_A`, `${mod}.initial_B`] : []),
      ]);
      const json = JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8'));
      expect(Object.keys(json)).toEqual(['version', 'step', 'config', 'dropout_calls', 'model_fingerprint', 'data', 'metrics_lines']);
      expect(json).toMatchObject({ version: 1, step: 3, dropout_calls: { [mod]: 3 }, metrics_lines: 5, data: { file: 'data.txt', eval_fraction: 0.1 } });
      const back = await readCheckpointDir(dir);
      expect(back.warning).toBeUndefined();
      expect(back.checkpoint).toEqual(c);
      expect(back.state.config).toEqual(c.config);
    }
  });

  it('after a save interrupted between the two renames, resumes from the state stored with the tensors', async () => {
    const dir = path.join(work, 'interrupted');
    await writeCheckpointDir(dir, checkpoint('lora', 2), info(2));
    const newer = path.join(work, 'newer');
    await writeCheckpointDir(newer, checkpoint('lora', 4), info(4));
    copyFileSync(path.join(newer, 'trainer.safetensors'), path.join(dir, 'trainer.safetensors')); // renamed; state.json not yet
    const r = await readCheckpointDir(dir);
    expect(r.state).toMatchObject({ step: 4, metrics_lines: 4 });
    expect(r.checkpoint).toEqual(checkpoint('lora', 4));
    expect(r.warning).toContain('is from step 2');
    unlinkSync(path.join(dir, 'state.json')); // the very first save, interrupted the same way
    expect((await readCheckpointDir(dir)).state.step).toBe(4);
  });

  it('refuses damaged or foreign files, naming the file and the field', async () => {
    const dir = path.join(work, 'bad');
    const tensors = path.join(dir, 'trainer.safetensors');
    const stateFile = path.join(dir, 'state.json');
    const fresh = async () => {
      rmSync(dir, { recursive: true, force: true });
      await writeCheckpointDir(dir, checkpoint('milora', 2), info(2));
    };
    const edit = (f: (s: Record<string, unknown>) => void) => {
      const s = JSON.parse(readFileSync(stateFile, 'utf8'));
      f(s);
      writeFileSync(stateFile, JSON.stringify(s));
    };
    await expect(readCheckpointDir(path.join(work, 'nothing'))).rejects.toThrow(/state\.json: not found; .* has no checkpoint to resume/);

    await fresh();
    unlinkSync(tensors);
    await expect(readCheckpointDir(dir)).rejects.toThrow(`${tensors}: not found`);

    await fresh();
    writeFileSync(stateFile, '{"version": 1, "step": ');
    await expect(readCheckpointDir(dir)).rejects.toThrow(`${stateFile}: not valid JSON`);

    await fresh();
    edit((s) => { s.version = 7; });
    await expect(readCheckpointDir(dir)).rejects.toThrow(`${stateFile}: version 7 is not supported (expected 1)`);
    await fresh();
    edit((s) => { delete (s.config as Record<string, unknown>).lr; });
    await expect(readCheckpointDir(dir)).rejects.toThrow(`${stateFile}: field "config.lr" is missing`);
    await fresh();
    edit((s) => { (s.data as Record<string, unknown>).sha256 = 'nope'; });
    await expect(readCheckpointDir(dir)).rejects.toThrow(`${stateFile}: field "data.sha256"`);

    // Tensors: a moment missing, a shape that disagrees, A₀ without B₀.
    const rewrite = (f: (t: Map<string, { shape: number[]; data: Float32Array }>) => void) => {
      const file = parseSafetensors(new Uint8Array(readFileSync(tensors)));
      f(file.tensors);
      writeFileSync(tensors, writeSafetensors(file.tensors, file.metadata));
    };
    const A = 'model.layers.0.self_attn.q_proj.lora_A.weight';
    await fresh();
    rewrite((t) => t.delete(`${A}.adam_v`));
    await expect(readCheckpointDir(dir)).rejects.toThrow(`${tensors}: tensor "${A}.adam_v" is missing`);
    await fresh();
    rewrite((t) => t.set(`${A}.adam_m`, { shape: [4, 4], data: new Float32Array(16) }));
    await expect(readCheckpointDir(dir)).rejects.toThrow(`${tensors}: tensor "${A}.adam_m" is [4, 4], "${A}" is [2, 8]`);
    await fresh();
    rewrite((t) => t.delete('model.layers.0.self_attn.q_proj.initial_B'));
    await expect(readCheckpointDir(dir)).rejects.toThrow(`${tensors}: "model.layers.0.self_attn.q_proj" needs both`);
  });

  it('writeFileAtomic replaces a file whole; removeCheckpointDir removes only checkpoint files', async () => {
    const dir = path.join(work, 'misc');
    mkdirSync(dir, { recursive: true });
    const f = path.join(dir, 'x.txt');
    await writeFileAtomic(f, 'one');
    await writeFileAtomic(f, 'two');
    expect(readFileSync(f, 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['x.txt']);

    const ck = path.join(work, 'rm', 'checkpoint');
    await writeCheckpointDir(ck, checkpoint('lora', 6), info(6));
    expect(await removeCheckpointDir(ck)).toBe(6);
    expect(existsSync(ck)).toBe(false);
    expect(await removeCheckpointDir(ck)).toBeUndefined();
    await writeCheckpointDir(ck, checkpoint('lora', 1), info(1));
    writeFileSync(path.join(ck, 'notes.txt'), 'mine');
    await removeCheckpointDir(ck);
    expect(readdirSync(ck)).toEqual(['notes.txt']);
  });
});
