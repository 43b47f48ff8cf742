/**
 * `train --probe`: the forgetting probe ("LoRA Learns Less and Forgets Less"). Text the base model already
 * knew (its own greedy sample) is evaluated at step 0 and with every eval: the step-0 loss is the base
 * model's, computed here independently; full fine-tuning at a high lr raises it far more than LoRA does.
 * A resume needs the same probe file; a bad probe file is reported like bad data.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { llamaLogitsRef } from '../../src/reference/llama.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../src/schema/train-config.ts';
import type { Batch } from '../../src/train/packing.ts';
import { Trainer } from '../../src/train/trainer.ts';
import { cli } from '../helpers/cli.ts';
import { GOLDEN_TEXT, readFixture, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';
import { testGpu } from '../helpers/gpu.ts';

const work = mkdtempSync(path.join(tmpdir(), 'subspace-probe-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const data = path.join(work, 'zorbo.txt');
writeFileSync(data, Array.from({ length: 20 }, () => 'Zorbo the dragon lived in a cave by the sea. Every morning Zorbo flew over the water.').join('\n\n'));
/** The model's own kind of text: its published greedy sample (one document: no blank line in it). */
const probeFile = path.join(work, 'golden.txt');
writeFileSync(probeFile, GOLDEN_TEXT);

const T = 32;
const base = ['--model', STORIES_BIN, '--tokenizer', TOK512_BIN];
const settings = ['--batch', '2', '--seq', String(T), '--schedule', 'constant', '--lr', '0.05', '--eval-every', '1'];
const lora = ['--method', 'lora', '--rank', '4', '--targets', 'q,v'];
type Line = Record<string, number | null>;
const metrics = (out: string): Line[] => readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

/** Runs shared by several tests, started once. */
const runs = new Map<string, Promise<string>>();
function train(name: string, ...args: string[]): Promise<string> {
  if (!runs.has(name)) {
    runs.set(name, (async () => {
      const out = path.join(work, name);
      const r = await cli('train', ...base, '--data', data, ...settings, ...args, '--out', out);
      expect(r.code, r.stderr).toBe(0);
      return out;
    })());
  }
  return runs.get(name)!;
}
const loraRun = () => train('lora', ...lora, '--probe', probeFile, '--steps', '3');
const fullRun = () => train('full', '--method', 'full', '--probe', probeFile, '--steps', '3');

/**
 * The probe's windows built here from the tokenizer alone: BOS + text + EOS as one stream, cut every T tokens
 * with one token of overlap (the packing rule), every token after BOS a target.
 */
function probeWindows(): { inputs: number[]; targets: number[] }[] {
  const tokenizer = Llama2cTokenizer.fromBytes(readFixture(TOK512_BIN), 'tok512.bin');
  const ids = tokenizer.encode(GOLDEN_TEXT, { bos: true, eos: true });
  const out: { inputs: number[]; targets: number[] }[] = [];
  for (let s = 0; s + 1 < ids.length; s += T) {
    const w = ids.slice(s, s + T + 1);
    out.push({ inputs: w.slice(0, -1), targets: w.slice(1) });
  }
  return out;
}

describe('cli train --probe', () => {
  it('LoRA, 3 steps, --eval-every 1: a step-0 line, probe_loss with every eval_loss, the probe in run.json and state.json', async () => {
    const out = await loraRun();
    const m = metrics(out);
    expect(m.map((l) => l.step)).toEqual([0, 1, 2, 3]);
    expect(Object.keys(m[0]!)).toEqual(['step', 'eval_loss', 'probe_loss']);
    for (const l of m.slice(1)) {
      expect(Object.keys(l)).toEqual(['step', 'loss', 'lr', 'grad_norm', 'tokens_per_s', 'peak_gpu_bytes', 'eval_loss', 'probe_loss']);
    }
    for (const l of m) for (const k of ['eval_loss', 'probe_loss']) expect(Number.isFinite(l[k]), `step ${l.step} ${k}`).toBe(true);
    const windows = probeWindows();
    const run = json(path.join(out, 'run.json'));
    expect(run).toMatchObject({ data: data, config: { method: 'lora', steps: 3 } });
    expect(run.probe).toEqual({ file: probeFile, windows: windows.length, tokens: windows.reduce((n, w) => n + w.targets.length, 0) });
    expect(run.probe_loss).toBe(m[3]!.probe_loss);
    const state = json(path.join(out, 'checkpoint', 'state.json'));
    expect(state.probe).toEqual({ file: probeFile, sha256: createHash('sha256').update(readFileSync(probeFile)).digest('hex') });
    expect(state.metrics_lines).toBe(4);
  });

  it("the step-0 probe loss is the base model's loss on the probe windows (GPU Trainer.evaluate and the float64 reference)", async () => {
    const step0 = metrics(await loraRun())[0]!.probe_loss!;
    const windows = probeWindows();
    const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');

    // float64 reference: mean over every target of −log softmax(logits)[target].
    let nll = 0, count = 0;
    for (const w of windows) {
      const logits = llamaLogitsRef(weights, w.inputs);
      const V = weights.config.vocabSize;
      w.targets.forEach((t, i) => {
        const row = logits.subarray(i * V, (i + 1) * V);
        const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
        const lse = max + Math.log(row.reduce((a, b) => a + Math.exp(b - max), 0));
        nll += lse - row[t]!;
        count++;
      });
    }
    const reference = nll / count;

    // The GPU engine on the untouched base model, batches padded by hand.
    const gpu = await testGpu();
    const model = LlamaModel.upload(gpu, weights);
    const trainer = await Trainer.init(model, { ...DEFAULT_TRAIN_CONFIG, method: 'full', batch: 2, seq: T, steps: 1 });
    const batches: Batch[] = [];
    for (let i = 0; i < windows.length; i += 2) {
      const inputs = new Uint32Array(2 * T), targets = new Int32Array(2 * T).fill(-1);
      windows.slice(i, i + 2).forEach((w, b) => {
        inputs.set(w.inputs, b * T);
        targets.set(w.targets, b * T);
      });
      batches.push({ inputs, targets, batchSize: 2, seqLen: T, epoch: 0 });
    }
    const engine = await trainer.evaluate(batches);
    trainer.dispose();
    model.dispose();
    console.log(`step-0 probe loss: cli ${step0}, Trainer.evaluate ${engine}, float64 reference ${reference}`);
    expect(Math.abs(step0 - engine)).toBeLessThanOrEqual(1e-5);
    expect(Math.abs(step0 - reference)).toBeLessThanOrEqual(1e-5);
  });

  it('full fine-tuning at lr 0.05 raises the probe loss more than LoRA does', async () => {
    const [l, f] = [metrics(await loraRun()), metrics(await fullRun())];
    expect(f[0]).toEqual(l[0]); // both start from the same base model
    const rise = (m: Line[]) => m[3]!.probe_loss! - m[0]!.probe_loss!;
    console.log(
      `probe loss, step 0 → 3: LoRA ${l[0]!.probe_loss} → ${l[3]!.probe_loss} (+${rise(l).toFixed(4)}), ` +
        `full ${f[0]!.probe_loss} → ${f[3]!.probe_loss} (+${rise(f).toFixed(4)})`,
    );
    expect(rise(f)).toBeGreaterThan(rise(l));
    expect(f.map((x) => x.step)).toEqual([0, 1, 2, 3]);
  });

  it('without an eval split: no eval_loss, probe_loss all the same', async () => {
    const out = await train('no-eval', ...lora, '--probe', probeFile, '--steps', '1', '--eval-fraction', '0');
    const m = metrics(out);
    expect(m.map((l) => l.step)).toEqual([0, 1]);
    expect(Object.keys(m[0]!)).toEqual(['step', 'probe_loss']);
    expect(m[1]).not.toHaveProperty('eval_loss');
    expect(Number.isFinite(m[1]!.probe_loss)).toBe(true);
  });

  it('--resume needs the same probe: refused without it, with another file, or on a run that had none; continues without a second step-0 line', async () => {
    const straight = await loraRun();
    const resumed = path.join(work, 'resumed');
    const a = await cli('train', ...base, '--data', data, ...settings, ...lora, '--probe', probeFile, '--steps', '2', '--checkpoint-every', '2', '--out', resumed);
    expect(a.code, a.stderr).toBe(0);
    const stateFile = path.join(resumed, 'checkpoint', 'state.json');
    const before = [readFileSync(path.join(resumed, 'metrics.jsonl')), readFileSync(stateFile)];

    const none = await cli('train', ...base, '--data', data, '--resume', resumed, '--steps', '3');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`field "probe" in ${stateFile}`);
    expect(none.stderr).toContain(`pass --probe ${probeFile}`);

    const other = path.join(work, 'other.txt');
    writeFileSync(other, GOLDEN_TEXT.replaceAll('Lily', 'Zorbo'));
    const o = await cli('train', ...base, '--data', data, '--resume', resumed, '--probe', other, '--steps', '3');
    expect(o.code).toBe(1);
    expect(o.stderr).toContain(`${stateFile}: probe sha256`);
    expect(o.stderr).toContain(`--probe ${other}`);
    for (const r of [none, o]) expect(r.stderr).not.toMatch(/\n\s+at /);
    expect([readFileSync(path.join(resumed, 'metrics.jsonl')), readFileSync(stateFile)]).toEqual(before);

    const c = await cli('train', ...base, '--data', data, '--resume', resumed, '--probe', probeFile, '--steps', '3');
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).not.toContain('step 0 (before training)');
    const strip = (m: Line[]) => m.map(({ tokens_per_s: _, ...rest }) => rest);
    const got = metrics(resumed);
    expect(got.map((l) => l.step)).toEqual([0, 1, 2, 3]);
    expect(strip(got)).toEqual(strip(metrics(straight)));
    expect(json(path.join(resumed, 'run.json'))).toMatchObject({ resumed_from_step: 2, probe: { file: probeFile }, probe_loss: got[3]!.probe_loss });

    const plain = path.join(work, 'plain');
    const p = await cli('train', ...base, '--data', data, ...settings, ...lora, '--steps', '1', '--out', plain);
    expect(p.code, p.stderr).toBe(0);
    const added = await cli('train', ...base, '--data', data, '--resume', plain, '--probe', probeFile, '--steps', '2');
    expect(added.code).toBe(2);
    expect(added.stderr).toContain(`--probe ${probeFile} with --resume: the run had no forgetting probe`);
  });

  it('a bad probe file is reported with its file and line, before anything is written', async () => {
    const bad = path.join(work, 'bad-probe.jsonl');
    writeFileSync(bad, '{"text": "Once upon a time"}\n{"text": oops}\n');
    const out = path.join(work, 'bad');
    const r = await cli('train', ...base, '--data', data, '--probe', bad, '--steps', '1', '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: bad-probe.jsonl, line 2: invalid JSON');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);

    const missing = path.join(work, 'no-such-probe.txt');
    const m = await cli('train', ...base, '--data', data, '--probe', missing, '--steps', '1', '--out', out);
    expect(m.code).toBe(1);
    expect(m.stderr).toContain(`error: ${missing}: cannot read`);
    expect(existsSync(out)).toBe(false);
  });
});
