/**
 * A MiLoRA run in the studio (Chromium + SwiftShader), on stories260K loaded through the file
 * picker: the model card's "Memory to train" table (a row per picker method, the chosen one marked,
 * numbers that agree with the method panel's estimate), a 3-step MiLoRA run (batch 1, 32-token
 * windows) that starts with the SVD initialisation and draws its loss points, then the rank90 heatmap
 * driven from the keyboard: one tab stop, arrows move the focus ring, Enter/Space show a module's spectrum.
 */
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { METHOD_ROWS } from '../../src/store/methods.ts';
import { screenshot } from './harness.ts';
import { chartPoints, tinySettings, trainToCompletion, useStudio, watchRunStatus } from './studio.ts';

const LAYERS = 5; // stories260K

const studio = useStudio({ failureScreenshot: 'failed-milora' });

const attr = async (page: Page, testId: string, name: string) => page.getByTestId(testId).getAttribute(name);
/** The test id of the focused element. */
const focused = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);

describe('MiLoRA in the studio (Chromium + SwiftShader)', () => {
  test('memory table per method, a 3-step MiLoRA run with loss points, the heatmap driven by keyboard', { timeout: 360_000 }, async () => {
    const page = await studio.openWithStories();
    const started = performance.now();

    // The memory table: one row per picker method; LoRA (the studio default) is marked as chosen.
    const table = page.getByTestId('memory-table');
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBe(METHOD_ROWS.length);
    for (const row of METHOD_ROWS) {
      const tr = page.getByTestId(`memory-${row.id}`);
      expect(await tr.locator('th').textContent()).toContain(row.label);
      expect(Number(await tr.getAttribute('data-bytes'))).toBeGreaterThan(0);
    }
    expect(await attr(page, 'memory-lora', 'data-chosen')).toBe('true');

    // Pick MiLoRA: the mark moves, and its row agrees with the method panel's estimate.
    await page.getByTestId('method-milora').check();
    await expect.poll(() => attr(page, 'memory-milora', 'data-chosen')).toBe('true');
    expect(await table.locator('tr[data-chosen="true"]').count()).toBe(1);
    // 3 steps of 1 × 32 tokens, a spectra round after every step; Start is awaited once the status is watched.
    await tinySettings(page, { steps: 3, spectraEvery: 1, ready: false });
    // LoRA r8 on q, v of 5 layers: 8·(64 + 64) + 8·(64 + 32) = 1792 per layer; MiLoRA trains the same shapes.
    expect(await page.getByTestId('trainable-count').textContent()).toBe('8,960');
    expect(await attr(page, 'memory-milora', 'data-trainable')).toBe('8960');
    expect(await attr(page, 'memory-milora', 'data-bytes')).toBe(await attr(page, 'memory-lora', 'data-bytes'));
    // Batch 1 × 32 tokens: far less than full fine-tuning, which keeps gradients and Adam for all 260,032.
    expect(Number(await attr(page, 'memory-full', 'data-bytes'))).toBeGreaterThan(Number(await attr(page, 'memory-milora', 'data-bytes')));
    expect(await page.getByTestId('memory-milora').locator('td').last().textContent()).toBe(await page.getByTestId('memory-estimate').textContent());
    await page.getByTestId('model-panel').scrollIntoViewIfNeeded();
    await screenshot(page, 'milora-model-card');

    // Record every text the run status shows, to catch the SVD initialisation's progress line.
    const statusSeen = await watchRunStatus(page);
    await expect.poll(() => page.getByTestId('train-start').isEnabled(), { timeout: 30_000 }).toBe(true);
    await trainToCompletion(page, 240_000);
    const seen = await statusSeen();
    console.log(`run status texts: ${JSON.stringify(seen)}`);
    // The SVD initialisation reports each module: its last report (all modules done) is always shown before the first step.
    expect(seen.some((t) => /^SVD (\d+) of \1 done \(model\.layers\.\d+\.self_attn\.v_proj\)$/.test(t))).toBe(true);
    expect(seen[seen.length - 1]).toBe('Finished');
    expect(await page.getByTestId('run-trainable').textContent()).toBe('8,960'); // the engine agrees with the estimate
    expect(await chartPoints(page, 'train')).toBe(3);
    expect(await chartPoints(page, 'eval')).toBe(1); // evalEvery 0: one eval at the end
    const steps = await page.locator('circle.pt-train').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-step'))));
    expect(steps).toEqual([1, 2, 3]);

    // Heatmap: a cell per layer × module, numbers on MiLoRA's targets (q, v), and one tab stop.
    const cells = page.locator('[data-testid="rank-heatmap"] .heat-cell');
    expect(await cells.count()).toBe(LAYERS * 7);
    for (let l = 0; l < LAYERS; l++) {
      for (const m of ['q', 'v']) expect(await attr(page, `heat-${l}-${m}`, 'aria-label')).toMatch(new RegExp(`^layer ${l} ${m}: rank90 \\d+$`));
      expect(await attr(page, `heat-${l}-k`, 'aria-label')).toBe(`layer ${l} k: no update measured`);
    }
    expect(await page.locator('[data-testid="rank-heatmap"] .heat-cell[tabindex="0"]').count()).toBe(1);
    // Tabbing on from "Show spectrum" (past the charts' download buttons) reaches the heatmap at its one
    // tab stop, the selected cell (layer 0, q); the next Tab leaves the heatmap.
    await page.getByTestId('spectrum-compute').focus();
    for (let i = 0; i < 20 && !(await focused(page))?.startsWith('heat-'); i++) await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('heat-0-q');
    await page.keyboard.press('Tab');
    expect(await focused(page)).not.toMatch(/^heat-/);

    // Layer 1's k, ArrowRight → layer 1's v (the focus ring moves with the tab stop), Enter shows its spectrum.
    await page.getByTestId('heat-1-k').focus();
    await page.keyboard.press('ArrowRight');
    expect(await focused(page)).toBe('heat-1-v');
    expect(await attr(page, 'heat-1-v', 'tabindex')).toBe('0');
    expect(await page.locator('[data-testid="rank-heatmap"] .heat-cell[tabindex="0"]').count()).toBe(1);
    const ring = await page.getByTestId('heat-1-v').locator('rect').evaluate((r) => getComputedStyle(r).stroke);
    expect(ring).toBe('rgb(234, 88, 12)'); // the visible focus ring (app.css)
    await page.keyboard.press('Enter');
    const caption = page.getByTestId('spectrum-caption');
    await expect.poll(() => caption.textContent(), { timeout: 60_000 }).toContain('model.layers.1.self_attn.v_proj (32 × 64), after step 3');
    expect(await page.getByTestId('spectrum-layer').inputValue()).toBe('1');
    expect(await page.getByTestId('spectrum-module').inputValue()).toBe('v');
    expect(await attr(page, 'heat-1-v', 'aria-selected')).toBe('true');
    expect(await page.getByTestId('spectrum-rank90').textContent()).toBe(await page.getByTestId('heat-1-v-value').textContent());
    // σ(W₀) of a (32, 64) weight has 32 values.
    expect(await page.locator('[data-testid="sigma-chart"] circle.pt-base').count()).toBe(32);

    // ArrowUp then Space: layer 0's v.
    await page.keyboard.press('ArrowUp');
    expect(await focused(page)).toBe('heat-0-v');
    await page.keyboard.press(' ');
    await expect.poll(() => caption.textContent(), { timeout: 60_000 }).toContain('model.layers.0.self_attn.v_proj');
    expect(await attr(page, 'heat-0-v', 'aria-selected')).toBe('true');
    expect(await attr(page, 'heat-1-v', 'aria-selected')).toBe('false');
    await page.getByTestId('spectrum-panel').scrollIntoViewIfNeeded();
    await screenshot(page, 'milora-spectrum');
    console.log(`milora e2e: ${((performance.now() - started) / 1000).toFixed(1)} s after load`);
  });
});
