/**
 * The spectrum view in the studio (Chromium + SwiftShader): stories260K loaded through the file
 * picker, a 3-step LoRA run (batch 1, 32-token windows) with a spectra round after every step, then
 * one module's spectrum: σ(W₀) with min(out, in) points, σ(W₀+ΔW) likewise, σ(ΔW) with at most r
 * (LoRA's cheap path), the rank90 / overlap history, and the layer × module heatmap.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { loadModelFromFiles } from '../../src/io/load-model.ts';
import { kvDim, type LlamaConfig } from '../../src/model/config.ts';
import { closePage, fixturesDir, launchChromium, openPage, screenshot, startAppServer, type WatchedPage } from './harness.ts';

const CHECKPOINT = path.resolve(fixturesDir, 'stories260K.bin');
const TOKENIZER = path.resolve(fixturesDir, 'tok512.bin');

let server: ViteDevServer | null = null;
let url = '';
let browser: Browser | null = null;
let current: WatchedPage | null = null;
let modelConfig: LlamaConfig;

beforeAll(async () => {
  browser = await launchChromium({ webgpu: true });
  ({ server, url } = await startAppServer());
  const loaded = await loadModelFromFiles([
    { name: 'stories260K.bin', bytes: readFileSync(CHECKPOINT) },
    { name: 'tok512.bin', bytes: readFileSync(TOKENIZER) },
  ]);
  modelConfig = loaded.weights.config;
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

afterEach(async ({ task }) => {
  const watched = current;
  current = null;
  if (watched && task.result?.state === 'fail') await screenshot(watched.page, 'failed-spectrum').catch(() => undefined);
  await closePage(watched);
});

async function openWithStories(): Promise<Page> {
  if (!browser) throw new Error('browser not started');
  current = await openPage(browser, url);
  const { page } = current;
  await page.getByTestId('adapter').waitFor({ timeout: 60_000 });
  await page.locator('[data-testid="model-card"], [data-testid="model-error"]').first().waitFor({ timeout: 60_000 });
  await page.getByLabel('Model files').setInputFiles([CHECKPOINT, TOKENIZER]);
  await page.locator('[data-testid="model-files-loaded"]', { hasText: 'stories260K.bin' }).waitFor({ timeout: 60_000 });
  await page.getByTestId('data-summary').waitFor({ timeout: 60_000 });
  return page;
}

const points = (page: Page, chart: string, series: string) => page.locator(`[data-testid="${chart}"] circle.pt-${series}`).count();

describe('spectrum view (Chromium + SwiftShader)', () => {
  test('after a 3-step LoRA run: σ of W₀, W₀+ΔW and ΔW for layer 1 v, rank90 history and the heatmap', { timeout: 240_000 }, async () => {
    const page = await openWithStories();
    const started = performance.now();
    await page.getByTestId('steps').fill('3');
    await page.getByTestId('batch').fill('1');
    await page.getByTestId('seq').fill('32');
    await page.getByTestId('eval-every').fill('0');
    await page.getByText('Windows of 32 tokens', { exact: false }).waitFor({ timeout: 30_000 });
    await page.getByTestId('spectra-every').fill('1'); // a spectra round after every step
    await expect.poll(() => page.getByTestId('train-start').isEnabled(), { timeout: 30_000 }).toBe(true);
    await page.getByTestId('train-start').click();
    await page.locator('[data-testid="run-result"][data-reason="completed"]').waitFor({ timeout: 180_000 });

    // Layer 1's v projection: W₀ is (kvDim, dim).
    await page.getByTestId('spectrum-layer').selectOption('1');
    await page.getByTestId('spectrum-module').selectOption('v');
    await page.getByTestId('spectrum-compute').click();
    await page.getByTestId('sigma-chart').waitFor({ timeout: 60_000 });
    const out = kvDim(modelConfig);
    const minDim = Math.min(out, modelConfig.dim);
    expect(await page.getByTestId('spectrum-caption').textContent()).toContain(`model.layers.1.self_attn.v_proj (${out} × ${modelConfig.dim}), after step 3`);
    expect(await points(page, 'sigma-chart', 'base')).toBe(minDim);
    expect(await points(page, 'sigma-chart', 'merged')).toBe(minDim);
    const delta = await points(page, 'sigma-chart', 'delta');
    expect(delta).toBeGreaterThan(0); // LoRA's ΔW = s·B·A: at most r = 8 nonzero values
    expect(delta).toBeLessThanOrEqual(8);
    const rank90 = Number(await page.getByTestId('spectrum-rank90').textContent());
    expect(rank90).toBeGreaterThanOrEqual(1);
    expect(rank90).toBeLessThanOrEqual(8);
    for (const k of ['base', 'merged', 'delta']) await page.getByTestId(`sigma-chart-legend-${k}`).waitFor();
    expect(await page.getByTestId('sigma-chart-ylabel').textContent()).toBe('σᵢ (log)');

    // A round after each of the 3 steps, each within ~300 ms: a round may visit only some modules
    // (round-robin), but the computed spectrum adds step 3, so layer 1 v has 1–3 points, the same in each series.
    const history = await points(page, 'rank90-chart', 'rank90');
    expect(history).toBeGreaterThanOrEqual(1);
    expect(history).toBeLessThanOrEqual(3);
    expect(await points(page, 'overlap-chart', 'principal')).toBe(history);
    expect(await points(page, 'overlap-chart', 'minor')).toBe(history);

    // Heatmap: a cell per layer × module; the LoRA targets (q, v) carry a number, the others none.
    const cells = page.locator('[data-testid="rank-heatmap"] .heat-cell');
    expect(await cells.count()).toBe(modelConfig.nLayers * 7);
    for (let l = 0; l < modelConfig.nLayers; l++) {
      for (const m of ['q', 'v']) {
        const label = await page.getByTestId(`heat-${l}-${m}`).getAttribute('aria-label');
        expect(label).toMatch(new RegExp(`^layer ${l} ${m}: rank90 [1-8]$`));
      }
      expect(await page.getByTestId(`heat-${l}-k`).getAttribute('aria-label')).toBe(`layer ${l} k: no adapter data`);
    }
    expect(await page.getByTestId('heat-1-v-value').textContent()).toBe(String(rank90));
    await page.getByTestId('spectrum-panel').scrollIntoViewIfNeeded();
    await screenshot(page, 'spectrum');
    console.log(`spectrum e2e: ${((performance.now() - started) / 1000).toFixed(1)} s after load`);
  });
});
