/**
 * The studio page in Chromium on SwiftShader, served by the dev server `npm start` runs (the other
 * end-to-end files use the production build): adapter shown, stories260K loaded through the file
 * picker and generating its published greedy sample, bad files rejected by name, and a clear
 * explanation when WebGPU is missing.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { readZip } from '../../src/io/zip.ts';
import { launchChromium, repoRoot, screenshot, type WatchedPage } from './harness.ts';
import { CHECKPOINT, download, loadStories, TOKENIZER, useStudio } from './studio.ts';

/** The model author's published greedy sample from BOS (fixtures/stories260K/README.md). */
const GOLDEN =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. ' +
  'She wanted to play with it, but it was too high.\n' +
  'Lily\'s mom said, "Lily, let\'s go to the park." Lily was sad and didn\'t know what to do. She said, "I want to play with your ball, but I can\'t find it."';
const FIRST_SENTENCE = 'Once upon a time, there was a little girl named Lily.';

/**
 * The embedded default model, written by `npm run pretrain`. It is a build product, not a fixture:
 * a fresh checkout (or a machine where pretraining has not finished its first checkpoint) has no
 * such directory, and then there is nothing for the page to load, so the test is skipped.
 */
const DEFAULT_MODEL_DIR = path.resolve(repoRoot, 'public/models/tinyworld');

const studio = useStudio({ server: 'dev' });

/** A page on which the built-in model is missing (its files answer 404), as on a fresh checkout. */
const withoutDefaultModel = async (context: BrowserContext) => {
  await context.route('**/models/tinyworld/**', (route) => route.fulfill({ status: 404, body: 'not found' }));
};

const outputText = (w: WatchedPage) => w.page.getByTestId('output').evaluate((el) => el.textContent ?? '');

describe('studio page (Chromium + SwiftShader)', () => {
  test('shows the SwiftShader WebGPU adapter', async () => {
    const w = await studio.open({ init: withoutDefaultModel });
    const adapter = w.page.getByTestId('adapter-name');
    await adapter.waitFor({ timeout: 30_000 });
    expect((await adapter.textContent())?.toLowerCase()).toContain('swiftshader');
    // The studio panels are there and the generate panel waits for a model.
    await expect.poll(() => w.page.getByTestId('generate-disabled-reason').textContent()).toBe('Load a model to generate text.');
    expect(await w.page.getByTestId('generate').isDisabled()).toBe(true);
    await screenshot(w.page, 'adapter');
  });

  test.skipIf(!existsSync(path.join(DEFAULT_MODEL_DIR, 'model-card.json')))(
    'loads the built-in default model at start-up and shows its card, with a demo dataset ready to train',
    { timeout: 180_000 },
    async () => {
      const card = JSON.parse(readFileSync(path.join(DEFAULT_MODEL_DIR, 'model-card.json'), 'utf8')) as { name: string; parameters: number };
      const w = await studio.open();
      const { page } = w;
      const shown = page.getByTestId('model-card');
      await shown.waitFor({ timeout: 120_000 });
      expect(await shown.textContent()).toContain(`Built-in model “${card.name}”.`);
      expect(Number((await page.getByTestId('param-count').textContent())?.replace(/,/g, ''))).toBe(card.parameters);
      expect(await page.getByTestId('model-files-loaded').textContent()).toBe('config.json + model.safetensors + tokenizer.json + tokenizer_config.json');
      // Ready to fine-tune at once: the first demo is tokenised with the model's own tokenizer.
      await page.getByTestId('data-summary').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('demo-new-facts').isChecked()).toBe(true);
      expect(Number((await page.getByTestId('data-train-windows').textContent())?.replace(/,/g, ''))).toBeGreaterThan(0);
      expect(await page.getByTestId('train-start').isEnabled()).toBe(true);
      expect(await page.getByTestId('model-error').count()).toBe(0);
      await screenshot(page, 'default-model');
      // Exported in HF layout with the model's own tokenizer files, byte for byte.
      const merged = await download(page, 'export-merged');
      expect(merged.name).toBe('subspace-merged-base.zip');
      const entries = readZip(merged.bytes);
      expect(entries.map((e) => e.name).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
      const tokenizer = entries.find((e) => e.name === 'tokenizer.json')!.bytes;
      expect(Buffer.from(tokenizer).equals(readFileSync(path.join(DEFAULT_MODEL_DIR, 'tokenizer.json')))).toBe(true);
    },
  );

  test('loads stories260K through the file picker and generates the golden greedy sample, then stops on request', async () => {
    const w = await studio.open();
    const { page } = w;
    // Playwright's default 30 s for the adapter; then stories260K, picked once the start-up load has settled.
    await loadStories(page, { adapterTimeout: 30_000 });

    // Architecture numbers from the checkpoint header, and 260,032 parameters (tied embeddings counted once).
    const arch = async (key: string) => page.getByTestId(`arch-${key}`).textContent();
    expect(await arch('dim')).toBe('64');
    expect(await arch('hidden-dim')).toBe('172');
    expect(await arch('layers')).toBe('5');
    expect(await arch('heads')).toBe('8');
    expect(await arch('kv-heads')).toBe('4');
    expect(await arch('vocab')).toBe('512');
    expect(await arch('context')).toBe('512');
    expect(await arch('tied')).toBe('yes');
    expect(await page.getByTestId('param-count').textContent()).toBe('260,032');
    expect(await page.getByTestId('model-files-loaded').textContent()).toBe('stories260K.bin + tok512.bin');
    await screenshot(page, 'model-loaded');

    // Defaults: greedy, 256 tokens.
    expect(await page.getByLabel('Temperature').inputValue()).toBe('0');
    expect(await page.getByLabel('Max new tokens').inputValue()).toBe('256');
    await page.getByLabel('Max new tokens').fill('40');
    await page.getByTestId('generate').click();
    await page.locator('[data-testid="generate-status"][data-state="done"]').waitFor({ timeout: 60_000 });
    const text = await outputText(w);
    expect(text.slice(0, FIRST_SENTENCE.length)).toBe(FIRST_SENTENCE);
    await expect.poll(() => page.getByText(FIRST_SENTENCE, { exact: false }).count()).toBeGreaterThan(0);
    // Every character generated must agree with the published sample (40 tokens ≈ 160 characters).
    expect(text.length).toBeGreaterThan(100);
    expect(text).toBe(GOLDEN.slice(0, text.length));
    expect(await page.getByTestId('generate-status').textContent()).toMatch(/^Done: 40 tokens in /);
    await screenshot(page, 'generated');

    // Stop: start a long run (500 tokens, ~5 s here), wait for streamed tokens while it is still running, stop it.
    await page.getByLabel('Max new tokens').fill('500');
    await page.getByTestId('generate').click();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="generate-status"]')?.getAttribute('data-state') === 'running' &&
        (document.querySelector('[data-testid="output"]')?.textContent ?? '').startsWith('Once upon a time'),
      undefined,
      { timeout: 30_000 },
    );
    await page.getByTestId('stop').click();
    await page.locator('[data-testid="generate-status"][data-state="stopped"]').waitFor({ timeout: 30_000 });
    const stopped = await outputText(w);
    expect(stopped).toBe(GOLDEN.slice(0, stopped.length));
    const status = (await page.getByTestId('generate-status').textContent()) ?? '';
    const n = Number(/^Stopped: (\d+) tokens/.exec(status)?.[1]);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(500);
    await screenshot(page, 'stopped');
    expect(await page.getByTestId('generate').isEnabled()).toBe(true);
    expect(await page.getByTestId('engine-error').count()).toBe(0);
  });

  test('names the file when a dropped checkpoint is garbage or truncated', async () => {
    const w = await studio.open({ init: withoutDefaultModel });
    const { page } = w;
    await page.getByTestId('adapter').waitFor({ timeout: 30_000 });

    const drop = async (files: { name: string; bytes: number[] }[]) => {
      const dataTransfer = await page.evaluateHandle((list) => {
        const dt = new DataTransfer();
        for (const f of list) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));
        return dt;
      }, files);
      const zone = page.getByTestId('drop-zone');
      await zone.dispatchEvent('dragenter', { dataTransfer });
      await zone.dispatchEvent('dragover', { dataTransfer });
      await zone.dispatchEvent('drop', { dataTransfer });
    };
    const tokenizer = { name: 'tok512.bin', bytes: [...readFileSync(TOKENIZER)] };

    // A download cut off half way: the header promises 1,056,540 bytes.
    const truncated = [...readFileSync(CHECKPOINT).subarray(0, 500_000)];
    await drop([{ name: 'stories260K-truncated.bin', bytes: truncated }, tokenizer]);
    const error = page.getByTestId('model-error');
    await error.waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('model-error-file').textContent()).toBe('stories260K-truncated.bin');
    expect(await error.getAttribute('role')).toBe('alert');
    expect(await page.getByTestId('model-summary').count()).toBe(0);
    await screenshot(page, 'file-error');

    // Noise with a nonsensical header (larger than the tokenizer, so it is the checkpoint candidate).
    let s = 12345;
    const noise = Array.from({ length: 16_384 }, () => (s = (s * 1103515245 + 12345) >>> 0) >>> 24);
    await drop([{ name: 'garbage.bin', bytes: noise }, tokenizer]);
    await expect.poll(() => page.getByTestId('model-error-file').textContent(), { timeout: 30_000 }).toBe('garbage.bin');
    expect(await page.getByTestId('model-summary').count()).toBe(0);
    expect(await page.getByTestId('engine-error').count()).toBe(0);
  });

  test('explains what is missing when the page has no navigator.gpu', async () => {
    const w = await studio.open({
      init: async (context) => {
        await context.addInitScript(() => delete (Navigator.prototype as { gpu?: unknown }).gpu);
      },
    });
    const { page } = w;
    const panel = page.getByTestId('webgpu-missing');
    await panel.waitFor({ timeout: 30_000 });
    expect(await panel.getByRole('heading', { level: 2 }).textContent()).toBe('This browser does not offer WebGPU');
    expect(await panel.textContent()).toContain('--enable-unsafe-webgpu');
    expect(await page.getByTestId('webgpu-missing-message').textContent()).toMatch(/^no-api: WebGPU is not available here \(no navigator\.gpu\)/);
    expect(await page.getByTestId('model-panel').count()).toBe(0);
    await screenshot(page, 'webgpu-missing');
  });

  test('explains what is missing when Chromium runs without the WebGPU flags (no adapter)', async () => {
    const plain = await launchChromium({ webgpu: false });
    try {
      const { page } = await studio.open({ browser: plain });
      const panel = page.getByTestId('webgpu-missing');
      await panel.waitFor({ timeout: 30_000 });
      expect(await panel.getByRole('heading', { level: 2 }).textContent()).toBe('WebGPU found no usable GPU adapter');
      expect(await page.getByTestId('webgpu-missing-message').textContent()).toMatch(/^no-adapter: WebGPU found no GPU adapter/);
      expect(await page.getByTestId('engine-status').textContent()).toBe('WebGPU unavailable');
      await screenshot(page, 'webgpu-no-adapter');
      await studio.closeCurrent();
    } finally {
      await plain.close();
    }
  });
});
