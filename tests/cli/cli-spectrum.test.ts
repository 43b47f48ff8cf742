import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';

const work = mkdtempSync(path.join(tmpdir(), 'subspace-spectrum-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const data = path.join(work, 'zorbo.txt');
writeFileSync(data, Array.from({ length: 20 }, () => 'Zorbo the dragon lived in a cave by the sea. Every morning Zorbo flew over the water.').join('\n\n'));

const base = ['--model', STORIES_BIN, '--tokenizer', TOK512_BIN];
const ISSUE_KEYS = ['name', 'shape', 'sigma'];
const ADAPTER_KEYS = ['delta_sigma', 'delta_rank90', 'overlap_principal', 'overlap_minor'];
const SHAPES: Record<string, [number, number]> = { q: [64, 64], k: [32, 64], v: [32, 64], o: [64, 64], gate: [172, 64], up: [172, 64], down: [64, 172] };
type Rec = Record<string, unknown> & { name: string; shape: number[]; sigma: number[]; delta_sigma?: number[]; delta_rank90?: number };

describe('cli spectrum', () => {
  it('prints one record per module of stories260K (all 35) with the issue\'s keys', async () => {
    const r = await cli('spectrum', ...base, '--json');
    expect(r.code, r.stderr).toBe(0);
    const recs = JSON.parse(r.stdout) as Rec[];
    expect(recs.length).toBe(35);
    for (const rec of recs) {
      expect(Object.keys(rec)).toEqual(ISSUE_KEYS);
      const m = /^model\.layers\.\d\.(?:self_attn|mlp)\.(\w+)_proj$/.exec(rec.name)?.[1];
      expect(m, rec.name).toBeDefined();
      expect(rec.shape).toEqual(SHAPES[m!]);
      expect(rec.sigma.length).toBe(Math.min(...SHAPES[m!]!));
      for (let i = 1; i < rec.sigma.length; i++) expect(rec.sigma[i]!).toBeLessThanOrEqual(rec.sigma[i - 1]!);
    }
    console.log(`cli spectrum: ${r.stderr.trim()}`);
    const table = await cli('spectrum', ...base, '--layers', '1', '--modules', 'q,down');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.trim().split('\n').length).toBe(3);
    expect(table.stdout).toContain('model.layers.1.mlp.down_proj');
    const bad = await cli('spectrum', ...base, '--layers', '7');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--layers: "7" is not a layer');
  });

  it('train --spectra-every 1 records spectra; spectrum --adapter adds ΔW\'s spectrum with rank90 ≤ r', async () => {
    const out = path.join(work, 'lora');
    const r = await cli('train', ...base, '--data', data, '--method', 'lora', '--rank', '4', '--targets', 'q,v,down',
      '--lr', '1e-2', '--steps', '2', '--batch', '2', '--seq', '16', '--spectra-every', '1',
      '--spectra-budget-ms', '600000', '--out', out); // every round complete, however busy the machine
    expect(r.code, r.stderr).toBe(0);
    const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const spectra = metrics.filter((m) => 'spectra' in m);
    expect(metrics.filter((m) => 'loss' in m).map((m) => m.step)).toEqual([1, 2]);
    expect(spectra.map((m) => m.step)).toEqual([1, 2]);
    for (const s of spectra) {
      expect(Object.keys(s).sort()).toEqual(['peak_gpu_bytes', 'spectra', 'spectra_ms', 'step']);
      expect(s.spectra_ms).toBeGreaterThan(0);
      // Default subset: the targets of the first and last layer.
      expect(s.spectra.map((x: { name: string }) => x.name)).toEqual(
        ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.0.mlp.down_proj',
          'model.layers.4.self_attn.q_proj', 'model.layers.4.self_attn.v_proj', 'model.layers.4.mlp.down_proj']);
      for (const x of s.spectra) {
        expect(Object.keys(x).sort()).toEqual(['delta_rank90', 'delta_sigma', 'name', 'overlap_minor', 'overlap_principal']);
        expect(x.delta_sigma.length).toBe(4);
        expect(x.delta_rank90).toBeGreaterThanOrEqual(1);
        expect(x.delta_rank90).toBeLessThanOrEqual(4);
      }
    }
    console.log(`train --spectra-every 1: spectra_ms ${spectra.map((s) => s.spectra_ms.toFixed(0)).join(', ')}; step 2: ` +
      spectra[1].spectra.map((x: { name: string; delta_rank90: number; overlap_principal: number; overlap_minor: number }) =>
        `${x.name.replace('model.layers.', 'L')} rank90 ${x.delta_rank90} P ${x.overlap_principal.toFixed(3)} M ${x.overlap_minor.toFixed(3)}`).join('; '));

    const sp = await cli('spectrum', ...base, '--adapter', path.join(out, 'adapter'), '--json', '--layers', '0,4');
    expect(sp.code, sp.stderr).toBe(0);
    const recs = JSON.parse(sp.stdout) as Rec[];
    expect(recs.length).toBe(14); // 2 layers × 7 modules
    let adapted = 0;
    for (const rec of recs) {
      const m = /\.(\w+)_proj$/.exec(rec.name)![1]!;
      if (['q', 'v', 'down'].includes(m)) {
        adapted++;
        for (const k of [...ISSUE_KEYS, ...ADAPTER_KEYS]) expect(rec, `${rec.name} ${k}`).toHaveProperty(k);
        expect(rec.delta_sigma!.length).toBe(4);
        expect(rec.delta_rank90!).toBeLessThanOrEqual(4);
        expect(rec.delta_rank90!).toBeGreaterThanOrEqual(1);
        for (const k of ['overlap_principal', 'overlap_minor']) {
          expect(rec[k] as number).toBeGreaterThanOrEqual(0);
          expect(rec[k] as number).toBeLessThanOrEqual(1 + 1e-6);
        }
        expect((rec.sigma_merged as number[]).length).toBe(rec.sigma.length);
      } else {
        expect(Object.keys(rec)).toEqual(ISSUE_KEYS);
      }
    }
    expect(adapted).toBe(6);
    // The final spectra record in metrics and the CLI agree on the last layer's modules.
    const last = spectra[1].spectra.find((x: { name: string }) => x.name === 'model.layers.4.self_attn.q_proj');
    const fromCli = recs.find((x) => x.name === 'model.layers.4.self_attn.q_proj')!;
    expect(fromCli.delta_rank90).toBe(last.delta_rank90);
    expect(Math.abs((fromCli.overlap_principal as number) - last.overlap_principal)).toBeLessThan(1e-5);
  });

  it('MoRA adapters go through the dense ΔW', async () => {
    const out = path.join(work, 'mora');
    const r = await cli('train', ...base, '--data', data, '--method', 'mora', '--rank', '4', '--targets', 'q',
      '--steps', '1', '--batch', '2', '--seq', '16', '--spectra-every', '1', '--spectra-layers', '0', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const sp = await cli('spectrum', ...base, '--adapter', path.join(out, 'adapter'), '--json', '--layers', '0', '--modules', 'q,k');
    expect(sp.code, sp.stderr).toBe(0);
    const [q, k] = JSON.parse(sp.stdout) as Rec[];
    expect(q!.delta_sigma!.length).toBe(64);
    expect(q!.delta_rank90).toBeGreaterThanOrEqual(1);
    expect(q!.overlap_r).toBe(Math.max(1, q!.delta_rank90!));
    expect(Object.keys(k!)).toEqual(ISSUE_KEYS);
    const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.find((m) => 'spectra' in m).spectra.map((x: { name: string }) => x.name)).toEqual(['model.layers.0.self_attn.q_proj']);
  });

  it('full fine-tuning records the spectra of ΔW = W − W₀ for the modules asked (a dense update: rank90 > 1)', async () => {
    const out = path.join(work, 'full');
    const r = await cli('train', ...base, '--data', data, '--method', 'full', '--lr', '0.01', '--steps', '2', '--batch', '2', '--seq', '16',
      '--spectra-every', '1', '--spectra-layers', '0', '--spectra-modules', 'q,down',
      '--spectra-budget-ms', '600000', '--out', out); // every round complete, however busy the machine
    expect(r.code, r.stderr).toBe(0);
    const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const rounds = metrics.filter((m) => 'spectra' in m) as { step: number; spectra: { name: string; delta_rank90: number; delta_sigma: number[] }[] }[];
    expect(rounds.map((m) => m.step)).toEqual([1, 2]);
    const last = rounds.at(-1)!.spectra;
    expect(last.map((x) => x.name)).toEqual(['model.layers.0.self_attn.q_proj', 'model.layers.0.mlp.down_proj']);
    for (const x of last) {
      expect(x.delta_sigma[0]).toBeGreaterThan(0); // the weights moved
      expect(x.delta_rank90).toBeGreaterThan(1);
    }
    console.log(`full fine-tuning, 2 steps: rank90 of ΔW ${last.map((x) => `${x.name} ${x.delta_rank90}`).join(', ')}`);

    // The same from the saved result: spectrum --model <out>/merged --base <the model it started from>.
    const sp = await cli('spectrum', '--model', path.join(out, 'merged'), '--base', STORIES_BIN, '--json', '--layers', '0', '--modules', 'q,down');
    expect(sp.code, sp.stderr).toBe(0);
    const recs = JSON.parse(sp.stdout) as Rec[];
    expect(recs.map((x) => [x.name, x.delta_rank90])).toEqual(last.map((x) => [x.name, x.delta_rank90]));
    expect(recs.every((x) => ADAPTER_KEYS.every((k) => k in x))).toBe(true);
    // A base of another architecture is refused by name.
    const wrong = await cli('spectrum', '--model', path.join(out, 'merged'), '--base', fileURLToPath(new URL('../../public/models/tinyworld', import.meta.url)), '--json');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/tinyworld.*not the model it was fine-tuned from/);
  });
});
