/**
 * Uploaded training data in the studio (Chromium + SwiftShader, stories260K): a file that is not
 * UTF-8 is refused with the offset of its first invalid byte, a JSONL file lists every bad line,
 * a record of megabytes is cut (with the warning naming the line and what was dropped) and the
 * warnings list says how many it left out. Nothing trains while the data is refused.
 */
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { useStudio } from './studio.ts';

const studio = useStudio();

/** Upload `bytes` as `name` through the data panel's file input. */
async function upload(page: Page, name: string, bytes: Buffer): Promise<void> {
  await page.getByTestId('data-upload').setInputFiles({ name, mimeType: 'application/octet-stream', buffer: bytes });
}

const errorText = (page: Page) => page.getByTestId('data-error-message').textContent();

describe('uploaded training data (Chromium + SwiftShader)', () => {
  test('non-UTF-8 files are refused with the offset, every bad line is listed, huge records are cut', { timeout: 300_000 }, async () => {
    const page = await studio.openWithStories();
    await page.getByTestId('seq').fill('32');
    await page.getByText('Windows of 32 tokens', { exact: false }).waitFor({ timeout: 30_000 });
    await page.getByTestId('data-mode-file').check();

    // A lone 0xFF after 25 bytes of text, on line 3.
    await upload(page, 'notes.txt', Buffer.concat([Buffer.from('line one\nline two, café\n'), Buffer.from([0xff]), Buffer.from(' more\n')]));
    await expect.poll(() => errorText(page), { timeout: 30_000 }).toBe('notes.txt is not UTF-8 text: invalid byte 0xFF at offset 25 (line 3)');
    expect(await page.getByTestId('data-summary').count()).toBe(0);
    expect(await page.getByTestId('train-start').isDisabled()).toBe(true);

    // Saved as UTF-16 by a Windows editor.
    await upload(page, 'story.txt', Buffer.from('\ufeffOnce upon a time.', 'utf16le'));
    await expect.poll(() => errorText(page), { timeout: 30_000 }).toBe(
      'story.txt looks like UTF-16 text (little-endian, byte-order mark 0xFF 0xFE), not UTF-8: save it as UTF-8 and load it again',
    );
    expect(await page.getByTestId('train-start').isDisabled()).toBe(true);

    // Three bad lines: each listed with its line, field and what is wrong.
    const bad = ['{"text": "fine"}', '{"text": 3}', '{"prompt": "a"}', '{"text": "also fine"}', '{"txt": "x"}'].join('\n');
    await upload(page, 'bad.jsonl', Buffer.from(bad));
    await expect.poll(() => errorText(page), { timeout: 30_000 }).toBe('bad.jsonl has 3 bad lines:');
    expect(await page.getByTestId('data-problem').allTextContents()).toEqual([
      'line 2, field text: field "text" must be a string, got number',
      'line 3, field completion: missing field "completion"',
      'line 5, field text: missing field "text" (or "prompt" and "completion")',
    ]);
    expect(await page.getByTestId('data-problems-more').count()).toBe(0);
    expect(await page.getByTestId('train-start').isDisabled()).toBe(true);

    // 26 bad lines: 20 listed, the rest counted.
    await upload(page, 'many.jsonl', Buffer.from(Array.from({ length: 26 }, (_, i) => `{"n": ${i}}`).join('\n')));
    await expect.poll(() => errorText(page), { timeout: 30_000 }).toBe('many.jsonl has 26 bad lines:');
    expect(await page.getByTestId('data-problem').count()).toBe(20);
    expect(await page.getByTestId('data-problems-more').textContent()).toBe('… and 6 more bad lines');

    // A record of 5.5 MB (UTF-8 byte-order mark first: accepted) and 24 long ones: 25 truncated, 20 listed.
    const huge = 'Lily ran to the park. '.repeat(250_000);
    const records = [huge, ...Array.from({ length: 24 }, (_, i) => `Story ${i}: ${'the cat sat on the mat and '.repeat(8)}`)];
    await upload(page, 'long.jsonl', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(records.map((text) => JSON.stringify({ text })).join('\n'))]));
    await page.getByTestId('data-summary').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('data-file').textContent()).toBe('long.jsonl (JSONL)');
    expect(await page.getByTestId('data-records').textContent()).toBe('25');
    await page.getByTestId('data-warnings').locator('summary').click();
    const warnings = await page.getByTestId('data-warning').allTextContents();
    expect(warnings).toHaveLength(20);
    expect(warnings[0]).toBe(
      `line 1: record of ${huge.length} characters truncated to one window (33 tokens): only its first 776 characters were tokenised, the other ${huge.length - 776} dropped`,
    );
    expect(warnings[1]).toMatch(/^line 2: record of \d+ tokens truncated to one window \(33 tokens\)$/);
    expect(await page.getByTestId('data-warnings-more').textContent()).toBe('… and 5 more warnings');
    await expect.poll(() => page.getByTestId('train-start').isEnabled(), { timeout: 30_000 }).toBe(true);
  });
});
