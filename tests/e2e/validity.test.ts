/**
 * What you see is what trains (Chromium + SwiftShader, the built-in model): a field showing an error
 * blocks Start by name while the estimate says which last valid value it is for; a batch whose
 * FFN activation exceeds the GPU's buffer limit is refused (the logits are chunked); "Paste text" left empty blocks Start instead of
 * training the demo the engine still holds, and pasted text is what a 2-step run trains on, with
 * the status exact to the end. Also: the keyboard reaches Start right after the settings, and a
 * link carries the checkpoint and spectra cadence.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadModelFromFiles } from '../../src/io/load-model.ts';
import type { Tokenizer } from '../../src/io/tokenizer.ts';
import { prepareData } from '../../src/train/data.ts';
import { repoRoot } from './harness.ts';
import { useStudio, watchRunStatus } from './studio.ts';

const studio = useStudio();
const BUILT_IN = path.resolve(repoRoot, 'public/models/tinyworld');
let tokenizer: Tokenizer;

beforeAll(async () => {
  const files = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((name) => ({
    name,
    bytes: new Uint8Array(readFileSync(path.join(BUILT_IN, name))),
  }));
  tokenizer = (await loadModelFromFiles(files)).tokenizer!;
});

/** Text in the built-in model's world, several paragraphs (documents) long. */
const PASTED = Array.from(
  { length: 8 },
  (_, i) => `Mira the otter lives by the blue lake. On day ${i + 1} she found a silver key under a stone, and she gave it to her friend Tom.`,
).join('\n\n');

const text = async (page: Page, testId: string) => (await page.getByTestId(testId).textContent()) ?? '';
const startEnabled = (page: Page) => page.getByTestId('train-start').isEnabled();

/** Start is disabled, and both blockers (Train panel, end of the settings) say `message`. */
async function blocked(page: Page, message: string): Promise<void> {
  await expect.poll(() => page.getByTestId('train-blocker').textContent(), { timeout: 10_000 }).toBe(message);
  expect(await page.getByTestId('settings-blocker').textContent()).toBe(message);
  expect(await startEnabled(page)).toBe(false);
  expect(await page.getByTestId('settings-start').isEnabled()).toBe(false);
}

/** Type into a number field as a user does (keystrokes: Chromium drops letters from a number input). */
async function type(page: Page, testId: string, keys: string): Promise<void> {
  const field = page.getByTestId(testId);
  await field.fill('');
  await field.pressSequentially(keys);
}

describe('what the page shows is what trains (Chromium + SwiftShader)', () => {
  test('fields in error block Start by name; the estimate says it is for the last valid value; an oversized batch is refused', { timeout: 240_000 }, async () => {
    const { page } = await studio.openWithBuiltIn();
    // LoRA on q and v: per layer r·(64 + 64) each, 4 layers.
    await page.getByTestId('method-lora').check();
    for (const m of ['q', 'v']) await page.getByTestId(`target-${m}`).check();
    for (const m of ['k', 'o', 'gate', 'up', 'down']) await page.getByTestId(`target-${m}`).uncheck();
    await type(page, 'rank', '8');
    await expect.poll(() => startEnabled(page), { timeout: 30_000 }).toBe(true);
    expect(await text(page, 'trainable-count')).toBe('8,192');

    // Rank 0: the field, Start's blocker and the estimate all say what is going on.
    await type(page, 'rank', '0');
    expect(await text(page, 'rank-error')).toBe('At least 1.');
    await blocked(page, 'Rank: At least 1.');
    expect(await text(page, 'trainable-count')).toBe('8,192');
    expect(await text(page, 'budget-stale')).toBe('These numbers are for rank 8, the last valid value.');
    // A valid rank: the estimate follows it, and nothing is stale.
    await type(page, 'rank', '4');
    expect(await text(page, 'trainable-count')).toBe('4,096');
    expect(await page.getByTestId('budget-stale').count()).toBe(0);
    await expect.poll(() => startEnabled(page)).toBe(true);

    // lr "abc": a number input keeps no letters, so the field is empty — and says so.
    await type(page, 'lr', 'abc');
    expect(await page.getByTestId('lr').inputValue()).toBe('');
    expect(await text(page, 'lr-error')).toBe('Enter a number.');
    await blocked(page, 'Learning rate: Enter a number.');
    await type(page, 'lr', '-1');
    await blocked(page, 'Learning rate: More than 0.');
    await type(page, 'lr', '0.01');
    await expect.poll(() => startEnabled(page)).toBe(true);

    // Each of the cases, one at a time, then fixed.
    const cases: [string, string, string, string][] = [
      ['steps', '0', 'Steps: At least 1.', '2'],
      ['dropout', '1.5', 'Dropout: At most 0.99.', '0'],
      ['alpha', '-3', 'Alpha: More than 0.', '16'],
    ];
    for (const [field, bad, message, good] of cases) {
      await type(page, field, bad);
      await blocked(page, message);
      await type(page, field, good);
      await expect.poll(() => startEnabled(page), { timeout: 10_000 }).toBe(true);
    }
    // Two fields in error: the first one to go wrong is named; fixing it names the other.
    await type(page, 'steps', '0');
    await type(page, 'rank', '0');
    await blocked(page, 'Steps: At least 1.');
    await type(page, 'steps', '2');
    await blocked(page, 'Rank: At least 1.');
    await type(page, 'rank', '4');
    await expect.poll(() => startEnabled(page)).toBe(true);

    // A batch whose FFN activation (batch × 64 × FFN 172 × 4 bytes) exceeds what Chromium's SwiftShader allows in one
    // buffer (1 GiB); the logits are cut into 64 MiB row chunks, so they never do. 2³⁰ / (64 · 688) = 24,385.6.
    const limits = await page.evaluate(() => (window as unknown as { subspace: { store: { getState(): { adapter: { limits: Record<string, number> } } } } }).subspace.store.getState().adapter.limits);
    expect(Math.min(limits.maxBufferSize!, limits.maxStorageBufferBindingSize!)).toBe(1024 ** 3);
    await type(page, 'seq', '64');
    await type(page, 'batch', '30000');
    const tooBig = 'a step of 30000 × 64 tokens needs a 1.2 GiB FFN activation buffer, more than this GPU allows in one buffer (1.0 GiB): use a batch of at most 24385.';
    expect(await text(page, 'batch-error')).toBe(tooBig);
    await blocked(page, `Batch: ${tooBig}`);
    await type(page, 'batch', '24385');
    expect(await page.getByTestId('batch-error').count()).toBe(0);
    await expect.poll(() => startEnabled(page), { timeout: 30_000 }).toBe(true);
  });

  test('"Paste text" left empty blocks Start; pasted text is what the summary counts and what a 2-step run trains on', { timeout: 300_000 }, async () => {
    const { page } = await studio.openWithBuiltIn();
    expect(await text(page, 'data-file')).toMatch(/\(JSONL\)$/); // a demo is the data
    await page.getByTestId('data-mode-paste').check();
    // The demo the engine still holds is neither shown nor trained.
    expect(await text(page, 'paste-empty')).toBe('Paste some text to train on.');
    expect(await page.getByTestId('data-summary').count()).toBe(0);
    await blocked(page, 'Paste some text to train on.');
    await page.getByTestId('paste-text').fill('   \n\n  ');
    await blocked(page, 'Paste some text to train on.');
    expect(await page.getByTestId('paste-use').isDisabled()).toBe(true);

    await page.getByTestId('paste-text').fill(PASTED);
    expect(await page.getByTestId('paste-empty').count()).toBe(0);
    await blocked(page, 'Click Tokenise to train on the pasted text.');
    // 2 steps of 1 × 32 tokens, one eval at the end.
    await type(page, 'steps', '2');
    await type(page, 'batch', '1');
    await type(page, 'seq', '32');
    await type(page, 'eval-every', '0');
    await page.getByTestId('paste-use').click();
    await page.getByText('Windows of 32 tokens', { exact: false }).waitFor({ timeout: 30_000 });
    const expected = prepareData('pasted.txt', PASTED, tokenizer, { seqLen: 32, evalFraction: 0.1, seed: 0, format: 'text' }).stats;
    expect(await text(page, 'data-file')).toBe('pasted.txt (plain text)');
    expect(await text(page, 'data-records')).toBe('8');
    expect(Number((await text(page, 'data-tokens')).replace(/,/g, ''))).toBe(expected.tokens);
    await expect.poll(() => startEnabled(page), { timeout: 30_000 }).toBe(true);

    // Editing the text after tokenising: what is shown is no longer what would train.
    await page.getByTestId('paste-text').fill(`${PASTED}\n\nThe end.`);
    await blocked(page, 'The pasted text changed since it was tokenised: click Tokenise to train on it.');
    await page.getByTestId('paste-text').fill(PASTED);
    await expect.poll(() => startEnabled(page)).toBe(true);

    // Every status the run shows, to see the finishing phase and the last word.
    const statusSeen = await watchRunStatus(page);
    await page.getByTestId('train-start').click();
    await page.locator('[data-testid="run-result"][data-reason="completed"]').waitFor({ timeout: 240_000 });
    // The engine says what it trained on: the pasted text, every token of it.
    expect(await text(page, 'run-data')).toBe(`pasted.txt (${expected.tokens.toLocaleString('en-US')} tokens)`);
    expect(await text(page, 'progress-step')).toBe('2');
    expect(await page.getByTestId('progress-eta').count()).toBe(0);
    const seen = await statusSeen();
    expect(seen).toContain('Running');
    expect(seen).toContain('Finishing (final eval, spectra, checkpoint)');
    expect(seen.indexOf('Finishing (final eval, spectra, checkpoint)')).toBeGreaterThan(seen.indexOf('Running'));
    expect(seen.at(-1)).toBe('Finished');
    expect(await page.getByTestId('run-status').getAttribute('data-state')).toBe('finished');
    expect(await page.getByTestId('data-preparing').count()).toBe(0); // no stale "Tokenising…"

    // Back to the demos: the demo chosen before is the data again.
    await page.getByTestId('data-mode-demo').check();
    await expect.poll(() => text(page, 'data-file'), { timeout: 30_000 }).toMatch(/\.jsonl \(JSONL\)$/);
    await expect.poll(() => startEnabled(page), { timeout: 30_000 }).toBe(true);
  });

  test('paused shows no ETA; a stopped run says "Stopping (final eval, checkpoint)", then "Stopped"', { timeout: 300_000 }, async () => {
    const { page } = await studio.openWithBuiltIn();
    await type(page, 'steps', '200');
    await type(page, 'batch', '1');
    await type(page, 'seq', '32');
    await type(page, 'eval-every', '0');
    await page.getByText('Windows of 32 tokens', { exact: false }).waitFor({ timeout: 30_000 });
    await expect.poll(() => startEnabled(page), { timeout: 30_000 }).toBe(true);
    const statusSeen = await watchRunStatus(page);
    await page.getByTestId('settings-start').click(); // the Start at the end of the settings starts the run too
    await page.getByTestId('progress-eta').waitFor({ timeout: 120_000 });
    await page.getByTestId('train-pause').click();
    await page.locator('[data-testid="run-status"][data-state="paused"]').waitFor({ timeout: 60_000 });
    expect(await text(page, 'run-status')).toBe('Paused');
    expect(await page.getByTestId('progress-eta').count()).toBe(0);
    await page.getByTestId('train-stop').click();
    await page.locator('[data-testid="run-result"][data-reason="stopped"]').waitFor({ timeout: 120_000 });
    expect(await text(page, 'run-status')).toBe('Stopped');
    const seen = await statusSeen();
    // Stop is asked for, then the engine says what it does between the last step and the end.
    expect(seen.slice(-4)).toEqual(['Paused', 'Stopping', 'Stopping (final eval, checkpoint)', 'Stopped']);
  });

  test('the keyboard: Start right after the settings, no paper links between the method radios, short names', { timeout: 240_000 }, async () => {
    const { page } = await studio.openWithBuiltIn();
    await page.getByTestId('method-lora').check();
    await page.getByTestId('method-lora').focus();
    // One Tab leaves the radio group for the first setting (the papers come after the settings).
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('rank');
    // From the last field shown: the recompute checkbox, "More settings", then Start.
    await page.getByTestId('eval-every').focus();
    const stops: string[] = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      stops.push(await page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.textContent ?? ''));
    }
    expect(stops).toEqual(['recompute', 'More settings', 'settings-start']);
    // The papers come after Start and Copy link.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('copy-link');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('paper-full');
    // Accessible names are the labels; what the rows say is their description.
    expect(await page.getByRole('radio', { name: 'LoRA', exact: true }).count()).toBe(1);
    expect(await page.getByRole('spinbutton', { name: 'Rank r', exact: true }).count()).toBe(1);
    expect(await page.getByRole('spinbutton', { name: 'Batch', exact: true }).getAttribute('aria-describedby')).not.toBeNull();
    const firstDemo = page.locator('[data-testid^="demo-"]').first();
    const title = await firstDemo.getAttribute('aria-label');
    expect(title).not.toBeNull();
    expect(await page.getByRole('radio', { name: title!, exact: true }).count()).toBe(1);
    expect(await page.getByTestId('paper-lora').getAttribute('href')).toBe('https://arxiv.org/abs/2106.09685');
  });

  test('a link carries checkpoint-every and spectra-every; editing them rewrites the address', { timeout: 120_000 }, async () => {
    const { page } = await studio.open({ query: '?checkpointEvery=3&spectraEvery=2' });
    await page.getByTestId('run-panel').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('url-error').count()).toBe(0);
    expect(await page.getByTestId('checkpoint-every').inputValue()).toBe('3');
    await page.getByTestId('spectra-every').waitFor({ timeout: 90_000 }); // the spectrum panel shows once a model is in
    expect(await page.getByTestId('spectra-every').inputValue()).toBe('2');
    await page.getByTestId('checkpoint-every').fill('0');
    const param = (name: string) => page.evaluate((n) => new URLSearchParams(location.search).get(n), name);
    await expect.poll(() => param('checkpointEvery'), { timeout: 5_000 }).toBe('0');
    expect(await param('spectraEvery')).toBe('2');
  });
});
