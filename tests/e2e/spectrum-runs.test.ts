/**
 * The spectrum view follows the run it shows (Chromium + SwiftShader, the built-in model): after run A
 * (LoRA) its σ plot is A's; run B (MoRA, on other data) takes over the view when it starts; picking A
 * again shows A's spectrum (restored from its checkpoint for a module not seen yet), B beside it; Compare
 * runs flags the two as trained on different data, fits its panel at 1280 px, and keeps its ticks over a
 * reload; an exported σ plot names the run. With a round time budget of 0, the module on screen still
 * gets a ΔW point in every spectra round, and a module off screen says why it has fewer.
 */
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import path from 'node:path';
import { screenshot, screenshotsDir } from './harness.ts';
import { download, tinySettings, trainToCompletion, useStudio, waitForBuiltIn } from './studio.ts';

const studio = useStudio();

/** The σ(ΔW) points of a σ plot, as their titles ("σ(ΔW), index i 1: 0.1234"). */
const deltaSigma = (page: Page, chart = 'sigma-chart'): Promise<string[]> =>
  page.locator(`[data-testid="${chart}"] circle.pt-delta title`).allTextContents();
const text = (page: Page, testId: string) => page.getByTestId(testId).textContent();
const rowIds = (page: Page) => page.getByTestId('compare-runs-row').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-run-id'))));

describe('spectrum view across runs (Chromium + SwiftShader)', () => {
  test('run A, then run B: the view switches to B, A can be picked again and shown beside B; Compare flags the different data', { timeout: 480_000 }, async () => {
    const { page } = await studio.openWithBuiltIn();
    await page.getByTestId('spectrum-layer').selectOption('1');
    await page.getByTestId('spectrum-module').selectOption('v');
    await tinySettings(page, { steps: 3, batch: 2, lr: '0.01', spectraEvery: 1 });
    await trainToCompletion(page);
    await expect.poll(() => rowIds(page), { timeout: 30_000 }).toHaveLength(1);
    const [a] = await rowIds(page);
    const labelA = `Run ${a} · LoRA r8`;
    await expect.poll(() => text(page, 'spectrum-caption'), { timeout: 60_000 }).toContain('model.layers.1.self_attn.v_proj (64 × 64), after step 3');
    expect(await text(page, 'spectrum-run')).toBe(labelA);
    const sigmaA = await deltaSigma(page);
    expect(sigmaA.length).toBeGreaterThan(0);
    expect(sigmaA.length).toBeLessThanOrEqual(8); // LoRA r8: ΔW = s·B·A has at most 8 singular values

    // The exported σ plot names the run and its settings.
    const svg = new TextDecoder().decode((await download(page, 'sigma-chart-download-svg')).bytes);
    const lines = (cls: string) => [...svg.matchAll(new RegExp(`<text[^>]*class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]).join(' ');
    expect(svg.startsWith(`<svg xmlns="http://www.w3.org/2000/svg" width="560"`)).toBe(true);
    expect(lines('export-title')).toBe(`Singular values of model.layers.1.self_attn.v_proj — ${labelA}`);
    expect(lines('export-note')).toBe(
      `${labelA}: lr 1.0e-2, 3 steps, batch 2×32, targets q, v, α 16; data New facts; probe Held-out base text model.layers.1.self_attn.v_proj (64 × 64), after step 3`,
    );
    expect([...svg.matchAll(/<g class="export-legend-entry">.*?>([^<>]+)<\/text><\/g>/g)].map((m) => m[1])).toEqual(['σ(W₀)', 'σ(W₀+ΔW)', 'σ(ΔW)']);

    // Run B: MoRA on the pirate-style demo. The view follows it from its start.
    await page.getByTestId('demo-new-style').check();
    await page.getByTestId('method-mora').check();
    await expect.poll(() => page.getByTestId('train-start').isEnabled(), { timeout: 60_000 }).toBe(true);
    await page.getByTestId('train-start').click();
    await expect.poll(() => text(page, 'spectrum-run'), { timeout: 120_000 }).toMatch(/^Run \d+ · MoRA r8$/);
    await page.locator('[data-testid="run-result"][data-reason="completed"]').waitFor({ timeout: 300_000 });
    await expect.poll(() => rowIds(page), { timeout: 30_000 }).toHaveLength(2);
    const b = (await rowIds(page)).find((id) => id !== a)!;
    const labelB = `Run ${b} · MoRA r8`;
    await expect.poll(() => text(page, 'spectrum-caption'), { timeout: 60_000 }).toContain('model.layers.1.self_attn.v_proj (64 × 64), after step 3');
    expect(await text(page, 'spectrum-run')).toBe(labelB);
    const sigmaB = await deltaSigma(page);
    expect(sigmaB.length).toBeGreaterThan(8); // MoRA's square update is high-rank
    expect(sigmaB).not.toEqual(sigmaA);

    // Pick A again: its own spectrum.
    await page.getByTestId('spectrum-run-select').selectOption(String(a));
    await expect.poll(() => text(page, 'spectrum-run'), { timeout: 30_000 }).toBe(labelA);
    expect(await deltaSigma(page)).toEqual(sigmaA);
    // A module of A's not computed yet: the engine restores A from its checkpoint (B is on the model).
    await page.getByTestId('spectrum-module').selectOption('q');
    await expect.poll(() => text(page, 'spectrum-caption'), { timeout: 60_000 }).toContain('model.layers.1.self_attn.q_proj (64 × 64), after step 3');
    expect(await text(page, 'spectrum-run')).toBe(labelA);
    const qA = await deltaSigma(page);
    expect(qA.length).toBeGreaterThan(0);
    expect(qA.length).toBeLessThanOrEqual(8);

    // B beside A, the same module.
    await page.getByTestId('spectrum-beside-select').selectOption(String(b));
    await expect.poll(() => text(page, 'spectrum-run-beside'), { timeout: 60_000 }).toBe(labelB);
    expect(await text(page, 'spectrum-caption-beside')).toContain('model.layers.1.self_attn.q_proj (64 × 64), after step 3');
    expect((await deltaSigma(page, 'sigma-chart-beside')).length).toBeGreaterThan(8);
    await page.getByTestId('spectrum-panel').screenshot({ path: path.join(screenshotsDir, 'spectrum-lora-beside-mora.png') });

    // Compare runs: each run's data, the pair flagged as not comparable, and the table within its panel.
    expect(await page.getByTestId('compare-runs-data').allTextContents()).toEqual(['New facts', 'Pirate style']);
    expect(await page.getByTestId('compare-runs-probe').allTextContents()).toEqual(['probe: Held-out base text', 'probe: Held-out base text']);
    expect(await text(page, 'compare-runs-not-comparable')).toBe(
      `Not comparable: Run ${b} trained on other data (Pirate style) than Run ${a} (New facts). Their learning and forgetting cells are marked ≠.`,
    );
    const flagged = page.locator('[data-testid="compare-runs-row"] td[data-comparable="false"]');
    expect(await flagged.evaluateAll((els) => els.map((e) => `${e.closest('tr')!.getAttribute('data-run-id')}:${e.getAttribute('data-col')}`))).toEqual([
      `${b}:data`, `${b}:learning`, `${b}:forgetting`,
    ]);
    const fit = await page.locator('[data-testid="compare-runs-panel"] .table-scroll').evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    console.log(`compare table at 1280 px: ${fit.scroll} px wide in a ${fit.client} px panel`);
    expect(fit.scroll).toBeLessThanOrEqual(fit.client);
    await page.getByTestId('compare-runs-panel').screenshot({ path: path.join(screenshotsDir, 'compare-runs-not-comparable.png') });
    await screenshot(page, 'spectrum-runs');

    // Ticks survive a reload: A unticked, B ticked.
    await page.getByTestId(`compare-run-${a}`).uncheck();
    await page.reload();
    await waitForBuiltIn(page);
    await page.getByTestId(`compare-run-${b}`).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId(`compare-run-${a}`).isChecked()).toBe(false);
    expect(await page.getByTestId(`compare-run-${b}`).isChecked()).toBe(true);
    expect(await rowIds(page)).toEqual([b]);
  });

  test('a round time budget of 0: the module on screen gets a ΔW point in every round, another module says why it has fewer', { timeout: 300_000 }, async () => {
    const { page } = await studio.openWithBuiltIn();
    await page.getByTestId('spectrum-layer').selectOption('2');
    await page.getByTestId('spectrum-module').selectOption('v');
    await page.getByTestId('spectra-budget').fill('0');
    await tinySettings(page, { steps: 4, batch: 2, lr: '0.01', spectraEvery: 1 });
    await trainToCompletion(page);
    const history = page.locator('[data-testid="spectrum-panel"] .spectrum-history');
    // A round after each of the 4 steps; the budget covers only the module on screen, whose history has all 4.
    await expect.poll(() => history.getAttribute('data-rounds'), { timeout: 30_000 }).toBe('4');
    expect(await page.locator('[data-testid="rank90-chart"] circle.pt-rank90').count()).toBe(4);
    expect(await page.locator('[data-testid="overlap-chart"] circle.pt-principal').count()).toBe(4);
    expect(await page.getByTestId('spectra-history-note').count()).toBe(0);

    // Layer 0's q was off screen: only the last round (complete, unbudgeted) measured it.
    await page.getByTestId('spectrum-layer').selectOption('0');
    await page.getByTestId('spectrum-module').selectOption('q');
    await expect.poll(() => history.getAttribute('data-points'), { timeout: 30_000 }).toBe('1');
    expect(await text(page, 'spectra-history-note')).toBe("model.layers.0.self_attn.q_proj: 1 of 4 rounds: the round's time budget covered other modules.");
  });
});
