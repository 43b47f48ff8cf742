import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { parseSafetensors } from '../../src/io/safetensors.ts';
import { isBaseGreedy, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';

const work = mkdtempSync(path.join(tmpdir(), 'subspace-mora-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const data = path.join(work, 'zorbo.txt');
writeFileSync(data, Array.from({ length: 20 }, () => 'Zorbo the dragon lived in a cave by the sea. Every morning Zorbo flew over the water.').join('\n\n'));

const base = ['--model', STORIES_BIN, '--tokenizer', TOK512_BIN];
const ids = (r: { stdout: string }) => JSON.parse(r.stdout).ids as number[];

describe('cli MoRA', () => {
  it('train --method mora writes the MoRA adapter and the merged model, which generate the same ids', async () => {
    const out = path.join(work, 'mora');
    const r = await cli('train', ...base, '--data', data, '--method', 'mora', '--mora-type', '6', '--rank', '4',
      '--targets', 'q,v,down', '--lr', '1e-2', '--steps', '6', '--batch', '2', '--seq', '32', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('(mora)');
    const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(metrics[5].loss).toBeLessThan(metrics[0].loss);
    const cfg = JSON.parse(readFileSync(path.join(out, 'adapter', 'adapter_config.json'), 'utf8'));
    // stories260K: q 64×64 → r̂ = round(√(128·4)) = 23 → 22 (even); v 32×64 → 20; down 64×172 → 31 → 30.
    expect(cfg).toMatchObject({ peft_type: 'MORA', mora_type: 6, r: 4, r_hat: { q_proj: 22, v_proj: 20, down_proj: 30 } });
    expect(cfg.target_modules).toEqual(['q_proj', 'v_proj', 'down_proj']);
    const st = parseSafetensors(new Uint8Array(readFileSync(path.join(out, 'adapter', 'adapter_model.safetensors'))));
    const M0 = st.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.mora_M.weight')!;
    expect(M0.shape).toEqual([22, 22]);
    expect(M0.data.some((v) => v !== 0)).toBe(true); // trained away from the zero init
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(existsSync(path.join(out, 'merged', f)), f).toBe(true);
    const viaAdapter = await cli('generate', ...base, '--adapter', path.join(out, 'adapter'), '--max-tokens', '30', '--json');
    const viaMerged = await cli('generate', '--model', path.join(out, 'merged'), '--max-tokens', '30', '--json');
    expect(viaAdapter.code, viaAdapter.stderr).toBe(0);
    expect(viaMerged.code, viaMerged.stderr).toBe(0);
    expect(ids(viaMerged)).toEqual(ids(viaAdapter));
    expect(isBaseGreedy(viaAdapter.stdout)).toBe(false); // the adapter changed the model
  });

  it('init --method mora writes a zero adapter that training continues from', async () => {
    const out = path.join(work, 'init');
    const r = await cli('init', ...base, '--method', 'mora', '--mora-type', '1', '--rank', '8', '--targets', 'q,k', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const cfg = JSON.parse(readFileSync(path.join(out, 'adapter', 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'MORA', mora_type: 1, r: 8, r_hat: { q_proj: 32, k_proj: 28 } });
    const st = parseSafetensors(new Uint8Array(readFileSync(path.join(out, 'adapter', 'adapter_model.safetensors'))));
    expect(st.tensors.size).toBe(10); // 5 layers × (q, k)
    for (const t of st.tensors.values()) expect(t.data.every((v) => v === 0)).toBe(true);
    const cont = path.join(work, 'continued');
    const t = await cli('train', ...base, '--data', data, '--method', 'mora', '--adapter', path.join(out, 'adapter'),
      '--lr', '1e-2', '--steps', '2', '--batch', '2', '--seq', '16', '--out', cont);
    expect(t.code, t.stderr).toBe(0);
    const cfg2 = JSON.parse(readFileSync(path.join(cont, 'adapter', 'adapter_config.json'), 'utf8'));
    expect(cfg2).toMatchObject({ mora_type: 1, r: 8, target_modules: ['q_proj', 'k_proj'] }); // taken from the adapter
  });

  it('explains bad MoRA flags', async () => {
    const badType = await cli('train', ...base, '--data', data, '--method', 'mora', '--mora-type', '3', '--out', path.join(work, 'x'));
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('--mora-type must be 1 (sharing) or 6 (rotation)');
    const notMora = await cli('train', ...base, '--data', data, '--method', 'lora', '--mora-type', '6', '--out', path.join(work, 'x'));
    expect(notMora.code).toBe(2);
    expect(notMora.stderr).toContain('--mora-type applies to --method mora');
    const init = path.join(work, 'init-flags');
    expect((await cli('init', ...base, '--method', 'mora', '--rank', '2', '--out', init)).code).toBe(0);
    const wrongMethod = await cli('train', ...base, '--data', data, '--method', 'lora', '--adapter', path.join(init, 'adapter'), '--out', path.join(work, 'x'));
    expect(wrongMethod.code).toBe(2);
    expect(wrongMethod.stderr).toContain('holds a MoRA adapter: use --method mora');
  });
});
