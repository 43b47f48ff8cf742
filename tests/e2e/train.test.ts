/**
 * Fine-tuning in the studio (Chromium + SwiftShader), on stories260K loaded through the file picker
 * (it is the fixture every machine has; the default model may not be built yet): the data panel
 * with its line-numbered JSONL errors, the method picker's numbers and validation, a 3-step LoRA run
 * whose loss points appear in the chart, pause/resume/stop, base vs fine-tuned generation, and the
 * exports read back from the downloads. Runs stay tiny (batch 1–2, 32-token windows): the machine's
 * two cores are shared.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { readPeftAdapter } from '../../src/io/peft.ts';
import { parseSafetensorsHeader } from '../../src/io/safetensors.ts';
import { readZip } from '../../src/io/zip.ts';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';
import { METHOD_ROWS } from '../../src/store/methods.ts';
import { METHODS } from '../../src/schema/train-config.ts';
import { screenshot } from './harness.ts';
import { chartPoints, download, storiesConfig, tinySettings, trainToCompletion, useStudio } from './studio.ts';

const studio = useStudio();
let modelConfig: LlamaConfig;

beforeAll(async () => {
  modelConfig = await storiesConfig();
});

/** Fill a number field by its test id (the fields commit on input). */
async function fill(page: Page, testId: string, value: string): Promise<void> {
  await page.getByTestId(testId).fill(value);
}

describe('fine-tuning in the studio (Chromium + SwiftShader)', () => {
  test('data panel: demo data tokenised with counts and pieces; bad JSONL pasted gets a line-numbered error', { timeout: 240_000 }, async () => {
    const page = await studio.openWithStories();
    // The first demo is chosen once the model is loaded.
    expect(await page.getByTestId('demo-new-facts').isChecked()).toBe(true);
    expect(await page.getByTestId('data-upload').count()).toBe(0); // the upload input shows only in upload mode
    expect(await page.getByTestId('data-file').textContent()).toBe('new-facts.jsonl (JSONL)');
    const num = async (key: string) => Number(((await page.getByTestId(`data-${key}`).textContent()) ?? '').replace(/,/g, ''));
    expect(await num('records')).toBe(64);
    const tokens = await num('tokens');
    const train = await num('train-windows');
    const evalWindows = await num('eval-windows');
    expect(tokens).toBeGreaterThan(1000);
    expect(await num('loss-tokens')).toBeGreaterThan(tokens * 0.8);
    // 10% of the windows held out (rounded, at least one).
    expect(evalWindows).toBe(Math.max(1, Math.round((train + evalWindows) * 0.1)));
    const samples = page.getByTestId('data-sample');
    expect(await samples.count()).toBe(3);
    expect(await samples.first().locator('.tok').first().textContent()).toBe('<bos>');
    expect(await samples.first().locator('.tok-loss').count()).toBeGreaterThan(10);
    await screenshot(page, 'data-demo');

    // A pasted JSONL file whose line 3 is cut off.
    await page.getByTestId('data-mode-paste').check();
    await page.getByTestId('paste-text').fill('{"text": "Lily went to the park."}\n\n{"text": "Tom had a ball."\n{"text": "The end."}\n');
    await page.getByTestId('paste-use').click();
    const error = page.getByTestId('data-error');
    await error.waitFor({ timeout: 30_000 });
    expect(await error.getAttribute('role')).toBe('alert');
    expect(await page.getByTestId('data-error-line').textContent()).toBe('3');
    expect(await page.getByTestId('data-error-message').textContent()).toMatch(/^pasted\.jsonl, line 3: invalid JSON: /);
    expect(await page.getByTestId('data-summary').count()).toBe(0);
    expect(await page.getByTestId('train-start').isDisabled()).toBe(true);
    await screenshot(page, 'data-error');

    // A missing field names the line and the field.
    await page.getByTestId('paste-text').fill('{"prompt": "Q: a?", "completion": " b"}\n{"prompt": "Q: c?"}\n');
    await page.getByTestId('paste-use').click();
    await expect.poll(() => page.getByTestId('data-error-message').textContent(), { timeout: 30_000 }).toBe('pasted.jsonl, line 2: missing field "completion"');
    expect(await page.getByTestId('data-error').textContent()).toContain('field completion');

    // Plain text paste works again: two paragraphs are two documents.
    await page.getByTestId('paste-text').fill('Once upon a time there was a cat.\n\nThe cat liked to nap in the sun.\n');
    await page.getByTestId('paste-use').click();
    await page.getByTestId('data-summary').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('data-records').textContent()).toBe('2');
    expect(await page.getByTestId('data-error').count()).toBe(0);
  });

  test('method picker: rows from the engine, live trainable count, invalid settings explained before start', { timeout: 240_000 }, async () => {
    const page = await studio.openWithStories();
    // LoRA r=8 on q and v of 5 layers: q (64→64) 8·128 + v (64→32) 8·96 = 1792 per layer.
    expect(await page.getByTestId('method-lora').isChecked()).toBe(true);
    expect(await page.getByTestId('trainable-count').textContent()).toBe('8,960');
    // Every row is there; those whose method the engine lacks (METHODS) are disabled as "coming".
    expect(await page.locator('[data-testid^="method-row-"]').count()).toBe(METHOD_ROWS.length);
    for (const row of METHOD_ROWS) {
      const inEngine = (METHODS as readonly string[]).includes(row.engine);
      expect(await page.getByTestId(`method-${row.id}`).isDisabled()).toBe(!inEngine);
      expect((await page.getByTestId(`method-row-${row.id}`).textContent())?.includes('coming')).toBe(!inEngine);
    }
    // Each method's paper is linked after the radio group (not between the radios in the tab order).
    expect(await page.getByTestId('paper-lora').getAttribute('href')).toBe('https://arxiv.org/abs/2106.09685');
    expect(await page.getByTestId('paper-rslora').getAttribute('href')).toBe('https://arxiv.org/abs/2312.03732');
    expect(await page.getByTestId('method-row-lora').locator('a').count()).toBe(0);

    // All seven targets: q 1024, k 768, v 768, o 1024, gate 8·236, up 8·236, down 8·236 → 9248 per layer.
    for (const m of ['k', 'o', 'gate', 'up', 'down']) await page.getByTestId(`target-${m}`).check();
    expect(await page.getByTestId('trainable-count').textContent()).toBe('46,240');
    // MoRA type 6: r̂ = even ⌊√((in + out)·8) + ½⌋ → q 32² + v 28² = 1808 per layer (q, v only).
    if ((METHODS as readonly string[]).includes('mora')) {
      for (const m of ['k', 'o', 'gate', 'up', 'down']) await page.getByTestId(`target-${m}`).uncheck();
      await page.getByTestId('method-mora').check();
      expect(await page.getByTestId('trainable-count').textContent()).toBe('9,040');
      expect(await page.getByTestId('alpha').count()).toBe(0); // MoRA has no α
      await page.getByTestId('mora-type-1').check(); // type 1 keeps odd sizes: q 32² + v 28² (27.7 rounds to 28)
      expect(await page.getByTestId('trainable-count').textContent()).toBe('9,040');
      for (const m of ['k', 'o', 'gate', 'up', 'down']) await page.getByTestId(`target-${m}`).check();
    }
    // Full fine-tuning trains every parameter.
    await page.getByTestId('method-full').check();
    expect(await page.getByTestId('trainable-count').textContent()).toBe('260,032');
    expect(await page.getByTestId('rank').count()).toBe(0);
    await page.getByTestId('method-rslora').check();
    expect(await page.getByTestId('alpha-error').count()).toBe(0);
    expect(await page.getByText('scale α/√r = 5.657').count()).toBe(1);

    // A rank above the smallest layer width is explained next to the field and blocks Start.
    await fill(page, 'rank', '100');
    await expect.poll(() => page.getByTestId('rank-error').textContent()).toBe("100 exceeds the smallest layer dimension (64)");
    expect(await page.getByTestId('train-start').isDisabled()).toBe(true);
    expect(await page.getByTestId('train-blocker').textContent()).toBe('Rank: 100 exceeds the smallest layer dimension (64)');
    await screenshot(page, 'method-invalid');
    await fill(page, 'rank', '8');
    expect(await page.getByTestId('rank-error').count()).toBe(0);
    // No target module at all.
    for (const m of ['q', 'k', 'v', 'o', 'gate', 'up', 'down']) await page.getByTestId(`target-${m}`).uncheck();
    expect(await page.getByTestId('targets-error').textContent()).toBe('give at least one module');
    // A sequence longer than the model's context (512).
    await page.getByTestId('target-q').check();
    await fill(page, 'seq', '600');
    await expect.poll(() => page.getByTestId('seq-error').textContent()).toBe("600 is longer than the model's context (512)");
    expect(await page.getByTestId('train-start').isDisabled()).toBe(true);
  });

  test('trains 3 LoRA steps with loss points in the chart, compares base and fine-tuned, exports the adapter and metrics', { timeout: 480_000 }, async () => {
    const page = await studio.openWithStories();
    await tinySettings(page, { steps: 3, batch: 2, evalEvery: 1 });
    const estimated = await page.getByTestId('trainable-count').textContent();
    const started = performance.now();
    await trainToCompletion(page);
    console.log(`3 LoRA steps (batch 2 × 32) with 3 evals: ${((performance.now() - started) / 1000).toFixed(1)} s`);

    // One marker per step, one eval marker per step (evalEvery 1), and the same counts in the SVG's data.
    expect(await chartPoints(page, 'train')).toBe(3);
    expect(await chartPoints(page, 'eval')).toBe(3);
    const svg = page.locator('[data-testid="loss-chart"] svg');
    expect(await svg.getAttribute('data-train-points')).toBe('3');
    expect(await page.getByTestId('progress-step').textContent()).toBe('3');
    expect(await page.getByTestId('run-trainable').textContent()).toBe(estimated); // the engine agrees with the estimate
    const steps = await page.locator('circle.pt-train').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-step'))));
    expect(steps).toEqual([1, 2, 3]);
    const summary = (await page.getByTestId('chart-summary').textContent()) ?? '';
    const lastLoss = Number(/last train loss ([\d.]+)/.exec(summary)?.[1]);
    expect(lastLoss).toBeGreaterThan(0.5);
    expect(lastLoss).toBeLessThan(12);
    await screenshot(page, 'trained');
    // The log-scale toggle is a keyboard-reachable checkbox and redraws the axis.
    await page.getByTestId('chart-logScale').focus();
    await page.keyboard.press('Space');
    expect(await svg.getAttribute('data-scale')).toBe('log');
    expect(await chartPoints(page, 'train')).toBe(3);

    // Base vs fine-tuned: the same prompt and seed on both.
    await page.getByTestId('prompt').fill('Once upon a time');
    await fill(page, 'max-tokens', '16');
    await page.getByTestId('compare-start').click();
    await page.locator('[data-testid="compare-outputs"][data-state="idle"]').waitFor({ timeout: 120_000 });
    const base = (await page.getByTestId('compare-base').textContent()) ?? '';
    const tuned = (await page.getByTestId('compare-tuned').textContent()) ?? '';
    expect(base.startsWith('Once upon a time')).toBe(true);
    expect(tuned.startsWith('Once upon a time')).toBe(true);
    expect(base.length).toBeGreaterThan('Once upon a time'.length + 10);
    expect(tuned.length).toBeGreaterThan('Once upon a time'.length);
    // stories260K's greedy continuation is the published sample: the base side must reproduce it.
    expect(base.startsWith('Once upon a time, there was a little girl')).toBe(true);
    expect(await page.getByTestId('compare-error').count()).toBe(0);
    await screenshot(page, 'compare');

    // The peft adapter, read back from the download.
    const peft = await download(page, 'export-peft');
    expect(peft.name).toMatch(/^subspace-lora-adapter-run\d+\.zip$/);
    const entries = readZip(peft.bytes);
    expect(entries.map((e) => e.name).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const cfg = JSON.parse(new TextDecoder().decode(entries.find((e) => e.name === 'adapter_config.json')!.bytes)) as Record<string, unknown>;
    expect(cfg.peft_type).toBe('LORA');
    expect(cfg.r).toBe(8);
    expect(cfg.lora_alpha).toBe(16);
    expect([...(cfg.target_modules as string[])].sort()).toEqual(['q_proj', 'v_proj']);
    const header = parseSafetensorsHeader(entries.find((e) => e.name === 'adapter_model.safetensors')!.bytes, 'adapter_model.safetensors');
    expect(header.entries.size).toBe(5 * 2 * 2);
    expect(header.entries.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')?.shape).toEqual([8, 64]);
    expect(header.entries.get('base_model.model.model.layers.4.self_attn.v_proj.lora_B.weight')?.shape).toEqual([32, 8]);
    // It loads back as a peft adapter for this model, and training moved B away from its zero start.
    const adapter = readPeftAdapter(entries.map((e) => ({ name: e.name, bytes: e.bytes })), modelConfig);
    const B = adapter.tensors.get('model.layers.0.self_attn.q_proj')!.B.data;
    expect(Math.max(...B.map(Math.abs))).toBeGreaterThan(0);

    // Metrics as CSV: a header and one row per step, eval loss on each.
    const csv = new TextDecoder().decode((await download(page, 'export-csv')).bytes).trim().split('\n');
    expect(csv[0]).toBe('step,loss,eval_loss,lr,grad_norm,tokens_per_s,elapsed_ms,epoch,probe_loss');
    expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(['1', '2', '3']);
    expect(csv.slice(1).every((l) => Number(l.split(',')[2]) > 0)).toBe(true);
    const json = JSON.parse(new TextDecoder().decode((await download(page, 'export-json')).bytes)) as { steps: unknown[]; run: { config: { method: string } } };
    expect(json.steps).toHaveLength(3);
    expect(json.run.config.method).toBe('lora');

    // The merged model in HF layout, with the tokenizer converted from tokenizer.bin.
    const merged = readZip((await download(page, 'export-merged')).bytes);
    expect(merged.map((e) => e.name).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const hf = JSON.parse(new TextDecoder().decode(merged.find((e) => e.name === 'config.json')!.bytes)) as Record<string, unknown>;
    expect(hf.hidden_size).toBe(64);
    expect(hf.num_hidden_layers).toBe(5);
    await screenshot(page, 'exported');
    expect(await page.getByTestId('export-error').count()).toBe(0);

    // A second run starts from a fresh copy of the base weights, not from the first run's adapters:
    // same seed, same batches, so the same losses step for step.
    const losses = () => page.locator('circle.pt-train title').allTextContents();
    const first = await losses();
    await trainToCompletion(page);
    expect(await losses()).toEqual(first);
  });

  test('MoRA trains 2 steps: the engine trains what the estimate said, and its adapter file exports', { timeout: 480_000 }, async (ctx) => {
    if (!(METHODS as readonly string[]).includes('mora')) ctx.skip(); // the row shows "coming" until the engine has it
    const page = await studio.openWithStories();
    await page.getByTestId('method-mora').check();
    await tinySettings(page, { steps: 2, batch: 1, evalEvery: 0 });
    const estimated = await page.getByTestId('trainable-count').textContent();
    expect(estimated).toBe('9,040');
    await trainToCompletion(page);
    expect(await page.getByTestId('run-trainable').textContent()).toBe(estimated);
    expect(await chartPoints(page, 'train')).toBe(2);
    expect(await chartPoints(page, 'eval')).toBe(1);
    expect(await page.getByTestId('export-peft').count()).toBe(0); // peft cannot load MoRA
    const zip = readZip((await download(page, 'export-mora')).bytes);
    expect(zip.map((e) => e.name).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const header = parseSafetensorsHeader(zip.find((e) => e.name === 'adapter_model.safetensors')!.bytes);
    expect(header.entries.size).toBe(10);
    expect(header.entries.get('base_model.model.model.layers.0.self_attn.q_proj.mora_M.weight')?.shape).toEqual([32, 32]);
    expect(header.entries.get('base_model.model.model.layers.0.self_attn.v_proj.mora_M.weight')?.shape).toEqual([28, 28]);
  });

  test('pause holds the run between steps, resume continues it, stop ends it early with a final eval', { timeout: 480_000 }, async () => {
    const page = await studio.openWithStories();
    await tinySettings(page, { steps: 200, batch: 1, evalEvery: 0 });
    await page.getByTestId('train-start').click();
    await expect.poll(() => chartPoints(page, 'train'), { timeout: 120_000, interval: 200 }).toBeGreaterThan(0);

    await page.getByTestId('train-pause').click();
    await page.locator('[data-testid="run-status"][data-state="paused"]').waitFor({ timeout: 60_000 });
    const atPause = await chartPoints(page, 'train');
    expect(Number(await page.getByTestId('progress-step').textContent())).toBe(atPause);
    await page.waitForTimeout(2500);
    expect(await chartPoints(page, 'train')).toBe(atPause); // nothing stepped while paused
    await screenshot(page, 'paused');

    await page.getByTestId('train-resume').click();
    await page.locator('[data-testid="run-status"][data-state="running"]').waitFor({ timeout: 30_000 });
    await expect.poll(() => chartPoints(page, 'train'), { timeout: 120_000, interval: 200 }).toBeGreaterThan(atPause);

    await page.getByTestId('train-stop').click();
    const result = page.locator('[data-testid="run-result"][data-reason="stopped"]');
    await result.waitFor({ timeout: 120_000 });
    const stoppedAt = await chartPoints(page, 'train');
    expect(stoppedAt).toBeGreaterThan(atPause);
    expect(stoppedAt).toBeLessThan(200);
    expect(await result.textContent()).toMatch(new RegExp(`^Stopped after ${stoppedAt} steps? in `));
    // evalEvery 0 means one eval at the end: stopping early still measures it.
    expect(await chartPoints(page, 'eval')).toBe(1);
    expect(await result.textContent()).toMatch(/eval loss \d/);
    expect(await page.getByTestId('engine-error').count()).toBe(0);
  });
});
