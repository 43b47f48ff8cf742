/**
 * The spectrum view in the studio (Chromium + SwiftShader): stories260K loaded through the file
 * picker, a 3-step LoRA run (batch 1, 32-token windows) with a spectra round after every step, then
 * one module's spectrum: σ(W₀) with min(out, in) points, σ(W₀+ΔW) likewise, σ(ΔW) with at most r
 * (LoRA's cheap path), the rank90 / overlap history, and the layer × module heatmap.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { kvDim, type LlamaConfig } from '../../src/schema/llama-config.ts';
import { screenshot } from './harness.ts';
import { chartPoints, storiesConfig, tinySettings, trainToCompletion, useStudio } from './studio.ts';

const studio = useStudio({ failureScreenshot: 'failed-spectrum' });
let modelConfig: LlamaConfig;

beforeAll(async () => {
  modelConfig = await storiesConfig();
});

describe('spectrum view (Chromium + SwiftShader)', () => {
  test('after a 3-step LoRA run: σ of W₀, W₀+ΔW and ΔW for layer 1 v, rank90 history and the heatmap', { timeout: 240_000 }, async () => {
    const page = await studio.openWithStories();
    const started = performance.now();
    // 3 steps of 1 × 32 tokens ("More settings" left closed), a spectra round after every step.
    await tinySettings(page, { steps: 3, evalBatches: null, spectraEvery: 1 });
    await trainToCompletion(page, 180_000);

    // Layer 1's v projection: W₀ is (kvDim, dim).
    await page.getByTestId('spectrum-layer').selectOption('1');
    await page.getByTestId('spectrum-module').selectOption('v');
    await page.getByTestId('spectrum-compute').click();
    await page.getByTestId('sigma-chart').waitFor({ timeout: 60_000 });
    const out = kvDim(modelConfig);
    const minDim = Math.min(out, modelConfig.dim);
    expect(await page.getByTestId('spectrum-caption').textContent()).toContain(`model.layers.1.self_attn.v_proj (${out} × ${modelConfig.dim}), after step 3`);
    expect(await chartPoints(page, 'base', 'sigma-chart')).toBe(minDim);
    expect(await chartPoints(page, 'merged', 'sigma-chart')).toBe(minDim);
    const delta = await chartPoints(page, 'delta', 'sigma-chart');
    expect(delta).toBeGreaterThan(0); // LoRA's ΔW = s·B·A: at most r = 8 nonzero values
    expect(delta).toBeLessThanOrEqual(8);
    const rank90 = Number(await page.getByTestId('spectrum-rank90').textContent());
    expect(rank90).toBeGreaterThanOrEqual(1);
    expect(rank90).toBeLessThanOrEqual(8);
    for (const k of ['base', 'merged', 'delta']) await page.getByTestId(`sigma-chart-legend-${k}`).waitFor();
    expect(await page.getByTestId('sigma-chart-ylabel').textContent()).toBe('σᵢ (log)');

    // A round after each of the 3 steps, each within ~300 ms: a round may visit only some modules
    // (round-robin; layer 0 q, on screen then, comes first), the last one all, so layer 1 v has 1–3 points,
    // the same in each series.
    const history = await chartPoints(page, 'rank90', 'rank90-chart');
    expect(history).toBeGreaterThanOrEqual(1);
    expect(history).toBeLessThanOrEqual(3);
    expect(await chartPoints(page, 'principal', 'overlap-chart')).toBe(history);
    expect(await chartPoints(page, 'minor', 'overlap-chart')).toBe(history);

    // Heatmap: a cell per layer × module; the LoRA targets (q, v) carry a number, the others none.
    const cells = page.locator('[data-testid="rank-heatmap"] .heat-cell');
    expect(await cells.count()).toBe(modelConfig.nLayers * 7);
    for (let l = 0; l < modelConfig.nLayers; l++) {
      for (const m of ['q', 'v']) {
        const label = await page.getByTestId(`heat-${l}-${m}`).getAttribute('aria-label');
        expect(label).toMatch(new RegExp(`^layer ${l} ${m}: rank90 [1-8]$`));
      }
      expect(await page.getByTestId(`heat-${l}-k`).getAttribute('aria-label')).toBe(`layer ${l} k: no update measured`);
    }
    expect(await page.getByTestId('heat-1-v-value').textContent()).toBe(String(rank90));
    await page.getByTestId('spectrum-panel').scrollIntoViewIfNeeded();
    await screenshot(page, 'spectrum');
    console.log(`spectrum e2e: ${((performance.now() - started) / 1000).toFixed(1)} s after load`);
  });
});
