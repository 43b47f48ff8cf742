/**
 * Loading a model from the Hugging Face Hub through the UI: Playwright answers the Hub's URLs
 * (https://huggingface.co/<repo>/resolve/main/<file>) with stories260K exported to the HF layout.
 */
import type { BrowserContext, Route } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { exportHfModel } from '../../src/io/export-hf.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { llama2cToTokenizerJson, llama2cTokenizerConfig } from '../../src/io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { readFixture } from '../helpers/fixtures.ts';
import { screenshot, type WatchedPage } from './harness.ts';
import { CHECKPOINT, TOKENIZER, useStudio } from './studio.ts';

const REPO = 'karpathy/stories260K';
const FIRST_SENTENCE = 'Once upon a time, there was a little girl named Lily.';
const weights = parseLlama2c(readFixture(CHECKPOINT), 'stories260K.bin');
const tok = Llama2cTokenizer.fromBytes(readFixture(TOKENIZER), 'tok512.bin');
const hf = exportHfModel(weights, llama2cToTokenizerJson(tok), llama2cTokenizerConfig());

const studio = useStudio();
/** Paths the fake Hub was asked for. */
const hits: string[] = [];

/** The Hub's layout: the exported repo; a gated repo answers 401 like huggingface.co. */
async function serveHub(context: BrowserContext): Promise<void> {
  await context.route('https://huggingface.co/**', (route: Route) => {
    const p = new URL(route.request().url()).pathname;
    hits.push(p);
    const headers = { 'Access-Control-Allow-Origin': '*' };
    if (p.startsWith('/meta-llama/')) return route.fulfill({ status: 401, headers: { ...headers, 'X-Error-Code': 'GatedRepo', 'Access-Control-Expose-Headers': 'X-Error-Code' }, body: 'gated' });
    const prefix = `/${REPO}/resolve/main/`;
    const body = p.startsWith(prefix) ? hf.get(p.slice(prefix.length)) : undefined;
    if (!body) return route.fulfill({ status: 404, headers, body: 'Entry not found' });
    return route.fulfill({ status: 200, headers: { ...headers, 'Content-Type': 'application/octet-stream' }, body: Buffer.from(body) });
  });
}

async function loadFromHub(w: WatchedPage, repo: string, afterStart = true): Promise<void> {
  const { page } = w;
  await page.getByTestId('adapter').waitFor({ timeout: 60_000 });
  // Let the start-up load of the built-in model settle (loaded, or missing) so this load is the last one.
  if (afterStart) await page.locator('[data-testid="model-card"], [data-testid="model-error"]').first().waitFor({ timeout: 60_000 });
  await page.getByLabel('Hugging Face repo id').fill(repo);
  await page.getByTestId('hub-load').click();
}

describe('Hugging Face Hub loading (Chromium + SwiftShader)', () => {
  test('loads a repo through the UI, generates its golden sentence, and a reload uses the cache', async () => {
    const w = await studio.open({ init: serveHub });
    const { page } = w;
    await loadFromHub(w, REPO);
    // The built-in model also has a model.safetensors: wait for stories260K's parameter count instead.
    await page.locator('[data-testid="param-count"]', { hasText: '260,032' }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('model-card').count()).toBe(0); // not the built-in model's card
    expect(hits.filter((h) => h.endsWith('/model.safetensors'))).toHaveLength(1);
    await screenshot(page, 'hub-loaded');
    await page.getByLabel('Max new tokens').fill('20');
    await page.getByTestId('generate').click();
    await page.locator('[data-testid="generate-status"][data-state="done"]').waitFor({ timeout: 60_000 });
    const text = await page.getByTestId('output').evaluate((el) => el.textContent ?? '');
    expect(text.slice(0, FIRST_SENTENCE.length)).toBe(FIRST_SENTENCE);

    // The same origin after a reload: the Cache API answers, the Hub is not asked again.
    const before = hits.length;
    await page.reload();
    await loadFromHub(w, REPO);
    await page.locator('[data-testid="param-count"]', { hasText: '260,032' }).waitFor({ timeout: 60_000 });
    expect(hits.slice(before)).toEqual([]);

    // A gated repo: an inline error next to the input, the loaded model stays.
    await loadFromHub(w, 'meta-llama/Llama-gated', false);
    const err = page.getByTestId('hub-error');
    await err.waitFor({ timeout: 30_000 });
    expect(await err.textContent()).toMatch(/meta-llama\/Llama-gated is gated or private \(HTTP 401\): give a Hugging Face access token/);
    await screenshot(page, 'hub-gated');
  });

  test('with the storage quota forced to almost nothing the model still loads, and each file that could not be cached is explained', async () => {
    const w = await studio.open({ init: serveHub });
    const { page, context } = w;
    const cdp = await context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(studio.url).origin, quotaSize: 1 });
    await loadFromHub(w, REPO);
    await page.locator('[data-testid="param-count"]', { hasText: '260,032' }).waitFor({ timeout: 60_000 });
    const problems = page.getByTestId('hub-cache-problem');
    await expect.poll(() => problems.count(), { timeout: 30_000 }).toBeGreaterThan(0);
    const text = (await problems.allTextContents()).join('\n');
    expect(text).toMatch(/model\.safetensors \([\d.]+ MB\) was downloaded but could not be kept in the browser's cache: browser storage is full\..*The next load of this repo downloads it again\./);
  });
});
