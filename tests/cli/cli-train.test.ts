import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, CLI_COMMAND, ROOT } from '../helpers/cli.ts';
import { STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';

const work = mkdtempSync(path.join(tmpdir(), 'subspace-train-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const data = path.join(work, 'zorbo.txt');
writeFileSync(data, Array.from({ length: 20 }, () => 'Zorbo the dragon lived in a cave by the sea. Every morning Zorbo flew over the water.').join('\n\n'));

const base = ['--model', STORIES_BIN, '--tokenizer', TOK512_BIN];

describe('cli train', () => {
  it('--recompute trains the same losses with less GPU memory; the peak and the estimate are in run.json and on the last line', async () => {
    const run = async (name: string, ...flags: string[]) => {
      const out = path.join(work, name);
      const r = await cli('train', ...base, '--data', data, '--method', 'lora', '--rank', '4', '--steps', '2', '--batch', '4', '--seq', '64',
        '--eval-every', '0', '--out', out, ...flags);
      expect(r.code, r.stderr).toBe(0);
      const lines = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      return { r, lines, runJson: JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) };
    };
    // A budget of 1 MiB: storing the activations is over it, so recompute is chosen, and the run is still warned about.
    const [stored, recomputed] = await Promise.all([run('stored'), run('recomputed', '--gpu-budget', '1')]);
    expect(stored.r.stderr).toMatch(/memory: about [\d.]+ (KiB|MiB) of GPU memory \(weights/);
    expect(recomputed.r.stderr).toMatch(/memory: recompute on: storing every layer's activations would take [\d.]+ MiB, over --gpu-budget 1\.0 MiB/);
    expect(recomputed.r.stderr).toMatch(/warning: the estimate [\d.]+ MiB is over --gpu-budget 1\.0 MiB: lower --batch or --seq, or lower --rank/);
    expect(recomputed.runJson.config.recompute).toBe(true);
    expect(stored.runJson.config.recompute).toBe(false);
    expect(recomputed.lines.map((l) => l.loss)).toEqual(stored.lines.map((l) => l.loss));
    for (const { lines, runJson } of [stored, recomputed]) {
      expect(lines.at(-1).peak_gpu_bytes).toBe(runJson.peak_gpu_bytes);
      expect(runJson.peak_gpu_bytes).toBeGreaterThan(0);
      // The estimate is validated on real widths in tests/model/memory-estimate.test.ts; here it is the run's own.
      expect(Math.abs(runJson.estimated_gpu_bytes / runJson.peak_gpu_bytes - 1)).toBeLessThan(0.15);
    }
    expect(recomputed.runJson.peak_gpu_bytes).toBeLessThan(stored.runJson.peak_gpu_bytes);
  });

  it('trains LoRA, writes metrics, the peft adapter and the merged model, which generate the same text', async () => {
    const out = path.join(work, 'lora');
    const r = await cli('train', ...base, '--data', data, '--method', 'lora', '--rank', '4', '--targets', 'q,v,down',
      '--lr', '1e-2', '--steps', '6', '--batch', '2', '--seq', '32', '--eval-every', '3', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const m of metrics) for (const k of ['loss', 'lr', 'grad_norm', 'tokens_per_s']) expect(Number.isFinite(m[k]), k).toBe(true);
    expect(metrics.filter((m) => 'eval_loss' in m).map((m) => m.step)).toEqual([3, 6]);
    expect(metrics[5].loss).toBeLessThan(metrics[0].loss);
    const cfg = JSON.parse(readFileSync(path.join(out, 'adapter', 'adapter_config.json'), 'utf8'));
    expect(cfg.r).toBe(4);
    expect(cfg.target_modules).toEqual(['q_proj', 'v_proj', 'down_proj']);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(existsSync(path.join(out, 'merged', f)), f).toBe(true);
    const viaAdapter = await cli('generate', ...base, '--adapter', path.join(out, 'adapter'), '--max-tokens', '30', '--json');
    const viaMerged = await cli('generate', '--model', path.join(out, 'merged'), '--max-tokens', '30', '--json');
    expect(viaAdapter.code, viaAdapter.stderr).toBe(0);
    expect(JSON.parse(viaMerged.stdout).ids).toEqual(JSON.parse(viaAdapter.stdout).ids);
  });

  it('full fine-tuning writes the merged model only', async () => {
    const out = path.join(work, 'full');
    const r = await cli('train', ...base, '--data', data, '--method', 'full', '--steps', '2', '--batch', '2', '--seq', '16', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(out, 'merged', 'model.safetensors'))).toBe(true);
    expect(existsSync(path.join(out, 'adapter'))).toBe(false);
  });

  it('explains bad data with the file and line', async () => {
    const bad = path.join(work, 'bad.jsonl');
    writeFileSync(bad, '{"text": "fine"}\n{"text": oops}\n');
    const r = await cli('train', ...base, '--data', bad, '--steps', '1', '--out', path.join(work, 'bad'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad.jsonl, line 2');
    const flags = await cli('train', ...base, '--data', data, '--method', 'foo', '--out', path.join(work, 'x'));
    expect(flags.code).toBe(2);
    expect(flags.stderr).toContain('--method must be one of full, lora');
  });

  it('Ctrl-C stops after the current step and saves what it has', async () => {
    const out = path.join(work, 'interrupted');
    // The command `npm run cli` runs, so the signal reaches our process rather than npm.
    const child = spawn(CLI_COMMAND[0]!, [...CLI_COMMAND.slice(1), 'train', ...base, '--data', data, '--steps', '1000', '--batch', '2', '--seq', '16', '--out', out],
      { cwd: ROOT });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/step [1-9]\d*\/1000/.test(stderr)) resolve();
      });
    });
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(0);
    const lines = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    const steps = lines.filter((l) => 'loss' in JSON.parse(l)).length;
    expect(steps).toBeGreaterThan(0);
    expect(steps).toBeLessThan(1000);
    expect(existsSync(path.join(out, 'adapter', 'adapter_model.safetensors'))).toBe(true);
    expect(existsSync(path.join(out, 'merged', 'model.safetensors'))).toBe(true);
    // ... and a checkpoint at the step it stopped after, covering every metrics line (the stop's eval_loss included).
    const state = JSON.parse(readFileSync(path.join(out, 'checkpoint', 'state.json'), 'utf8'));
    expect(state).toMatchObject({ version: 1, step: steps, metrics_lines: lines.length });
  });
});
