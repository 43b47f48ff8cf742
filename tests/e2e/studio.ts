/**
 * What the studio e2e files share: one Vite server and one WebGPU Chromium per file, a current page
 * that is screenshotted when its test fails and then closed (failing the test on uncaught page
 * errors), stories260K loaded through the "Model files" input, tiny training settings, and reading
 * the loss chart and downloads back.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { loadModelFromFiles } from '../../src/io/load-model.ts';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';
import { closePage, fixturesDir, launchChromium, openPage, screenshot, startAppServer, type AppServer, type WatchedPage } from './harness.ts';

export const CHECKPOINT = path.resolve(fixturesDir, 'stories260K.bin');
export const TOKENIZER = path.resolve(fixturesDir, 'tok512.bin');

export interface StudioOptions {
  /** The failure screenshot's name (default: `failed-` and the test's name). */
  failureScreenshot?: string;
  /** The production build (default) or the dev server `npm start` runs. */
  server?: 'built' | 'dev';
}

export interface OpenOptions {
  /** Runs on the fresh context before the page opens (routes, init scripts). */
  init?: Parameters<typeof openPage>[2];
  /** Appended to the app's URL, e.g. `?rank=4`. */
  query?: string;
  /** Another browser than the file's WebGPU one (the page is still the current one). */
  browser?: Browser;
}

export interface Studio {
  /** The app's URL (once beforeAll has run). */
  readonly url: string;
  /** The file's WebGPU Chromium (once beforeAll has run). */
  readonly browser: Browser;
  /** A watched page on the app, remembered as the current one. */
  open(opts?: OpenOptions): Promise<WatchedPage>;
  /** A fresh page with stories260K loaded and its data (the first demo) tokenised. */
  openWithStories(): Promise<Page>;
  /** A fresh page (its context too, for CDP or a second tab) once the built-in model and its demo data are ready. */
  openWithBuiltIn(opts?: OpenOptions): Promise<WatchedPage>;
  /** Close the current page now (throwing on its uncaught errors), so afterEach has nothing left to do. */
  closeCurrent(): Promise<void>;
}

/**
 * Registers the file's beforeAll (Chromium with WebGPU, the app's server), afterAll (both closed)
 * and afterEach (the current page screenshotted if the test failed, then closed).
 */
export function useStudio(opts: StudioOptions = {}): Studio {
  let server: AppServer | null = null;
  let url = '';
  let browser: Browser | null = null;
  let current: WatchedPage | null = null;

  beforeAll(async () => {
    browser = await launchChromium({ webgpu: true });
    server = await startAppServer(opts.server);
    url = server.url;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  afterEach(async ({ task }) => {
    const watched = current;
    current = null;
    if (watched && task.result?.state === 'fail') {
      const name = opts.failureScreenshot ?? `failed-${task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`;
      await screenshot(watched.page, name).catch(() => undefined);
    }
    await closePage(watched);
  });

  const studio: Studio = {
    get url() {
      return url;
    },
    get browser() {
      if (!browser) throw new Error('browser not started');
      return browser;
    },
    async open({ init, query = '', browser: other }: OpenOptions = {}) {
      current = await openPage(other ?? studio.browser, `${url}${query}`, init);
      return current;
    },
    async openWithStories() {
      const { page } = await studio.open();
      await loadStories(page);
      await page.getByTestId('data-summary').waitFor({ timeout: 60_000 });
      return page;
    },
    async openWithBuiltIn(opts?: OpenOptions) {
      const watched = await studio.open(opts);
      await waitForBuiltIn(watched.page);
      return watched;
    },
    async closeCurrent() {
      const watched = current;
      current = null;
      await closePage(watched);
    },
  };
  return studio;
}

/** The built-in model loaded at start-up and its demo data tokenised. */
export async function waitForBuiltIn(page: Page): Promise<void> {
  await page.getByTestId('model-card').waitFor({ timeout: 90_000 });
  await page.getByTestId('data-summary').waitFor({ timeout: 60_000 });
}

/**
 * Train `methods` one after another with the settings on the page (each run completes), then read
 * each run's compare-table cells `cols` (by data-col), keyed by method.
 */
export async function trainAndCompare(page: Page, methods: readonly string[], cols: readonly string[]): Promise<Record<string, Record<string, string>>> {
  const found: Record<string, Record<string, string>> = {};
  for (const method of methods) {
    await page.getByTestId(`method-${method}`).check();
    await expect.poll(() => page.getByTestId('train-start').isEnabled(), { timeout: 30_000 }).toBe(true);
    await trainToCompletion(page);
    const row = page.locator(`[data-testid="compare-runs-row"][data-method="${method}"]`);
    await row.waitFor({ timeout: 30_000 });
    found[method] = {};
    // A key column of the run's row, or a setting of its details row (its value after the setting's name).
    const value = (col: string) => page.locator(`tr[data-method="${method}"] td[data-col="${col}"], tr[data-method="${method}"] li[data-col="${col}"] .setting-value`);
    for (const col of cols) found[method]![col] = (await value(col).textContent()) ?? '';
  }
  return found;
}

/**
 * Pick stories260K through the "Model files" input once the start-up load of the built-in model
 * has settled (loaded, or missing), so the pick is the last load.
 */
export async function pickStories(page: Page): Promise<void> {
  await page.locator('[data-testid="model-card"], [data-testid="model-error"]').first().waitFor({ timeout: 60_000 });
  await page.getByLabel('Model files').setInputFiles([CHECKPOINT, TOKENIZER]);
  await page.locator('[data-testid="model-files-loaded"]', { hasText: 'stories260K.bin' }).waitFor({ timeout: 60_000 });
}

/** Wait for the WebGPU adapter, then load stories260K (see pickStories). */
export async function loadStories(page: Page, { adapterTimeout = 60_000 }: { adapterTimeout?: number } = {}): Promise<void> {
  await page.getByTestId('adapter').waitFor({ timeout: adapterTimeout });
  await pickStories(page);
}

/** stories260K's config, read in Node (for the numbers the page should show). */
export async function storiesConfig(): Promise<LlamaConfig> {
  const loaded = await loadModelFromFiles([
    { name: 'stories260K.bin', bytes: readFileSync(CHECKPOINT) },
    { name: 'tok512.bin', bytes: readFileSync(TOKENIZER) },
  ]);
  return loaded.weights.config;
}

export interface TinySettings {
  steps: number;
  /** Sequences per step (default 1); windows are always 32 tokens. */
  batch?: number;
  /** An eval every N steps; 0 (the default) evaluates once, at the end. */
  evalEvery?: number;
  lr?: string;
  checkpointEvery?: number;
  /** Eval batches, set under "More settings" (default 1); null leaves "More settings" closed. */
  evalBatches?: number | null;
  /** A spectra round every N steps (set once the data is re-cut). */
  spectraEvery?: number;
  /** Wait until Start is enabled (default true). */
  ready?: boolean;
}

/** A tiny run's settings: `steps` steps of batch × 32 tokens, then wait for the data cut in windows of 32. */
export async function tinySettings(page: Page, s: TinySettings): Promise<void> {
  const { steps, batch = 1, evalEvery = 0, evalBatches = 1, ready = true } = s;
  await page.getByTestId('steps').fill(String(steps));
  await page.getByTestId('batch').fill(String(batch));
  await page.getByTestId('seq').fill('32');
  await page.getByTestId('eval-every').fill(String(evalEvery));
  if (s.lr !== undefined) await page.getByTestId('lr').fill(s.lr);
  if (s.checkpointEvery !== undefined) await page.getByTestId('checkpoint-every').fill(String(s.checkpointEvery));
  if (evalBatches !== null) {
    await page.getByText('More settings').click();
    await page.getByTestId('eval-batches').fill(String(evalBatches));
  }
  // Changing the sequence length re-cuts the data: wait for windows of 32.
  await page.getByText('Windows of 32 tokens', { exact: false }).waitFor({ timeout: 30_000 });
  if (s.spectraEvery !== undefined) await page.getByTestId('spectra-every').fill(String(s.spectraEvery));
  if (ready) await expect.poll(() => page.getByTestId('train-start').isEnabled(), { timeout: 30_000 }).toBe(true);
}

/** Start training and wait until the run completes. */
export async function trainToCompletion(page: Page, timeout = 300_000): Promise<void> {
  await page.getByTestId('train-start').click();
  await page.locator('[data-testid="run-result"][data-reason="completed"]').waitFor({ timeout });
}

/** How many points of a series (`pt-<series>`) a chart draws; the loss chart by default. */
export const chartPoints = (page: Page, series: string, chart = 'loss-chart'): Promise<number> =>
  page.locator(`[data-testid="${chart}"] circle.pt-${series}`).count();

/** The loss chart's train points as "step N: loss X" (their tooltips). */
export const trainPoints = (page: Page): Promise<string[]> => page.locator('[data-testid="loss-chart"] circle.pt-train title').allTextContents();

/** Click a download button and read the file back. */
export async function download(page: Page, testId: string): Promise<{ name: string; bytes: Uint8Array }> {
  const [d] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByTestId(testId).click()]);
  return { name: d.suggestedFilename(), bytes: new Uint8Array(readFileSync(await d.path())) };
}

/**
 * Start recording every text the run status shows (each change once, in order); the returned
 * function reads what was seen so far.
 */
export async function watchRunStatus(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid="run-status"]')!;
    const seen: string[] = [];
    (window as unknown as { runStatusSeen: string[] }).runStatusSeen = seen;
    new MutationObserver(() => {
      const t = el.textContent ?? '';
      if (seen[seen.length - 1] !== t) seen.push(t);
    }).observe(el, { childList: true, characterData: true, subtree: true });
  });
  return () => page.evaluate(() => (window as unknown as { runStatusSeen: string[] }).runStatusSeen);
}
