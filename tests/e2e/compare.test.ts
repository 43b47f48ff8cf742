/**
 * Comparing runs in the studio (Chromium + SwiftShader), on stories260K loaded through the file
 * picker: a 2-step LoRA run then a 2-step rsLoRA run (batch 1, 32-token windows) are both kept,
 * listed in the compare panel, drawn as one train-loss path each on the shared chart, and shown
 * as two rows of the settings table with the differing method column highlighted. On the built-in
 * model, PiSSA and MiLoRA runs show where their updates live (W₀'s principal vs minor subspaces), and
 * LoRA and MoRA at the same parameter count show MoRA's higher-rank update.
 */
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { screenshot } from './harness.ts';
import { tinySettings, trainAndCompare, trainToCompletion, useStudio } from './studio.ts';

const studio = useStudio();

const rows = (page: Page) => page.getByTestId('compare-runs-row');
const details = (page: Page) => page.getByTestId('compare-runs-details');

describe('compare runs (Chromium + SwiftShader)', () => {
  test('a LoRA and an rsLoRA run are listed, overlaid and tabulated', { timeout: 480_000 }, async () => {
    const page = await studio.openWithStories();
    expect(await page.getByTestId('compare-runs-empty').count()).toBe(1);
    await tinySettings(page, { steps: 2 }); // 2 steps of 1 × 32 tokens, one eval batch at the end

    await trainToCompletion(page);
    await expect.poll(() => rows(page).count(), { timeout: 10_000 }).toBe(1);

    await page.getByTestId('method-rslora').check();
    await expect.poll(() => page.getByTestId('train-start').isEnabled(), { timeout: 30_000 }).toBe(true);
    await page.getByTestId('train-start').click();
    await expect.poll(() => rows(page).count(), { timeout: 300_000 }).toBe(2);

    const panel = page.getByTestId('compare-runs-panel');
    const boxes = panel.locator('input[type="checkbox"][data-testid^="compare-run-"]');
    expect(await boxes.count()).toBe(2);
    expect(await panel.getByLabel('Run 1 · LoRA r8').isChecked()).toBe(true);
    expect(await panel.getByLabel('Run 2 · rsLoRA r8').isChecked()).toBe(true);

    // One train-loss path per run, each in its own colour; one final eval point per run.
    const series = page.locator('[data-testid="compare-runs-chart"] path.series-run');
    expect(await series.count()).toBe(2);
    const colours = await series.evaluateAll((els) => els.map((e) => e.getAttribute('stroke')));
    expect(new Set(colours).size).toBe(2);
    for (const d of await series.evaluateAll((els) => els.map((e) => e.getAttribute('d') ?? ''))) expect(d.match(/[ML]/g)?.length).toBe(2);
    expect(await page.locator('[data-testid="compare-runs-chart"] circle.pt-run-eval').count()).toBe(2);
    expect(await page.getByTestId('compare-runs-legend').textContent()).toContain('Run 2 · rsLoRA r8');

    // The table: two rows with their methods; the method column differs, batch×seq does not.
    expect(await rows(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-method')))).toEqual(['lora', 'rslora']);
    expect(await rows(page).locator('td[data-col="method"]').allTextContents()).toEqual(['LoRA', 'rsLoRA']);
    expect(await rows(page).locator('td[data-col="method"][data-differs="true"]').count()).toBe(2);
    // The other settings sit in each run's details row: the same shape, so not highlighted.
    expect(await details(page).locator('[data-col="shape"]').allTextContents()).toEqual(['batch×seq 1×32', 'batch×seq 1×32']);
    expect(await details(page).locator('[data-col="shape"][data-differs="true"]').count()).toBe(0);
    for (const t of await details(page).locator('[data-col="final-loss"] .setting-value').allTextContents()) expect(Number(t)).toBeGreaterThan(0);
    // Both trained on the same data (stories260K's first demo): its name in each row, no "not comparable" note.
    expect(new Set(await page.getByTestId('compare-runs-data').allTextContents()).size).toBe(1);
    expect(await page.getByTestId('compare-runs-not-comparable').count()).toBe(0);

    // Log scale toggles; unticking a run removes its series and row.
    await page.getByTestId('compare-runs-log').check();
    expect(await page.locator('[data-testid="compare-runs-chart"] svg').getAttribute('data-scale')).toBe('log');
    await panel.getByLabel('Run 1 · LoRA r8').uncheck();
    expect(await series.count()).toBe(1);
    expect(await rows(page).count()).toBe(1);
    await screenshot(page, 'compare-runs');
  });

  test('PiSSA and MiLoRA side by side: the table shows PiSSA\'s update in W₀\'s principal subspace and MiLoRA\'s in the minor one', { timeout: 480_000 }, async () => {
    const { page } = await studio.openWithBuiltIn();
    await page.getByTestId('method-pissa').check();
    await tinySettings(page, { steps: 3, batch: 2, lr: '0.01' });
    const cells = await trainAndCompare(page, ['pissa', 'milora'], ['principal', 'minor', 'rank90']);
    console.log(`3 steps at lr 0.01, built-in model, q and v: ${JSON.stringify(cells)}`);
    const [pissa, milora] = [cells.pissa!, cells.milora!].map((c) => ({ principal: Number(c.principal), minor: Number(c.minor) }));
    // MiLoRA's finding: its update lives in the minor singular subspace, PiSSA's in the principal one.
    expect(milora!.minor).toBeGreaterThan(pissa!.minor);
    expect(pissa!.principal).toBeGreaterThan(milora!.principal);
    expect(milora!.minor).toBeGreaterThan(milora!.principal);
  });

  test('LoRA and MoRA at the same parameter count: MoRA\'s square update is of higher rank', { timeout: 480_000 }, async () => {
    const { page } = await studio.openWithBuiltIn();
    await tinySettings(page, { steps: 3, batch: 2, lr: '0.01' });
    const cells = await trainAndCompare(page, ['lora', 'mora'], ['trainable', 'rank90']);
    console.log(`3 steps at lr 0.01, built-in model, q and v, r 8: ${JSON.stringify(cells)}`);
    expect(cells.mora!.trainable).toBe(cells.lora!.trainable); // r̂² = (in + out)·r here: the same budget
    expect(Number(cells.lora!.rank90)).toBeLessThanOrEqual(8);
    expect(Number(cells.mora!.rank90)).toBeGreaterThan(Number(cells.lora!.rank90)); // MoRA's finding: a high-rank update
  });
});
