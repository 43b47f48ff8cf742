/**
 * The Lab panel (Chromium + SwiftShader, the built-in model): the quick "LoRA Learns Less and Forgets
 * Less" preset (full fine-tuning, LoRA r2 and r4, 3 steps each) run from the panel, with a reload
 * after its first run: the reload offers to resume, and Resume keeps the finished run and runs the
 * others. The result card's exported results.json is the one `cli reproduce` writes for the same
 * preset and seed, byte for byte, and is checked for consistency — each run's
 * learning and forgetting recomputed from its curve, its rank90 from its saved ΔW spectra, the
 * findings from the runs — and against what Compare runs shows for the same runs once "Open these
 * runs in Compare" ticks them. The report exports as Markdown and the charts as SVG and PNG. The
 * spectrum view finds a Lab run's intruder dimensions, module by module. The quick MoRA memory
 * preset, stopped during its first run, is offered for resume; resumed, its reported character
 * accuracy and exact match are recomputed from the generations its results.json saved, and its LoRA and
 * MoRA runs train the same number of parameters.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, test } from 'vitest';
import { rank90 } from '../../src/linalg/spectra.ts';
import { cli } from '../helpers/cli.ts';
import { screenshot } from './harness.ts';
import { download, useStudio, waitForBuiltIn } from './studio.ts';

const studio = useStudio();
const work = mkdtempSync(path.join(tmpdir(), 'subspace-lab-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface SpectrumPoint { name: string; delta_rank90: number; delta_sigma: number[] }
interface Generation { prompt: string; expected: string; generated: string }
interface ResultsJson {
  experiment: string;
  runs: {
    name: string; method: string; settings: { rank: number; steps: number }; trainable: number;
    metrics: {
      curve: { step: number; eval_loss?: number; probe_loss?: number; char_accuracy?: number; exact_match?: number }[];
      generations?: { step: number; items: Generation[] }[];
      spectra?: { step: number; modules: SpectrumPoint[] }[];
      learning?: number; forgetting?: number; delta_rank90_mean?: number;
    };
  }[];
  findings: { claim: string; held: boolean }[];
}

const text = async (page: Page, testId: string) => (await page.getByTestId(testId).textContent()) ?? '';

describe('the Lab panel (Chromium + SwiftShader)', () => {
  test('a quick preset survives a reload, its results are consistent, open in Compare and export; a Lab run\'s intruders show in the spectrum view', { timeout: 300_000 }, async () => {
    // The CLI runs the same preset meanwhile (its own process, the same src/lab code on Dawn).
    const cliRun = cli('reproduce', 'learn-forget', '--quick', '--out', work);
    const { page } = await studio.openWithBuiltIn();
    const lab = page.getByTestId('lab-panel');
    await lab.getByText('The experiments (4)').click();
    await page.getByTestId('lab-quick').check();
    // The first estimate is measured on this GPU: a few steps of each of its runs.
    const estimate = page.locator('[data-testid="lab-estimate-mora-memory"][data-state="done"]');
    await estimate.waitFor({ timeout: 60_000 });
    expect(await estimate.textContent()).toMatch(/^About [\d.]+ m?s on this GPU \(an estimate from running each run for a few steps with a measurement before and after: LoRA r2: [\d.]+ m?s set-up \+ 3 steps × [\d.]+ m?s \+ 2 measurements × [\d.]+ m?s;/);
    expect(await page.getByTestId('lab-exp-learn-forget').textContent()).toContain('arXiv 2405.09673');

    await page.getByTestId('lab-run-learn-forget').click();
    // Run 2 of 3 has started: the first one is finished and kept.
    await page.locator('[data-testid="lab-progress-line"][data-run="1"]').waitFor({ timeout: 120_000 });
    expect(await page.locator('[data-testid="lab-live"] [data-testid="lab-chart"]').count()).toBe(2);
    await page.reload();
    await waitForBuiltIn(page);

    const notice = page.getByTestId('lab-resume-notice');
    await notice.waitFor({ timeout: 60_000 });
    expect(await notice.getAttribute('data-experiment')).toBe('learn-forget');
    // Run 1 finished before the reload, and run 2 too when it was quick enough: those are kept.
    const kept = Number(await notice.getAttribute('data-done'));
    expect([1, 2]).toContain(kept);
    expect(await notice.locator('p').textContent()).toMatch(new RegExp(`${kept} of 3 runs finished \\(kept in Saved runs\\)\\.(?: Run ${kept + 1} \\(LoRA r${2 * kept}\\) was at step \\d of 3; it starts again\\.)?$`));
    await page.getByTestId('lab-resume').click();
    await expect.poll(() => text(page, 'lab-progress-line'), { timeout: 60_000 }).toContain(`(runs ${kept === 1 ? '1' : '1, 2'} kept from before the reload)`);
    const card = page.getByTestId('lab-result');
    await card.waitFor({ timeout: 180_000 });
    expect(await page.getByTestId('lab-resume-notice').count()).toBe(0);
    expect(await text(page, 'lab-scale')).toMatch(/Paper: LoRA Learns Less and Forgets Less .*LLaMA-2 7B.*Here: the built-in model \([\d,]+ parameters, dim 64, 4 layers\), the new-facts demo, quick version.*Our scale is tiny/);
    expect(await card.getByTestId('lab-finding').count()).toBe(3);

    // results.json: every number recomputed from what the file itself saved.
    const json = new TextDecoder().decode((await download(page, 'lab-export-json')).bytes);
    const results = JSON.parse(json) as ResultsJson;
    expect(results.experiment).toBe('learn-forget');
    // Interrupted and resumed in the browser, it is the CLI's uninterrupted results.json, byte for byte.
    const fromCli = await cliRun;
    expect(fromCli.code, fromCli.stderr).toBe(0);
    expect(json).toBe(readFileSync(path.join(work, 'results.json'), 'utf8'));
    expect(results.runs.map((r) => r.name)).toEqual(['Full fine-tuning', 'LoRA r2', 'LoRA r4']);
    for (const r of results.runs) {
      const c = r.metrics.curve;
      expect(c.map((p) => p.step)).toEqual([0, 3]);
      expect(r.metrics.learning).toBeCloseTo(c[0]!.eval_loss! - c[1]!.eval_loss!, 10);
      expect(r.metrics.forgetting).toBeCloseTo(c[1]!.probe_loss! - c[0]!.probe_loss!, 10);
      const last = r.metrics.spectra!.at(-1)!;
      expect(last.step).toBe(3);
      expect(r.metrics.delta_rank90_mean).toBeCloseTo(last.modules.reduce((a, m) => a + m.delta_rank90, 0) / last.modules.length, 10);
      expect(last.modules.length).toBe(r.method === 'full' ? 7 : 2); // layer 0: every module for full fine-tuning, the targets for LoRA
      for (const m of last.modules) {
        expect(m.delta_rank90).toBe(rank90(m.delta_sigma));
        if (r.method === 'lora') expect(m.delta_rank90).toBeLessThanOrEqual(r.settings.rank);
      }
      expect(r.metrics.spectra![0]!.modules.every((m) => m.delta_rank90 === 0)).toBe(true); // ΔW = 0 before the first step
    }
    const [full, ...loras] = results.runs;
    const finding = (start: string) => results.findings.find((f) => f.claim.startsWith(start))!;
    expect(finding('LoRA learns less').held).toBe(loras.every((r) => r.metrics.learning! < full!.metrics.learning!));
    expect(finding('LoRA forgets less').held).toBe(loras.every((r) => r.metrics.forgetting! < full!.metrics.forgetting!));
    const rows = await card.getByTestId('lab-finding').evaluateAll((els) => els.map((e) => e.getAttribute('data-held')));
    expect(rows).toEqual(results.findings.map((f) => String(f.held)));

    // The same runs in Compare runs: learning, forgetting and ΔW rank90 as results.json has them.
    const runIds = await card.getByTestId('lab-result-run').evaluateAll((els) => els.map((e) => e.getAttribute('data-run-id') ?? ''));
    expect(runIds.every((id) => Number(id) > 0)).toBe(true);
    await page.getByTestId('lab-open-compare').click();
    const compareRows = page.getByTestId('compare-runs-row');
    await expect.poll(() => compareRows.evaluateAll((els) => els.map((e) => e.getAttribute('data-run-id'))), { timeout: 30_000 }).toEqual(runIds);
    for (const [i, id] of runIds.entries()) {
      const cell = (col: string) => page.locator(`[data-testid="compare-runs-row"][data-run-id="${id}"] td[data-col="${col}"]`).textContent();
      const m = results.runs[i]!.metrics;
      expect(await cell('learning')).toBe(m.learning!.toFixed(4));
      expect(await cell('forgetting')).toBe(m.forgetting!.toFixed(4));
      expect(await cell('rank90')).toBe(m.delta_rank90_mean!.toFixed(1));
    }

    // The report and its charts.
    const md = new TextDecoder().decode((await download(page, 'lab-export-md')).bytes);
    expect(md).toContain('| claim | paper | ours | held here |');
    expect(md).toContain('![Learning vs forgetting over steps](learn-forget.svg)');
    const charts = card.getByTestId('lab-chart');
    expect(await charts.evaluateAll((els) => els.map((e) => e.getAttribute('data-file')))).toEqual(['learn-forget.svg', 'rank90-steps.svg', 'rank90-modules.svg']);
    const svg = new TextDecoder().decode((await download(page, 'lab-chart-svg-learn-forget.svg')).bytes);
    expect(svg).toContain('<title>Learning vs forgetting over steps</title>');
    for (const r of results.runs) expect(svg).toContain(`>${r.name}</text>`); // the legend
    const png = await download(page, 'lab-chart-png-learn-forget.svg');
    expect(png.name).toBe('learn-forget.png');
    expect([...png.bytes.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    await screenshot(page, 'lab-result');

    // Intruder dimensions of the LoRA r2 run (q and v of every layer) in the spectrum view.
    await page.getByTestId('spectrum-run-select').selectOption(runIds[1]!);
    await page.getByTestId('intruders-compute').click();
    await page.getByTestId('intruders-table').waitFor({ timeout: 60_000 });
    const counts = await page.getByTestId('intruder-count').evaluateAll((els) => els.map((e) => [e.getAttribute('data-module'), e.getAttribute('data-count')]));
    const trained = counts.filter(([, n]) => n !== '');
    expect(trained.map(([name]) => name)).toEqual([0, 1, 2, 3].flatMap((l) => [`model.layers.${l}.self_attn.q_proj`, `model.layers.${l}.self_attn.v_proj`]));
    for (const [, n] of trained) {
      expect(Number(n)).toBeGreaterThanOrEqual(0);
      expect(Number(n)).toBeLessThanOrEqual(10);
    }
    // The chart of the module on screen (layer 0, q) marks as many intruders as its table cell counts.
    await page.getByTestId('spectrum-module').selectOption('q');
    const q0 = Number(trained[0]![1]);
    expect(await page.locator('[data-testid="intruders-chart"] circle.pt-intruder').count()).toBe(q0);
    expect(await page.locator('[data-testid="intruders-chart"] circle.pt-maxcos').count()).toBe(10);
    console.log(`learn-forget quick: ${results.runs.map((r) => `${r.name} learning ${r.metrics.learning!.toFixed(3)} forgetting ${r.metrics.forgetting!.toFixed(3)} rank90 ${r.metrics.delta_rank90_mean!.toFixed(2)}`).join('; ')}; LoRA r2 intruders at ε 0.9: ${trained.map(([, n]) => n).join(' ')}`);
  });

  test('a stopped preset is offered for resume; the MoRA memory accuracies are recomputed from the saved generations', { timeout: 240_000 }, async () => {
    const { page } = await studio.openWithBuiltIn();
    await page.getByTestId('lab-panel').getByText('The experiments (4)').click();
    await page.getByTestId('lab-quick').check();
    await page.getByTestId('lab-run-mora-memory').click();
    await page.locator('[data-testid="lab-progress-line"][data-run="0"]').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('train-start').isDisabled()).toBe(true); // the preset holds the engine
    await page.getByTestId('lab-stop').click();
    const message = page.getByTestId('lab-message');
    await message.waitFor({ timeout: 60_000 });
    const stoppedAfter = Number(/^Stopped after (\d) of 3 runs: its finished runs are kept, and Resume continues from there\.$/.exec((await message.textContent()) ?? '')?.[1]);
    expect(stoppedAfter).toBeLessThan(3);
    const notice = page.getByTestId('lab-resume-notice');
    await notice.waitFor({ timeout: 30_000 });
    expect(await notice.getAttribute('data-done')).toBe(String(stoppedAfter));
    await page.getByTestId('lab-resume').click();
    const card = page.getByTestId('lab-result');
    await card.waitFor({ timeout: 180_000 });

    const results = JSON.parse(new TextDecoder().decode((await download(page, 'lab-export-json')).bytes)) as ResultsJson;
    expect(results.runs.map((r) => r.name)).toEqual(['LoRA r2', 'MoRA type 1 r2', 'MoRA type 6 r2']);
    const shown = await card.getByTestId('lab-result-run').allTextContents();
    const keys = results.runs[0]!.metrics.generations![0]!.items.map((g) => g.prompt);
    expect(keys.length).toBe(3);
    for (const [i, r] of results.runs.entries()) {
      expect(r.trainable).toBe(results.runs[0]!.trainable); // LoRA and MoRA at the same parameter count: r̂² = (in + out)·r exactly (16² = 128·2)
      const gens = r.metrics.generations!;
      expect(gens.map((g) => g.step)).toEqual(r.metrics.curve.map((p) => p.step));
      for (const g of gens) {
        expect(g.items.map((x) => x.prompt)).toEqual(keys); // the same pairs for every run
        const point = r.metrics.curve.find((p) => p.step === g.step)!;
        let right = 0, chars = 0;
        for (const item of g.items) {
          expect(item.expected).toMatch(/^[0-9a-f]{4}$/);
          for (let k = 0; k < item.expected.length; k++) if (item.generated[k] === item.expected[k]) right++;
          chars += item.expected.length;
        }
        expect(point.char_accuracy).toBeCloseTo(right / chars, 12);
        expect(point.exact_match).toBeCloseTo(g.items.filter((item) => item.generated === item.expected).length / g.items.length, 12);
      }
      const last = r.metrics.curve.at(-1)!;
      expect(shown[i]).toContain(`character accuracy ${(100 * last.char_accuracy!).toFixed(1)}%, exact match ${(100 * last.exact_match!).toFixed(1)}%`);
    }
    // The card's finding is the one results.json holds, and what the runs' accuracies say.
    expect(await card.getByTestId('lab-finding').getAttribute('data-held')).toBe(String(results.findings[0]!.held));
    const acc = results.runs.map((r) => r.metrics.curve.at(-1)!.char_accuracy!);
    expect(results.findings[0]!.held).toBe(Math.max(acc[1]!, acc[2]!) > acc[0]!);
  });
});
