/**
 * Importing an adapter in the studio (Chromium + SwiftShader), on stories260K loaded through the file
 * picker: a 2-step LoRA run's greedy continuation is recorded, its peft zip downloaded, the page
 * reloaded (the engine starts empty), the model loaded again and the zip imported through the
 * "Adapter files" input — the same prompt then gives the same text, token for token, and base vs
 * fine-tuned still separates the two. A garbage file is refused with an error naming it, and leaves
 * the imported adapter in use. A MoRA adapter's loose files import the same way. Runs stay tiny
 * (batch 1, 32-token windows, 2 steps).
 */
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { readZip } from '../../src/io/zip.ts';
import { GOLDEN_TEXT } from '../helpers/fixtures.ts';
import { screenshot } from './harness.ts';
import { download, loadStories, tinySettings, trainToCompletion, useStudio } from './studio.ts';

const PROMPT = 'Once upon a time';
const MAX_TOKENS = '24';

const studio = useStudio();

async function fill(page: Page, testId: string, value: string): Promise<void> {
  await page.getByTestId(testId).fill(value);
}

/** Greedy generation of MAX_TOKENS tokens after PROMPT; the output text once done. */
async function generate(page: Page): Promise<string> {
  await page.getByTestId('prompt').fill(PROMPT);
  await fill(page, 'max-tokens', MAX_TOKENS);
  await fill(page, 'temperature', '0');
  await page.getByTestId('generate').click();
  await page.locator('[data-testid="generate-status"][data-state="done"]').waitFor({ timeout: 120_000 });
  return page.getByTestId('output').evaluate((el) => el.textContent ?? '');
}

/** Base vs fine-tuned with the generate panel's settings: both texts. */
async function compare(page: Page): Promise<{ base: string; tuned: string }> {
  await page.getByTestId('compare-start').click();
  await page.locator('[data-testid="compare-outputs"][data-state="idle"]').waitFor({ timeout: 120_000 });
  return {
    base: (await page.getByTestId('compare-base').textContent()) ?? '',
    tuned: (await page.getByTestId('compare-tuned').textContent()) ?? '',
  };
}

/** 2 steps of 1 × 32 tokens; a large learning rate so the adapter visibly changes the greedy text. */
async function tinyRun(page: Page): Promise<void> {
  await tinySettings(page, { steps: 2, lr: '0.05' });
  await trainToCompletion(page);
}

describe('importing an adapter (Chromium + SwiftShader)', () => {
  test('an exported peft zip imported after a reload generates the same text; a garbage file is refused by name', { timeout: 480_000 }, async () => {
    const page = await studio.openWithStories();

    await tinyRun(page);

    const trained = await generate(page);
    expect(trained.startsWith(PROMPT)).toBe(true);
    expect(trained.length).toBeGreaterThan(PROMPT.length + 10);
    const before = await compare(page);
    expect(before.tuned).toBe(trained);
    // The base side is stories260K's published greedy sample; the adapter moved the text away from it.
    expect(GOLDEN_TEXT.startsWith(before.base)).toBe(true);
    expect(before.tuned).not.toBe(before.base);

    const { name: zipName, bytes } = await download(page, 'export-peft');
    expect(zipName).toMatch(/^subspace-lora-adapter-run\d+\.zip$/);
    const zip = Buffer.from(bytes);
    expect(readZip(new Uint8Array(zip)).map((e) => e.name).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);

    // A fresh page: the engine knows nothing of the run.
    await page.reload();
    await loadStories(page);
    expect(await page.getByTestId('imported-adapter').count()).toBe(0);
    expect(await generate(page)).toBe(before.base);

    const input = page.getByLabel('Adapter files');
    expect(await input.getAttribute('accept')).toBe('.zip,.json,.safetensors');
    await input.setInputFiles({ name: zipName, mimeType: 'application/zip', buffer: zip });
    const summary = page.getByTestId('imported-adapter');
    await summary.waitFor({ timeout: 60_000 });
    expect(await summary.getAttribute('data-method')).toBe('lora');
    expect(await page.getByTestId('imported-method').textContent()).toBe('LoRA');
    expect(await page.getByTestId('imported-rank').textContent()).toBe('8');
    expect(await page.getByTestId('imported-alpha').textContent()).toBe('16');
    expect(await page.getByTestId('imported-targets').textContent()).toBe('q_proj, v_proj');
    expect(await page.getByTestId('imported-modules').textContent()).toBe('10');
    expect(await page.getByTestId('imported-trainable').textContent()).toBe('8,960');
    expect(await page.getByTestId('imported-files').textContent()).toContain(`${zipName}/adapter_model.safetensors`);
    expect(await page.getByTestId('imported-warning').count()).toBe(0); // saved for the same model name
    expect(await page.getByTestId('generate-model').textContent()).toMatch(/^With the imported LoRA adapter\./);
    expect(await page.getByTestId('export-peft').isEnabled()).toBe(true); // it exports like a run's adapter

    // The same prompt and settings give the same text, token for token; base vs fine-tuned as before.
    expect(await generate(page)).toBe(trained);
    expect(await compare(page)).toEqual(before);
    await screenshot(page, 'adapter-imported');

    // Garbage bytes named like an archive: refused by name; the imported adapter stays in use.
    await input.setInputFiles({ name: 'garbage.zip', mimeType: 'application/zip', buffer: Buffer.from('this is not a zip archive\n'.repeat(4)) });
    const error = page.getByTestId('import-error');
    await error.waitFor({ timeout: 60_000 });
    expect(await error.getAttribute('role')).toBe('alert');
    expect(await page.getByTestId('import-error-file').textContent()).toBe('garbage.zip');
    expect(await error.textContent()).toContain('cannot be read as a ZIP archive');
    expect(await error.textContent()).toContain('The current fine-tuned model is unchanged.');
    expect(await page.getByTestId('imported-adapter').count()).toBe(1);
    expect(await generate(page)).toBe(trained);
    await screenshot(page, 'adapter-import-error');
    expect(await page.getByTestId('engine-error').count()).toBe(0);
  });

  test('a MoRA adapter imported as loose files after a reload generates the same text', { timeout: 480_000 }, async () => {
    const page = await studio.openWithStories();
    await page.getByTestId('method-mora').check();
    await tinyRun(page);
    const trained = await generate(page);
    expect(trained).not.toBe(GOLDEN_TEXT.slice(0, trained.length)); // M moved off its zero start

    const entries = readZip((await download(page, 'export-mora')).bytes);
    expect(entries.map((e) => e.name).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);

    await page.reload();
    await loadStories(page);
    // The two files of the zip, picked loose.
    await page.getByLabel('Adapter files').setInputFiles(entries.map((e) => ({ name: e.name, mimeType: 'application/octet-stream', buffer: Buffer.from(e.bytes) })));
    await page.getByTestId('imported-adapter').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('imported-adapter').getAttribute('data-method')).toBe('mora');
    expect(await page.getByTestId('imported-method').textContent()).toBe('MoRA');
    expect(await page.getByTestId('imported-mora-type').textContent()).toBe('6');
    // r̂ = even ⌊√((in + out)·8) + ½⌋: q 32² + v 28² per layer, 5 layers: the studio's 9,040.
    expect(await page.getByTestId('imported-trainable').textContent()).toBe('9,040');
    expect(await page.getByTestId('imported-files').textContent()).toContain('adapter_config.json, adapter_model.safetensors');
    expect(await page.getByTestId('export-mora').isEnabled()).toBe(true);
    expect(await generate(page)).toBe(trained);
    await screenshot(page, 'adapter-imported-mora');
  });
});
