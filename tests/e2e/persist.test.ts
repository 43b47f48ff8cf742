/**
 * Runs kept in the browser (Chromium + SwiftShader, the built-in model): a reload mid-run finds the
 * run interrupted with its last checkpoint, and Resume continues it — the losses up to the
 * checkpoint come back, and the first step after it repeats the loss it had before the reload
 * exactly (same batches, dropout and optimizer state). A stopped run can be deleted. A completed run
 * comes back after a reload in the compare list and loads as the fine-tuned model again. With the
 * site's storage quota forced to almost nothing (Chrome DevTools Protocol), the failed saves are
 * explained in the run panel while training goes on.
 */
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { screenshot } from './harness.ts';
import { pickStories, tinySettings, trainPoints, useStudio, waitForBuiltIn } from './studio.ts';

const studio = useStudio();


/** `steps` LoRA steps of batch 2 × 32 tokens, eval only at the end over one batch, checkpoints every `every`. */
const settings = (page: Page, steps: number, every: number) => tinySettings(page, { steps, batch: 2, checkpointEvery: every });

/**
 * A 200-step run on the built-in model with a checkpoint every `every` steps, started and watched
 * past its first checkpoint until it has drawn `minSteps` steps (steps after the checkpoint that a
 * reload or a lost device will lose).
 */
async function runPastCheckpoint(page: Page, every: number, minSteps: number): Promise<void> {
  await waitForBuiltIn(page);
  await settings(page, 200, every);
  await page.getByTestId('train-start').click();
  await expect.poll(async () => Number(await page.getByTestId('run-saved').getAttribute('data-step').catch(() => '0')), { timeout: 240_000 }).toBeGreaterThanOrEqual(every);
  await expect.poll(async () => (await trainPoints(page)).length, { timeout: 120_000 }).toBeGreaterThanOrEqual(minSteps);
}

/**
 * Once resumed from `checkpoint`: trained past both the checkpoint (two steps) and every step drawn
 * before the interruption, then stopped. Every step drawn before comes back identical: those up to
 * the checkpoint from storage, the later ones (lost with the page or the device) trained again.
 */
async function stopAndCompare(page: Page, before: string[], checkpoint: number): Promise<string[]> {
  const needed = Math.max(checkpoint + 2, before.length);
  // The chart shows the interrupted run's points until the resumed one has started: wait for it first.
  await expect.poll(() => page.getByTestId('run-status').getAttribute('data-state'), { timeout: 120_000 }).toBe('running');
  await expect.poll(async () => (await trainPoints(page)).length, { timeout: 240_000 }).toBeGreaterThanOrEqual(needed);
  await page.getByTestId('train-stop').click();
  await page.locator('[data-testid="run-result"][data-reason="stopped"]').waitFor({ timeout: 120_000 });
  const after = await trainPoints(page);
  expect(after.slice(0, before.length)).toEqual(before);
  return after;
}

describe('runs kept in the browser (Chromium + SwiftShader)', () => {
  test('a reload mid-run leaves the run interrupted at its checkpoint; Resume continues it exactly; a stopped run can be deleted', { timeout: 480_000 }, async () => {
    const { page } = await studio.open();
    // Past a checkpoint, with steps after it that the reload will lose.
    await runPastCheckpoint(page, 2, 4);
    const before = await trainPoints(page);
    await page.reload();

    const row = page.locator('[data-testid="saved-run"][data-status="interrupted"]');
    await row.waitFor({ timeout: 90_000 });
    const state = (await row.getByTestId('saved-run-state').textContent()) ?? '';
    const checkpoint = Number(/checkpoint at step (\d+) of 200/.exec(state)?.[1]);
    expect(checkpoint).toBeGreaterThanOrEqual(2);
    expect(checkpoint % 2).toBe(0); // the page may have checkpointed again after the chart was read
    await screenshot(page, 'saved-runs-interrupted');

    const runId = await row.getAttribute('data-run-id');
    // The Train panel points at it too, with Resume at hand.
    const notice = page.getByTestId('interrupted-notice');
    expect(await notice.getAttribute('data-run-id')).toBe(runId);
    expect(await notice.textContent()).toContain(`checkpoint at step ${checkpoint} of 200 is saved`);
    await page.getByTestId('resume-interrupted').click();
    await notice.waitFor({ state: 'detached', timeout: 60_000 });
    // The metrics up to the checkpoint came back, and the steps after it repeat what they were.
    const after = await stopAndCompare(page, before, checkpoint);
    console.log(`checkpoint at step ${checkpoint}; ${before.length} steps seen before the reload; repeated after it: ${after.slice(checkpoint, before.length).join(', ') || 'none'}`);
    await screenshot(page, 'resumed-run');

    const stopped = page.locator(`[data-testid="saved-run"][data-run-id="${runId}"]`);
    await expect.poll(() => stopped.getAttribute('data-status'), { timeout: 30_000 }).toBe('stopped');
    expect(await page.getByTestId('storage-use').textContent()).toMatch(/This site uses .+ of the .+ the browser allows it/);
    await page.getByTestId(`delete-run-${runId}`).click();
    await expect.poll(() => stopped.count(), { timeout: 30_000 }).toBe(0);
  });

  test('a run on a model loaded from disk: Resume asks for its files, then resumes once they are loaded', { timeout: 480_000 }, async () => {
    const page = await studio.openWithStories();
    await tinySettings(page, { steps: 200, batch: 2, checkpointEvery: 2 });
    await page.getByTestId('train-start').click();
    await expect.poll(async () => Number(await page.getByTestId('run-saved').getAttribute('data-step').catch(() => '0')), { timeout: 240_000 }).toBeGreaterThanOrEqual(2);
    const before = await trainPoints(page);
    await page.reload(); // the built-in model loads again: not the run's model

    const row = page.locator('[data-testid="saved-run"][data-status="interrupted"]');
    await row.waitFor({ timeout: 90_000 });
    await page.getByTestId('model-card').waitFor({ timeout: 90_000 });
    const checkpoint = Number(/checkpoint at step (\d+) of 200/.exec((await row.getByTestId('saved-run-state').textContent()) ?? '')?.[1]);
    await page.getByTestId('resume-interrupted').click();
    const error = page.getByTestId('run-error');
    await error.waitFor({ timeout: 60_000 });
    expect(await error.textContent()).toMatch(/trained stories260K\.bin \+ tok512\.bin: to resume it, load stories260K\.bin \+ tok512\.bin \(the files it trained on\) first\./);

    await pickStories(page);
    await page.getByTestId('resume-interrupted').click();
    await stopAndCompare(page, before, checkpoint);
  });

  test('a lost GPU device mid-run keeps the last checkpoint; after restarting the engine the run resumes from it', { timeout: 480_000 }, async () => {
    const { page } = await studio.open();
    await runPastCheckpoint(page, 2, 3);
    // A real loss of the device (destroyed, as a driver reset would), through the dev server's engine handle.
    await page.evaluate(() => (window as unknown as { subspace: { engine: { request(c: { type: string }): { result: Promise<unknown> } } } }).subspace.engine.request({ type: 'loseDevice' }).result);
    const banner = page.getByTestId('engine-error');
    await banner.waitFor({ timeout: 60_000 });
    expect(await banner.textContent()).toMatch(/GPU device was lost.*keeps its last checkpoint/);
    await page.getByTestId('run-error').waitFor({ timeout: 60_000 });
    const before = await trainPoints(page);
    await screenshot(page, 'device-lost');

    await page.getByTestId('engine-restart').click();
    await banner.waitFor({ state: 'detached', timeout: 60_000 });
    const row = page.locator('[data-testid="saved-run"][data-status="failed"]');
    await row.waitFor({ timeout: 60_000 });
    const checkpoint = Number(/checkpoint at step (\d+) of 200/.exec((await row.getByTestId('saved-run-state').textContent()) ?? '')?.[1]);
    expect(checkpoint).toBeGreaterThanOrEqual(2);
    const resume = page.getByTestId(`resume-run-${await row.getAttribute('data-run-id')}`);
    await expect.poll(() => resume.isEnabled(), { timeout: 60_000 }).toBe(true);
    await resume.click();
    await stopAndCompare(page, before, checkpoint);
    console.log(`device lost after ${before.length} steps; resumed from step ${checkpoint}; steps ${checkpoint + 1}–${before.length} trained again identically`);
  });

  test('a completed run is kept: after a reload it is in the compare list, and Load makes it the fine-tuned model again', { timeout: 480_000 }, async () => {
    const { page } = await studio.openWithBuiltIn();
    await tinySettings(page, { steps: 3, batch: 2, checkpointEvery: 0, lr: '0.05' });
    await page.getByTestId('train-start').click();
    await page.locator('[data-testid="run-result"][data-reason="completed"]').waitFor({ timeout: 240_000 });
    /** Base and fine-tuned greedy continuations of one prompt, side by side. */
    const compare = async (): Promise<[string, string]> => {
      await page.getByTestId('prompt').fill('Rosa');
      await page.getByTestId('max-tokens').fill('16');
      await page.getByTestId('compare-start').click();
      await page.locator('[data-testid="compare-outputs"][data-state="idle"]').waitFor({ timeout: 120_000 });
      return [(await page.getByTestId('compare-base').textContent()) ?? '', (await page.getByTestId('compare-tuned').textContent()) ?? ''];
    };
    const [base, tuned] = await compare();
    expect(tuned).not.toBe(base); // lr 0.05 moves the greedy text
    const finishedId = await page.locator('[data-testid="saved-run"][data-status="completed"]').getAttribute('data-run-id');
    const tickedBefore = await page.getByTestId(`compare-run-${finishedId}`).isChecked();
    await page.reload();

    const row = page.locator('[data-testid="saved-run"][data-status="completed"]');
    await row.waitFor({ timeout: 90_000 });
    const runId = await row.getAttribute('data-run-id');
    // Listed for comparison, ticked as it was before the reload (Compare's ticks are kept).
    expect(await page.getByTestId(`compare-run-${runId}`).isChecked()).toBe(tickedBefore);
    const load = page.getByTestId(`resume-run-${runId}`);
    expect(await load.textContent()).toContain('Load');
    await expect.poll(() => load.isEnabled(), { timeout: 60_000 }).toBe(true);
    await load.click();
    await page.locator('[data-testid="run-result"][data-reason="completed"]').waitFor({ timeout: 120_000 });
    expect(await trainPoints(page)).toHaveLength(3); // the run's metrics, not a new run
    expect(await compare()).toEqual([base, tuned]);
    expect(await page.getByTestId('export-peft').isEnabled()).toBe(true);
  });

  test('two tabs training at once get different run ids; a run live in the other tab is not offered for resume', { timeout: 480_000 }, async () => {
    const { page, context } = await studio.open();
    const other = await context.newPage(); // same origin and profile: the same IndexedDB
    await other.goto(studio.url);
    await waitForBuiltIn(page);
    await settings(page, 1, 0);
    await waitForBuiltIn(other);
    await settings(other, 200, 0);
    await Promise.all([page.getByTestId('train-start').click(), other.getByTestId('train-start').click()]);
    await page.locator('[data-testid="run-result"][data-reason="completed"]').waitFor({ timeout: 240_000 });
    // This tab's list (read when its run ended) shows the other tab's run as live there: no Resume.
    const live = page.locator('[data-testid="saved-run"][data-status="elsewhere"]');
    await live.waitFor({ timeout: 60_000 });
    expect(await live.getByTestId('saved-run-state').textContent()).toMatch(/^Training in another tab/);
    const otherId = await live.getAttribute('data-run-id');
    expect(await page.getByTestId(`resume-run-${otherId}`).count()).toBe(0);
    expect(await page.getByTestId(`delete-run-${otherId}`).isDisabled()).toBe(true);
    await other.getByTestId('train-stop').click();
    await other.locator('[data-testid="run-result"][data-reason="stopped"]').waitFor({ timeout: 120_000 });
    await other.close();
    await page.reload();
    const rows = page.locator('[data-testid="saved-run"]');
    await expect.poll(() => rows.count(), { timeout: 90_000 }).toBe(2);
    const byStatus = Object.fromEntries(await rows.evaluateAll((els) => els.map((e) => [e.getAttribute('data-status'), e.getAttribute('data-run-id')])));
    expect(byStatus.stopped).toBe(otherId);
    expect(byStatus.completed).toMatch(/^\d+$/);
    expect(byStatus.completed).not.toBe(otherId); // two runs, two ids: neither overwrote the other
  });

  test('a storage quota too small for checkpoints is explained, and training goes on', { timeout: 480_000 }, async () => {
    const { page, context } = await studio.open();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(studio.url).origin, quotaSize: 1 });
    await waitForBuiltIn(page);
    await settings(page, 2, 1);
    await page.getByTestId('train-start').click();
    const problem = page.getByTestId('storage-problem');
    await problem.waitFor({ timeout: 240_000 });
    expect(await problem.getAttribute('data-code')).toBe('quota');
    expect(await problem.textContent()).toMatch(/Browser storage is full: .* could not be saved\..*Delete saved runs/);
    await page.locator('[data-testid="run-result"][data-reason="completed"]').waitFor({ timeout: 240_000 });
    expect(await trainPoints(page)).toHaveLength(2);
    await screenshot(page, 'storage-full');
  });
});
