import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { parseSafetensors } from '../../src/io/safetensors.ts';
import { isBaseGreedy, readFixture, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';

const work = mkdtempSync(path.join(tmpdir(), 'subspace-pissa-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const data = path.join(work, 'zorbo.txt');
writeFileSync(data, Array.from({ length: 20 }, () => 'Zorbo the dragon lived in a cave by the sea. Every morning Zorbo flew over the water.').join('\n\n'));

const base = ['--model', STORIES_BIN, '--tokenizer', TOK512_BIN];
const ids = (r: { stdout: string }) => JSON.parse(r.stdout).ids as number[];
const json = (...p: string[]) => JSON.parse(readFileSync(path.join(...p), 'utf8'));
const gen = ['--max-tokens', '30', '--json'];

describe('cli PiSSA / MiLoRA', () => {
  it('train --method pissa writes a converted adapter (r → 2r) for the ORIGINAL base and the merged model; both generate the same ids', async () => {
    const out = path.join(work, 'pissa');
    const r = await cli('train', ...base, '--data', data, '--method', 'pissa', '--rank', '4', '--targets', 'q,v,down',
      '--lr', '1e-2', '--steps', '6', '--batch', '2', '--seq', '32', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('(pissa)');
    const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics[5].loss).toBeLessThan(metrics[0].loss);
    expect(json(out, 'adapter', 'adapter_config.json')).toMatchObject({
      peft_type: 'LORA', r: 8, lora_alpha: 16, init_lora_weights: true, use_dora: false, target_modules: ['q_proj', 'v_proj', 'down_proj'],
    });
    const st = parseSafetensors(new Uint8Array(readFileSync(path.join(out, 'adapter', 'adapter_model.safetensors'))));
    expect(st.tensors.get('base_model.model.model.layers.4.mlp.down_proj.lora_A.weight')!.shape).toEqual([8, 172]);
    expect(st.tensors.get('base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight')!.shape).toEqual([32, 8]);
    for (const f of ['config.json', 'model.safetensors']) expect(existsSync(path.join(out, 'merged', f)), f).toBe(true);
    const viaAdapter = await cli('generate', ...base, '--adapter', path.join(out, 'adapter'), ...gen);
    const viaMerged = await cli('generate', '--model', path.join(out, 'merged'), ...gen);
    expect(viaAdapter.code, viaAdapter.stderr).toBe(0);
    expect(viaMerged.code, viaMerged.stderr).toBe(0);
    expect(ids(viaMerged)).toEqual(ids(viaAdapter));
    expect(isBaseGreedy(viaAdapter.stdout)).toBe(false); // the adapter changed the model
  });

  it('init --method milora writes the unconverted adapter and the residual model; together they generate what the base does', async () => {
    const out = path.join(work, 'init');
    const r = await cli('init', ...base, '--method', 'milora', '--rank', '4', '--alpha', '4', '--targets', 'all-linear', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(json(out, 'adapter', 'adapter_config.json')).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 4, init_lora_weights: true });
    const st = parseSafetensors(new Uint8Array(readFileSync(path.join(out, 'adapter', 'adapter_model.safetensors'))));
    expect(st.tensors.size).toBe(5 * 7 * 2);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(existsSync(path.join(out, 'residual', f)), f).toBe(true);
    const together = await cli('generate', '--model', path.join(out, 'residual'), '--adapter', path.join(out, 'adapter'), ...gen);
    expect(together.code, together.stderr).toBe(0);
    expect(ids(together).length).toBe(31);
    expect(isBaseGreedy(together.stdout)).toBe(true);
    // The residual weights differ from the base by s·B·A.
    const res = parseSafetensors(new Uint8Array(readFileSync(path.join(out, 'residual', 'model.safetensors'))));
    const wq = res.tensors.get('model.layers.0.self_attn.q_proj.weight')!;
    expect(wq.shape).toEqual([64, 64]);
    const orig = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin').tensors.get('model.layers.0.self_attn.q_proj.weight')!.data;
    const diff = Math.max(...Array.from(wq.data, (w, i) => Math.abs(w - orig[i]!)));
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(0.1 * Math.max(...Array.from(orig, Math.abs))); // MiLoRA removes only the minor part

    const bad = await cli('train', ...base, '--data', data, '--method', 'pissa', '--adapter', path.join(out, 'adapter'), '--out', path.join(work, 'x'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--method lora on --model <init dir>/residual');
  });
});
