/**
 * GPU memory before Start on the built-in model (Chromium + SwiftShader): the "Save memory: recompute
 * activations" checkbox changes the estimate and travels in the link; under a GPU memory budget the
 * stored-activation run exceeds but a recomputing one fits, the studio turns recompute on by itself and
 * says so; under a budget nothing alone fits but a smaller batch, the warning says by how much and
 * what to change, and Start stays enabled (a budget is a guess).
 */
import { describe, expect, test } from 'vitest';
import { screenshot } from './harness.ts';
import { useStudio } from './studio.ts';

const studio = useStudio();
const MiB = 1024 * 1024;

/** "9.3 MiB" → bytes. */
function parseBytes(text: string | null): number {
  const m = /([\d.]+)\s*(B|KiB|MiB|GiB)/.exec(text ?? '');
  if (!m) throw new Error(`no byte size in "${text}"`);
  return Number(m[1]) * 1024 ** ['B', 'KiB', 'MiB', 'GiB'].indexOf(m[2]!);
}

describe('memory budget and recompute (Chromium + SwiftShader)', () => {
  test('the checkbox, the link, the automatic choice under a budget and the warning before Start', { timeout: 120_000 }, async () => {
    const { page } = await studio.openWithBuiltIn();
    const box = page.getByTestId('recompute');
    const note = page.getByTestId('recompute-note');
    const estimate = () => page.getByTestId('memory-estimate').textContent().then(parseBytes);

    // The default 4096 MiB budget: the studio leaves it off.
    expect(await box.isChecked()).toBe(false);
    expect(await note.getAttribute('data-auto')).toBe('true');
    const stored = await estimate();

    // The user's choice: less memory, in the link as recompute=1, kept over a reload.
    await box.check();
    await expect.poll(estimate).toBeLessThan(stored);
    const recomputed = await estimate();
    expect(await note.getAttribute('data-auto')).toBe('false');
    await expect.poll(() => page.url()).toContain('recompute=1');
    await page.reload();
    await page.getByTestId('memory-estimate').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('recompute').isChecked()).toBe(true);

    // Back to automatic, with a budget between the two estimates: turned on by the studio, and said so.
    await page.getByTestId('recompute-auto').click();
    await expect.poll(() => box.isChecked()).toBe(false);
    await page.getByText('More settings').click();
    const between = Math.ceil(recomputed / MiB);
    expect(between * MiB).toBeLessThan(stored);
    await page.getByTestId('gpu-budget').fill(String(between));
    await page.getByTestId('gpu-budget').blur();
    await expect.poll(() => box.isChecked()).toBe(true);
    expect(await note.textContent()).toContain(`Turned on automatically: storing the activations needs ≈ `);
    expect(await note.textContent()).toContain(`more than the ${between}.0 MiB budget`);
    await expect.poll(() => page.url()).toContain('recompute=auto');
    expect(await page.getByTestId('memory-warning').count()).toBe(0);

    // A budget under even the recomputing run: the warning says by how much and what fits; Start is not blocked.
    const under = Math.floor(recomputed / MiB) - 1;
    await page.getByTestId('gpu-budget').fill(String(under));
    await page.getByTestId('gpu-budget').blur();
    const warning = page.getByTestId('memory-warning');
    await warning.waitFor({ timeout: 10_000 });
    const text = (await warning.textContent()) ?? '';
    expect(text).toMatch(new RegExp(`^This run needs ≈ [\\d.]+ MiB of GPU memory, [\\d.]+ (KiB|MiB) more than the ${under}\\.0 MiB budget\\. `));
    expect(text).toMatch(/To fit, use a batch of \d+ \(≈ [\d.]+ (KiB|MiB)\)/);
    expect(parseBytes(/needs ≈ ([\d.]+ MiB)/.exec(text)![1]!)).toBeCloseTo(await estimate(), -6);
    await expect.poll(() => page.getByTestId('settings-start').isEnabled(), { timeout: 30_000 }).toBe(true);
    await screenshot(page, 'memory-budget-warning');
  });
});
