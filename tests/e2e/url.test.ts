/**
 * Links and chart files (Chromium + SwiftShader): settings read from the page's query (and bad ones
 * explained), the address rewritten as settings change, and the loss chart downloaded as SVG and PNG
 * after a 2-step LoRA run on stories260K.
 */
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { chartPoints, download, pickStories, trainToCompletion, useStudio } from './studio.ts';

const studio = useStudio();

/** The app with settings in its query, once the method panel is up. */
async function open(query: string): Promise<Page> {
  const { page } = await studio.open({ query });
  await page.getByTestId('method-panel').waitFor({ timeout: 60_000 });
  return page;
}

const inputValue = (page: Page, testId: string) => page.getByTestId(testId).inputValue();

describe('settings in the URL and chart downloads (Chromium + SwiftShader)', () => {
  test('a bad value in the link is explained by name and falls back to the default', { timeout: 120_000 }, async () => {
    const page = await open('?rank=-3&colour=red&steps=5');
    const message = (await page.getByTestId('url-error').textContent()) ?? '';
    expect(message).toContain('rank: "-3" must be at least 1');
    expect(message).toContain('colour: not a setting');
    expect(await inputValue(page, 'rank')).toBe('8'); // the default
    expect(await inputValue(page, 'steps')).toBe('5'); // the good value still applies
    // The address keeps only what was applied, so a reload does not repeat the message.
    const search = await page.evaluate(() => location.search);
    expect(search).toContain('steps=5');
    expect(search).not.toContain('rank=-3');
    expect(search).not.toContain('colour');
    await page.reload();
    await page.getByTestId('method-panel').waitFor();
    expect(await page.getByTestId('url-error').count()).toBe(0);
    expect(await inputValue(page, 'steps')).toBe('5');
  });

  test('a link sets the inputs; edits rewrite the URL; 2 LoRA steps; the loss chart downloads as SVG and PNG', { timeout: 480_000 }, async () => {
    const page = await open('?method=lora&rank=4&steps=2&seq=32&batch=1&evalEvery=0&evalBatches=1');
    expect(await page.getByTestId('url-error').count()).toBe(0);
    expect(await page.getByTestId('method-lora').isChecked()).toBe(true);
    expect(await inputValue(page, 'rank')).toBe('4');
    expect(await inputValue(page, 'steps')).toBe('2');
    expect(await inputValue(page, 'seq')).toBe('32');
    expect(await inputValue(page, 'batch')).toBe('1');

    // Editing a field rewrites the address (debounced replaceState).
    await page.getByTestId('rank').fill('5');
    await expect.poll(() => page.evaluate(() => new URLSearchParams(location.search).get('rank')), { timeout: 5_000 }).toBe('5');

    await pickStories(page);
    await page.getByText('Windows of 32 tokens', { exact: false }).waitFor({ timeout: 60_000 });
    // The chosen demo is in the link too.
    await expect.poll(() => page.evaluate(() => new URLSearchParams(location.search).get('demo')), { timeout: 5_000 }).toBe('new-facts');
    await expect.poll(() => page.getByTestId('train-start').isEnabled(), { timeout: 30_000 }).toBe(true);
    await trainToCompletion(page);
    expect(await chartPoints(page, 'train')).toBe(2);

    const svgFile = await download(page, 'loss-chart-download-svg');
    expect(svgFile.name).toBe('loss-chart.svg');
    const svg = new TextDecoder().decode(svgFile.bytes);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    const series = /<path[^>]*class="series-train"[^>]*>/.exec(svg)?.[0] ?? '';
    expect(series).toMatch(/d="M[\d.]+,[\d.]+L[\d.]+,[\d.]+"/); // the 2-point train loss line
    expect(series).toMatch(/stroke:\s*rgb/); // styled inline, not by the page's CSS
    expect(svg.match(/class="pt-train"/g)).toHaveLength(2);

    const png = await download(page, 'loss-chart-download-png');
    expect(png.name).toBe('loss-chart.png');
    expect([...png.bytes.slice(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // IHDR width and height: the framed chart (title, settings, the 640-wide chart, legend) at 2×, as the SVG is.
    const [svgWidth, svgHeight] = [/<svg[^>]*\bwidth="(\d+)"/.exec(svg)?.[1], /<svg[^>]*\bheight="(\d+)"/.exec(svg)?.[1]].map(Number);
    expect(svgWidth).toBe(640);
    expect(svgHeight).toBeGreaterThan(260); // the 260-high chart plus its title and legend
    const view = new DataView(png.bytes.buffer, png.bytes.byteOffset);
    expect([view.getUint32(16), view.getUint32(20)]).toEqual([2 * svgWidth!, 2 * svgHeight!]);
  });
});
