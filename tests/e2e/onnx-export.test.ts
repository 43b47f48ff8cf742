/**
 * The studio's ONNX export (Chromium + SwiftShader), on the built-in model after a 2-step LoRA run:
 * "Run the export here" loads the exported model into onnxruntime-web in the engine worker and its
 * greedy text equals the engine's (and the tuned model's, not the base's), on the WebGPU execution
 * provider and on WASM, with no request leaving the app's server (the WASM binary comes from Vite);
 * the downloaded zip holds the transformers.js layout. A 2-step MoRA run and a 2-step full fine-tune
 * convert to a standard LoRA with each module's error shown.
 */
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { readZip } from '../../src/io/zip.ts';
import { screenshot } from './harness.ts';
import { download, tinySettings, trainToCompletion, useStudio } from './studio.ts';

const PROMPT = 'Zara lives in the';
const TOKENS = '16';

const studio = useStudio();

/** "Run the export here" on `provider`: the result block once it shows. */
async function runHere(page: Page, provider: 'webgpu' | 'wasm') {
  await page.getByTestId('onnx-provider').selectOption(provider);
  await page.getByTestId('onnx-run').click();
  const result = page.getByTestId('onnx-run-result');
  await result.or(page.getByTestId('onnx-error')).first().waitFor({ timeout: 120_000 });
  const error = page.getByTestId('onnx-error');
  if (await error.count()) throw new Error(`Run the export here (${provider}) failed: ${await error.textContent()}`);
  return {
    provider: await result.getAttribute('data-provider'),
    identical: await result.getAttribute('data-identical'),
    engine: (await page.getByTestId('onnx-engine-text').textContent()) ?? '',
    ort: (await page.getByTestId('onnx-ort-text').textContent()) ?? '',
    used: (await page.getByTestId('onnx-provider-used').textContent()) ?? '',
    tps: [Number(await page.getByTestId('onnx-engine-tps').textContent()), Number(await page.getByTestId('onnx-ort-tps').textContent())],
  };
}

describe('ONNX export in the studio (Chromium + SwiftShader)', () => {
  test('after 2 LoRA steps, onnxruntime-web on WebGPU and on WASM generates the engine\'s greedy text; the zip is the transformers.js folder', { timeout: 300_000 }, async () => {
    // Offline: any request off the app's server is refused and remembered; onnxruntime-web's WASM comes from Vite.
    const offsite: string[] = [];
    const wasm: string[] = [];
    const { page } = await studio.openWithBuiltIn({
      init: async (context) => {
        await context.route('**/*', (route) => {
          const url = route.request().url();
          if (!url.startsWith(studio.url)) {
            offsite.push(url);
            return route.abort();
          }
          if (url.includes('.wasm')) wasm.push(url);
          return route.continue();
        });
      },
    });
    await tinySettings(page, { steps: 2, lr: '0.05' });
    await trainToCompletion(page);

    // The tuned and base greedy texts, from the generate panel's compare.
    await page.getByTestId('prompt').fill(PROMPT);
    await page.getByTestId('max-tokens').fill(TOKENS);
    await page.getByTestId('temperature').fill('0');
    await page.getByTestId('compare-start').click();
    await page.locator('[data-testid="compare-outputs"][data-state="idle"]').waitFor({ timeout: 120_000 });
    const tuned = (await page.getByTestId('compare-tuned').textContent()) ?? '';
    const base = (await page.getByTestId('compare-base').textContent()) ?? '';
    expect(tuned).not.toBe(base); // the 2 steps show in the greedy text
    expect(await page.getByTestId('lora-conversion').count()).toBe(0); // a LoRA run exports its peft adapter as it is

    await page.getByTestId('onnx-prompt').fill(PROMPT);
    await page.getByTestId('onnx-tokens').fill(TOKENS);
    const gpu = await runHere(page, 'webgpu');
    console.log(`WebGPU EP: ${gpu.used} engine ${gpu.tps[0]} tok/s, onnxruntime-web ${gpu.tps[1]} tok/s`);
    expect(gpu.provider).toBe('webgpu');
    expect(gpu.used).not.toContain('failed');
    expect(gpu.identical).toBe('true');
    expect(gpu.ort).toBe(gpu.engine);
    expect(gpu.engine).toBe(tuned);
    for (const t of gpu.tps) expect(t).toBeGreaterThan(0);
    await screenshot(page, 'onnx-run-webgpu');

    const onWasm = await runHere(page, 'wasm');
    console.log(`WASM EP: ${onWasm.used} engine ${onWasm.tps[0]} tok/s, onnxruntime-web ${onWasm.tps[1]} tok/s`);
    expect(onWasm.provider).toBe('wasm');
    expect(onWasm.identical).toBe('true');
    expect(onWasm.ort).toBe(tuned);
    expect(offsite).toEqual([]);
    expect(wasm.some((u) => u.startsWith(studio.url) && u.includes('/ort-wasm-simd-threaded'))).toBe(true); // from the app's server

    const zip = await download(page, 'export-onnx');
    expect(zip.name).toMatch(/^subspace-onnx-run\d+\.zip$/);
    const entries = readZip(zip.bytes);
    expect(entries.map((e) => e.name).sort()).toEqual(['config.json', 'generation_config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json']);
    const config = JSON.parse(new TextDecoder().decode(entries.find((e) => e.name === 'config.json')!.bytes));
    expect(config).toMatchObject({ model_type: 'llama', architectures: ['LlamaForCausalLM'], torch_dtype: 'float32', num_hidden_layers: 4 });
  });

  test('a 2-step MoRA run and a 2-step full fine-tune convert to a standard LoRA by SVD, showing each module\'s error', { timeout: 300_000 }, async () => {
    const { page } = await studio.openWithBuiltIn();
    await page.getByTestId('method-mora').check();
    await tinySettings(page, { steps: 2, lr: '0.01' });
    await trainToCompletion(page);
    await page.getByTestId('lora-conversion-value').fill('0.9');
    const zip = await download(page, 'export-lora-conversion');
    expect(zip.name).toMatch(/^subspace-mora-as-lora-r\d+-run\d+\.zip$/);
    const entries = readZip(zip.bytes);
    expect(entries.map((e) => e.name).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'conversion.json']);
    const report = JSON.parse(new TextDecoder().decode(entries.find((e) => e.name === 'conversion.json')!.bytes));
    const rows = page.getByTestId('lora-conversion-module');
    expect(await rows.count()).toBe(report.modules.length);
    expect(report.modules.length).toBeGreaterThan(0);
    for (const m of report.modules) expect(m.energy_kept, m.name).toBeGreaterThanOrEqual(0.9);
    expect(await page.getByTestId('lora-conversion-max-error').textContent()).toBe(report.max_relative_error.toExponential(3));
    // An out-of-range energy is refused with the reason.
    await page.getByTestId('lora-conversion-value').fill('1.5');
    await page.getByTestId('export-lora-conversion').click();
    await expect.poll(() => page.getByTestId('lora-conversion-error').textContent(), { timeout: 30_000 }).toBe('The energy to keep must be in (0, 1], got 1.5.');

    // Full fine-tuning: ΔW = W − W₀ of every linear module, at a fixed rank; the embeddings' change cannot travel.
    await page.getByTestId('method-full').check();
    await page.getByTestId('lr').fill('0.001'); // the other settings stay (2 steps of 1 × 32 tokens)
    await expect.poll(() => page.getByTestId('train-start').isEnabled(), { timeout: 30_000 }).toBe(true);
    await trainToCompletion(page);
    await page.getByTestId('lora-conversion-by').selectOption('rank');
    await page.getByTestId('lora-conversion-value').fill('2');
    const full = JSON.parse(new TextDecoder().decode(readZip((await download(page, 'export-lora-conversion')).bytes).find((e) => e.name === 'conversion.json')!.bytes));
    expect(full.r).toBe(2);
    expect(full.modules).toHaveLength(28); // 4 layers × 7 linear modules
    expect(full.not_carried).toContain('model.embed_tokens.weight');
    expect(await rows.count()).toBe(28);
    for (const m of full.modules) expect(m.relative_error, m.name).toBeGreaterThan(0);
  });
});
