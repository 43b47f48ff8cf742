/**
 * The picked files are the model's source (Chromium + SwiftShader): the page posts the Files to the
 * engine without reading them, the engine streams each tensor from its slice, and a second run's fresh
 * copy of the base is read from the same File again. When the file changed on disk in between, the
 * browser refuses the read and the run says which file and what to do; the loaded model and the first
 * run's result are kept.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { exportHfModel } from '../../src/io/export-hf.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { llama2cToTokenizerJson, llama2cTokenizerConfig } from '../../src/io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { readFixture } from '../helpers/fixtures.ts';
import { screenshot } from './harness.ts';
import { CHECKPOINT, TOKENIZER, tinySettings, trainToCompletion, useStudio } from './studio.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'subspace-file-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** stories260K as a BF16 Hugging Face folder on disk; returns the paths to pick. */
function writeFolder(): string[] {
  const weights = parseLlama2c(readFixture(CHECKPOINT), 'stories260K.bin');
  const tok = Llama2cTokenizer.fromBytes(readFixture(TOKENIZER), 'tok512.bin');
  const matrices = new Map([...weights.tensors].filter(([, t]) => t.shape.length === 2).map(([name]) => [name, 'bf16' as const]));
  const files = exportHfModel(weights, llama2cToTokenizerJson(tok), llama2cTokenizerConfig(), matrices);
  for (const [name, bytes] of files) writeFileSync(path.join(dir, name), bytes);
  return ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((n) => path.join(dir, n));
}

const studio = useStudio();

describe('picked files as the model source (Chromium + SwiftShader)', () => {
  test('a second run reads the base from the File again; a file changed on disk is named, the model kept', { timeout: 180_000 }, async () => {
    const picked = writeFolder();
    const { page } = await studio.openWithBuiltIn();
    await page.getByLabel('Model files').setInputFiles(picked);
    await page.locator('[data-testid="model-files-loaded"]', { hasText: 'model.safetensors' }).waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="param-count"]', { hasText: '260,032' }).waitFor({ timeout: 30_000 });

    // Two runs in a row: the second starts from a fresh copy read again from model.safetensors.
    await tinySettings(page, { steps: 2 });
    await trainToCompletion(page, 90_000);
    const first = await page.locator('circle.pt-train title').allTextContents();
    await trainToCompletion(page, 90_000);
    expect(await page.locator('circle.pt-train title').allTextContents()).toEqual(first); // the same base, the same losses

    // The file changes on disk: the next fresh copy cannot be read, and the error names it.
    writeFileSync(picked[1]!, new Uint8Array(1000));
    await page.getByTestId('train-start').click();
    const error = page.getByTestId('run-error');
    await error.waitFor({ timeout: 60_000 });
    const text = (await error.textContent()) ?? '';
    console.log(`after model.safetensors changed on disk: ${text}`);
    expect(text).toContain('model.safetensors');
    expect(text).toContain('load it again');
    // The loaded model stays: its card and generation still work.
    expect(await page.locator('[data-testid="param-count"]').textContent()).toContain('260,032');
    await screenshot(page, 'file-source-changed');
  });
});
