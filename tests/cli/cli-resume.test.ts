/**
 * `train --checkpoint-every` and `train --resume`: a run stopped at step 2 and resumed to step 4 writes the
 * same metrics and byte-identical adapters as 4 uninterrupted steps; a resume on other data, another model,
 * a damaged checkpoint or with a lower --steps is refused with a message naming the file and field, and
 * leaves every file of the run as it was.
 */
import { copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSafetensors } from '../../src/io/safetensors.ts';
import { cli } from '../helpers/cli.ts';
import { STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';

const work = mkdtempSync(path.join(tmpdir(), 'subspace-resume-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const data = path.join(work, 'zorbo.txt');
writeFileSync(data, Array.from({ length: 20 }, () => 'Zorbo the dragon lived in a cave by the sea. Every morning Zorbo flew over the water.').join('\n\n'));

const base = ['--model', STORIES_BIN, '--tokenizer', TOK512_BIN];
const small = ['--batch', '2', '--seq', '16', '--targets', 'q,v', '--rank', '2', '--schedule', 'constant', '--lr', '1e-2'];
const metrics = (out: string) => readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const state = (out: string) => JSON.parse(readFileSync(path.join(out, 'checkpoint', 'state.json'), 'utf8'));
const adapterBytes = (out: string) => readFileSync(path.join(out, 'adapter', 'adapter_model.safetensors'));

/** Every file under `dir` with its sha256, to show a refused resume changed nothing. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[path.relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** Straight 4 steps vs 2 steps (checkpoint every 2) + --resume --steps 4, once per method. */
const runs = new Map<string, Promise<{ straight: string; resumed: string }>>();
function straightAndResumed(method: string) {
  if (!runs.has(method)) {
    runs.set(method, (async () => {
      const straight = path.join(work, `${method}-straight`);
      const resumed = path.join(work, `${method}-resumed`);
      const a = await cli('train', ...base, '--data', data, '--method', method, ...small, '--steps', '4', '--out', straight);
      expect(a.code, a.stderr).toBe(0);
      const b = await cli('train', ...base, '--data', data, '--method', method, ...small, '--steps', '2', '--checkpoint-every', '2', '--out', resumed);
      expect(b.code, b.stderr).toBe(0);
      const s = state(resumed);
      expect(s).toMatchObject({ version: 1, step: 2, metrics_lines: 2, config: { method, steps: 2, rank: 2 }, data: { file: data, eval_fraction: 0.1 } });
      expect(s.data.sha256).toBe(createHash('sha256').update(readFileSync(data)).digest('hex'));
      expect(s.model_fingerprint).toMatch(/^[0-9a-f]{8}$/);
      const names = [...parseSafetensors(new Uint8Array(readFileSync(path.join(resumed, 'checkpoint', 'trainer.safetensors')))).tensors.keys()];
      expect(names).toContain('model.layers.0.self_attn.q_proj.lora_A.weight.adam_v');
      expect(names.some((n) => n.endsWith('.initial_A'))).toBe(method === 'milora');
      expect(readdirSync(path.join(resumed, 'checkpoint')).sort()).toEqual(['state.json', 'trainer.safetensors']); // no temp files left
      const c = await cli('train', ...base, '--data', data, '--resume', resumed, '--steps', '4');
      expect(c.code, c.stderr).toBe(0);
      expect(c.stderr).toContain('resuming');
      return { straight, resumed };
    })());
  }
  return runs.get(method)!;
}

describe('cli train --checkpoint-every / --resume', () => {
  // MiLoRA: the plain LoRA path plus what a spectral method adds (A₀, B₀ kept, the residual rebuilt on resume).
  for (const method of ['milora']) {
    it(`${method}: 2 steps + checkpoint, then --resume --steps 4, equals 4 straight steps (metrics line for line, adapter bytes)`, async () => {
      const { straight, resumed } = await straightAndResumed(method);
      const want = metrics(straight);
      const got = metrics(resumed);
      expect(got.map((m) => m.step)).toEqual([1, 2, 3, 4]);
      expect(got.map((m) => [m.step, m.loss, m.lr, m.grad_norm])).toEqual(want.map((m) => [m.step, m.loss, m.lr, m.grad_norm]));
      expect(got[3].eval_loss).toBe(want[3].eval_loss);
      expect(Buffer.compare(adapterBytes(resumed), adapterBytes(straight))).toBe(0);
      expect(state(resumed)).toMatchObject({ step: 4, metrics_lines: 4, config: { steps: 4 } });
      expect(JSON.parse(readFileSync(path.join(resumed, 'run.json'), 'utf8'))).toMatchObject({ config: { steps: 4 }, resumed_from_step: 2 });
      expect(existsSync(path.join(resumed, 'merged', 'model.safetensors'))).toBe(true);
    });
  }

  it('refuses other data (sha256), another model (model_fingerprint), a truncated trainer.safetensors or a changed setting, and changes nothing', async () => {
    const { straight, resumed } = await straightAndResumed('milora');
    const before = snapshot(resumed);
    const stateFile = path.join(resumed, 'checkpoint', 'state.json');

    const other = path.join(work, 'other.txt');
    writeFileSync(other, readFileSync(data, 'utf8').replaceAll('Zorbo', 'Blimp'));
    const d = await cli('train', ...base, '--data', other, '--resume', resumed, '--steps', '6');
    expect(d.code).toBe(1);
    expect(d.stderr).toContain(`${stateFile}: data sha256`);
    expect(d.stderr).toContain('other.txt');

    const m = await cli('train', '--model', path.join(straight, 'merged'), '--data', data, '--resume', resumed, '--steps', '6');
    expect(m.code).toBe(1);
    expect(m.stderr).toContain(`${stateFile}: model_fingerprint ${state(resumed).model_fingerprint} is not the loaded model's`);
    expect(m.stderr).toContain(`--model ${path.join(straight, 'merged')}`);

    const lr = await cli('train', ...base, '--data', data, '--resume', resumed, '--lr', '0.5');
    expect(lr.code).toBe(2);
    expect(lr.stderr).toContain("--lr 0.5 is not the resumed run's lr");
    const same = await cli('train', ...base, '--data', data, '--resume', resumed, '--out', path.join(work, 'elsewhere'));
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('a resumed run goes on writing to its own directory');

    for (const r of [d, m, lr]) expect(r.stderr).not.toMatch(/\n\s+at /); // messages, not stack traces
    expect(snapshot(resumed)).toEqual(before);

    // A damaged copy: trainer.safetensors cut short, then state.json of another version.
    const broken = path.join(work, 'broken');
    cpSync(resumed, broken, { recursive: true });
    const tensors = path.join(broken, 'checkpoint', 'trainer.safetensors');
    truncateSync(tensors, Math.floor(statSync(tensors).size / 2));
    const brokenBefore = snapshot(broken);
    const t = await cli('train', ...base, '--data', data, '--resume', broken, '--steps', '6');
    expect(t.code).toBe(1);
    expect(t.stderr).toContain(`error: ${tensors}: `);
    expect(t.stderr).toContain('truncated');
    expect(t.stderr).not.toMatch(/\n\s+at /);
    expect(snapshot(broken)).toEqual(brokenBefore);

    copyFileSync(path.join(resumed, 'checkpoint', 'trainer.safetensors'), tensors);
    const brokenState = path.join(broken, 'checkpoint', 'state.json');
    writeFileSync(brokenState, readFileSync(brokenState, 'utf8').replace('"version": 1', '"version": 2'));
    const v = await cli('train', ...base, '--data', data, '--resume', broken);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain(`${brokenState}: version 2 is not supported (expected 1)`);

    const none = await cli('train', ...base, '--data', data, '--resume', path.join(work, 'never-trained'));
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('has no checkpoint to resume');
  });

  it('--steps lower than the checkpoint step is an error', async () => {
    const { resumed } = await straightAndResumed('milora');
    const before = snapshot(resumed);
    const r = await cli('train', ...base, '--data', data, '--resume', resumed, '--steps', '3');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--steps 3 is lower than the checkpoint's step 4 (${path.join(resumed, 'checkpoint', 'state.json')})`);
    expect(snapshot(resumed)).toEqual(before);
  });
});
