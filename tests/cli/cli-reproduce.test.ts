/**
 * `cli reproduce <experiment> --quick`: the Lab experiments' quick versions on the real engine
 * (learn-forget's and mora-memory's are checked in tests/e2e/lab.test.ts, the first against the CLI's). The
 * assertions are on the numbers' consistency, not on whether a paper's claim holds: accuracies
 * recomputed from the saved generations, rank90 from the saved ΔW spectra, intruder counts from the
 * saved cosines, learning and forgetting from the curve, the findings' verdicts from the runs. That the
 * same seed gives the same results.json byte for byte is checked in tests/e2e/lab.test.ts (the studio's
 * interrupted and resumed run against the CLI's).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { INTRUDER_EPSILONS } from '../../src/spectra/intruders.ts';
import { rank90 } from '../../src/linalg/spectra.ts';
import type { LabResults, RunResult } from '../../src/lab/types.ts';
import { cli } from '../helpers/cli.ts';
import { STORIES_BIN } from '../helpers/fixtures.ts';

const work = mkdtempSync(path.join(tmpdir(), 'subspace-reproduce-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const runs = new Map<string, Promise<{ dir: string; results: LabResults }>>();
/** Processes at once: the engine keeps about one core busy, and the machine has two. */
const PARALLEL = 2;
let running = 0;
const waiting: (() => void)[] = [];
async function slot<T>(f: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await f();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Run `reproduce <exp> --quick` once per name (at most PARALLEL at a time). */
function reproduce(name: string, exp: string, ...args: string[]): Promise<{ dir: string; results: LabResults }> {
  if (!runs.has(name)) {
    runs.set(name, slot(async () => {
      const dir = path.join(work, name);
      const r = await cli('reproduce', exp, '--quick', ...args, '--out', dir);
      return { dir, r };
    }).then(({ dir, r }) => {
      expect(r.code, r.stderr).toBe(0);
      return { dir, results: JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as LabResults };
    }));
  }
  return runs.get(name)!;
}

// Every preset starts now, two at a time; each test awaits its own (and sees its failure).
for (const started of [
  reproduce('milora', 'milora'),
  reproduce('intruders', 'intruders', '--model', STORIES_BIN),
]) started.catch(() => {});

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** The results.json shape, and report.md + charts beside it. */
function checkShape(dir: string, res: LabResults, experiment: string, runNames: string[]): void {
  expect(Object.keys(res)).toEqual(['experiment', 'paper', 'runs', 'findings']);
  expect(res.experiment).toBe(experiment);
  expect(res.paper.url).toMatch(/^https:\/\/arxiv\.org\/abs\/\d{4}\.\d{5}$/);
  expect(res.runs.map((r) => r.name)).toEqual(runNames);
  for (const r of res.runs) {
    expect(Object.keys(r)).toEqual(['name', 'method', 'settings', 'trainable', 'metrics']);
    expect(r.settings.method).toBe(r.method);
    expect(r.trainable).toBeGreaterThan(0);
    expect(r.metrics.loss.length).toBe(r.settings.steps);
    expect(r.metrics.curve.map((p) => p.step)).toEqual([0, r.settings.steps]); // quick: measured before and after
    expect(r.metrics.curve.at(-1)!.train_loss).toBe(r.metrics.loss.at(-1));
  }
  expect(res.findings.length).toBeGreaterThan(0);
  for (const f of res.findings) expect(Object.keys(f)).toEqual(['claim', 'paper', 'ours', 'held']);
  const md = readFileSync(path.join(dir, 'report.md'), 'utf8');
  for (const f of res.findings) expect(md).toContain(f.claim.replace(/\|/g, '\\|'));
  for (const img of md.matchAll(/!\[([^\]]+)\]\(([^)]+\.svg)\)/g)) {
    const svg = readFileSync(path.join(dir, img[2]!), 'utf8');
    expect(svg).toContain(`<title>${img[1]!.replace(/'/g, "'")}</title>`);
    for (const r of res.runs) expect(svg).toContain(r.name); // the legend names every run
  }
  expect([...md.matchAll(/\.svg\)/g)].length).toBeGreaterThanOrEqual(3);
}

/** Learning and forgetting as the curve gives them (first to last point with the loss). */
function checkLearnForget(r: RunResult): void {
  const c = r.metrics.curve;
  expect(r.metrics.learning).toBeCloseTo(c[0]!.eval_loss! - c.at(-1)!.eval_loss!, 12);
  expect(r.metrics.forgetting).toBeCloseTo(c.at(-1)!.probe_loss! - c[0]!.probe_loss!, 12);
}

describe('cli reproduce --quick', () => {
  it('milora: the same base distribution at step 0 for all three, overlaps and learning/forgetting recomputed from the runs', async () => {
    const { dir, results } = await reproduce('milora', 'milora');
    checkShape(dir, results, 'milora', ['LoRA r2', 'PiSSA r2', 'MiLoRA r2']);
    const ce0 = results.runs.map((r) => r.metrics.curve[0]!.forgetting_ce!);
    // Step 0: every model is the base model (PiSSA/MiLoRA: W_res + s·B₀·A₀ in f32), so CE is the base entropy for all three.
    for (const ce of ce0) expect(ce).toBeCloseTo(ce0[0]!, 3);
    for (const r of results.runs) {
      expect(r.metrics.curve.at(-1)!.forgetting_ce!).toBeGreaterThanOrEqual(ce0[0]! - 1e-3); // CE ≥ H(p): KL ≥ 0
      checkLearnForget(r);
      const last = r.metrics.spectra!.at(-1)!.modules;
      expect(last.map((m) => m.name)).toEqual(['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj']);
      expect(r.metrics.overlap_principal_mean).toBeCloseTo(mean(last.map((m) => m.overlap_principal)), 12);
      expect(r.metrics.overlap_minor_mean).toBeCloseTo(mean(last.map((m) => m.overlap_minor)), 12);
      for (const m of last) expect(m.delta_rank90).toBe(rank90(m.delta_sigma));
    }
    const ce = results.runs.map((r) => r.metrics.curve.at(-1)!.forgetting_ce!);
    expect(results.findings[0]!.held).toBe(ce[2]! < ce[0]! && ce[0]! < ce[1]!);
  }, 120_000);

  it('intruders on stories260K (held-out text sampled from the base model): counts recomputed from the saved cosines', async () => {
    const { dir, results } = await reproduce('intruders', 'intruders', '--model', STORIES_BIN);
    checkShape(dir, results, 'intruders', ['LoRA r2', 'Full fine-tuning']);
    for (const r of results.runs) {
      checkLearnForget(r);
      const points = r.metrics.intruders!;
      expect(points.map((p) => p.step)).toEqual([0, r.settings.steps]);
      for (const p of points) {
        expect(p.modules.length).toBe(r.method === 'full' ? 7 : 2);
        for (const m of p.modules) {
          expect(m.max_cos.length).toBe(10);
          for (const c of m.max_cos) expect(c).toBeGreaterThan(0), expect(c).toBeLessThanOrEqual(1 + 1e-5);
          for (const e of INTRUDER_EPSILONS) expect(m.intruders[String(e)]).toBe(m.max_cos.filter((c) => c < e).length);
          // Before the first step W = W₀: each top vector is one of W₀'s own (|cos| = 1 up to f32 SVD error), no intruder.
          if (p.step === 0) for (const c of m.max_cos) expect(c).toBeGreaterThan(0.99);
        }
      }
      const last = points.at(-1)!.modules;
      for (const e of INTRUDER_EPSILONS) expect(r.metrics.intruders_mean![String(e)]).toBeCloseTo(mean(last.map((m) => m.intruders[String(e)]!)), 12);
    }
    expect(existsSync(path.join(dir, 'intruders-steps.svg'))).toBe(true);
  }, 120_000);
});
