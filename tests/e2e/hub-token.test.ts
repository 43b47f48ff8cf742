/**
 * A private, sharded Hub repo through the UI with an access token (Chromium + SwiftShader): Playwright
 * answers the Hub's URLs (https://huggingface.co/<repo>/resolve/main/<file>) with stories260K in two
 * BF16 shards and model.safetensors.index.json, 401 without `Authorization: Bearer <token>` and 403
 * with a wrong one, as the Hub does. Without a token the gated message shows; with it the model loads
 * (16-bit on the GPU) and trains two steps, and the model card's memory estimate and the run panel's measured peak are
 * both shown. The token is in no request URL, no console line, no Cache API key and no IndexedDB
 * record; a reload empties the field.
 */
import type { BrowserContext, Route } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { exportHfModel } from '../../src/io/export-hf.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { parseSafetensorsHeader, writeSafetensors } from '../../src/io/safetensors.ts';
import { readZip } from '../../src/io/zip.ts';
import type { HostTensor } from '../../src/schema/tensors.ts';
import { llama2cToTokenizerJson, llama2cTokenizerConfig } from '../../src/io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { readFixture } from '../helpers/fixtures.ts';
import { screenshot } from './harness.ts';
import { CHECKPOINT, download, TOKENIZER, tinySettings, trainToCompletion, useStudio } from './studio.ts';

const REPO = 'acme/private-sharded';
const TOKEN = 'hf_e2eSecretToken4821';
const weights = parseLlama2c(readFixture(CHECKPOINT), 'stories260K.bin');
const tok = Llama2cTokenizer.fromBytes(readFixture(TOKENIZER), 'tok512.bin');
const hf = exportHfModel(weights, llama2cToTokenizerJson(tok), llama2cTokenizerConfig());

/** The repo's files by name: config, tokenizer, the index and two BF16 shards (as the Hub stores larger models). */
const files = new Map<string, Uint8Array>();
for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) files.set(name, hf.get(name)!);
const shardNames = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
const shards: Map<string, HostTensor>[] = [new Map(), new Map()];
[...weights.tensors].forEach(([name, t], i) => shards[i < 4 ? 0 : 1]!.set(name, t));
const weightMap: Record<string, string> = {};
shards.forEach((m, i) => {
  files.set(shardNames[i]!, writeSafetensors(m, { format: 'pt' }, () => 'BF16'));
  for (const name of m.keys()) weightMap[name] = shardNames[i]!;
});
files.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: {}, weight_map: weightMap })));

const studio = useStudio();
/** Every request URL the page and its worker made, and every console line (any level), for the token checks. */
const urls: string[] = [];
const consoleLines: string[] = [];
/** Hub paths with the Authorization header each came with. */
const hubHits: { path: string; auth: string | undefined }[] = [];

async function serveHub(context: BrowserContext): Promise<void> {
  context.on('request', (r) => urls.push(r.url()));
  context.on('console', (m) => consoleLines.push(m.text()));
  await context.route('https://huggingface.co/**', async (route: Route) => {
    const req = route.request();
    const cors = {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Headers': 'authorization',
      'Access-Control-Expose-Headers': 'X-Error-Code',
    };
    if (req.method() === 'OPTIONS') return route.fulfill({ status: 204, headers: cors });
    const p = new URL(req.url()).pathname;
    const auth = await req.headerValue('authorization') ?? undefined;
    hubHits.push({ path: p, auth });
    const prefix = `/${REPO}/resolve/main/`;
    if (!p.startsWith(prefix)) return route.fulfill({ status: 404, headers: { ...cors, 'X-Error-Code': 'RepoNotFound' }, body: 'not found' });
    if (auth !== `Bearer ${TOKEN}`) return route.fulfill({ status: auth ? 403 : 401, headers: { ...cors, 'X-Error-Code': 'GatedRepo' }, body: 'gated' });
    const body = files.get(p.slice(prefix.length));
    if (!body) return route.fulfill({ status: 404, headers: { ...cors, 'X-Error-Code': 'EntryNotFound' }, body: 'Entry not found' });
    return route.fulfill({ status: 200, headers: { ...cors, 'Content-Type': 'application/octet-stream' }, body: Buffer.from(body) });
  });
}

/** "157.8 MiB" → bytes (formatBytes' units). */
function parseBytes(text: string): number {
  const m = /([\d.]+)\s*(B|KiB|MiB|GiB)/.exec(text);
  if (!m) throw new Error(`no byte size in "${text}"`);
  return Number(m[1]) * 1024 ** ['B', 'KiB', 'MiB', 'GiB'].indexOf(m[2]!);
}

describe('a private sharded Hub repo with an access token (Chromium + SwiftShader)', () => {
  test('gated without a token, refused with a wrong one; with it loads, trains 2 steps, shows estimate and measured peak; the token stays in memory', { timeout: 120_000 }, async () => {
    const w = await studio.openWithBuiltIn({ init: serveHub });
    const { page } = w;
    const err = page.getByTestId('hub-error');

    // No token: the Hub answers 401 and the page says a token is needed.
    await page.getByLabel('Hugging Face repo id').fill(REPO);
    await page.getByTestId('hub-load').click();
    await expect.poll(() => err.textContent(), { timeout: 30_000 }).toMatch(/acme\/private-sharded is gated or private \(HTTP 401\): give a Hugging Face access token/);

    // A wrong token: 403, the refusal named without the token.
    await page.getByTestId('hub-token').fill('hf_wrongToken');
    await page.getByTestId('hub-load').click();
    await expect.poll(() => err.textContent(), { timeout: 30_000 }).toMatch(/The Hub refused the access token for acme\/private-sharded \(HTTP 403\)/);
    expect(await err.textContent()).not.toContain('hf_wrongToken');

    // The right token: both shards come with it, the model loads (stories260K's 260,032 parameters).
    await page.getByTestId('hub-token').fill(TOKEN);
    await page.getByTestId('hub-load').click();
    await page.locator('[data-testid="param-count"]', { hasText: '260,032' }).waitFor({ timeout: 60_000 });
    for (const shard of shardNames) {
      expect(hubHits.filter((h) => h.path.endsWith(shard)).map((h) => h.auth)).toContain(`Bearer ${TOKEN}`);
    }

    // BF16 shards stay 16-bit on the GPU, and the estimate says it counts them so.
    expect(await page.getByTestId('memory-table').locator('caption').textContent()).toContain("estimates of the engine's buffers for 16-bit weights");
    // The model card's estimate for the chosen method, in bytes and on screen.
    const chosen = page.locator('[data-testid="memory-table"] tr[data-chosen="true"]');
    const estimatedBytes = Number(await chosen.getAttribute('data-bytes'));
    const estimatedText = await chosen.locator('td').last().textContent();
    expect(estimatedBytes).toBeGreaterThan(0);
    expect(parseBytes(estimatedText ?? '')).toBeGreaterThan(0);

    // Two steps of 1 × 32 tokens; the run panel shows the measured peak next to the run's estimate.
    await tinySettings(page, { steps: 2 });
    await trainToCompletion(page, 60_000);
    const memory = page.getByTestId('run-memory');
    await memory.waitFor({ timeout: 10_000 });
    const line = (await memory.textContent()) ?? '';
    expect(line).toMatch(/^Peak GPU memory [\d.]+ (B|KiB|MiB|GiB) measured · [\d.]+ (B|KiB|MiB|GiB) estimated$/);
    const measured = parseBytes(await page.getByTestId('run-peak-measured').textContent() ?? '');
    const estimated = parseBytes(await page.getByTestId('run-peak-estimated').textContent() ?? '');
    expect(measured).toBeGreaterThan(0);
    expect(estimated).toBeGreaterThan(0);
    expect(Number(await memory.getAttribute('data-measured'))).toBeGreaterThan(0);
    console.log(
      `stories260K (BF16 shards, 16-bit on the GPU), LoRA 1 × 32: ${line} (${await memory.getAttribute('data-measured')} B measured, ` +
        `${await memory.getAttribute('data-estimated')} B estimated); model card ${estimatedText} at the settings before the run`,
    );
    await screenshot(page, 'hub-token-trained');

    // The merged model keeps the file's dtype (every tensor came in BF16); ticked, F32 throughout.
    const mergedDtypes = async () => {
      const zip = readZip((await download(page, 'export-merged')).bytes);
      const st = zip.find((e) => e.name === 'model.safetensors')!.bytes;
      return new Set([...parseSafetensorsHeader(st).entries.values()].map((e) => e.dtype));
    };
    expect(await mergedDtypes()).toEqual(new Set(['BF16']));
    await page.getByTestId('export-merged-f32').check();
    expect(await mergedDtypes()).toEqual(new Set(['F32']));

    // Nowhere but the Authorization header: no URL, no console line, no Cache API key, no IndexedDB record, no web storage.
    expect(urls.filter((u) => u.includes(TOKEN) || u.includes('hf_wrongToken'))).toEqual([]);
    expect(consoleLines.filter((l) => l.includes(TOKEN))).toEqual([]);
    expect(page.url()).not.toContain(TOKEN);
    const stored = await page.evaluate(async () => {
      const out: string[] = [];
      for (const name of await caches.keys()) {
        out.push(name);
        for (const r of await (await caches.open(name)).keys()) out.push(r.url, ...[...r.headers.values()]);
      }
      out.push(JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage }));
      const skipBytes = (_k: string, v: unknown) => (v instanceof ArrayBuffer || ArrayBuffer.isView(v) || v instanceof Blob ? null : v);
      for (const { name } of await indexedDB.databases()) {
        if (!name) continue;
        const db = await new Promise<IDBDatabase>((res, rej) => { const q = indexedDB.open(name); q.onsuccess = () => res(q.result); q.onerror = () => rej(q.error); });
        for (const store of db.objectStoreNames) {
          const all = await new Promise<unknown[]>((res, rej) => { const q = db.transaction(store).objectStore(store).getAll(); q.onsuccess = () => res(q.result); q.onerror = () => rej(q.error); });
          out.push(`${name}/${store}`, JSON.stringify(all, skipBytes));
        }
        db.close();
      }
      return out;
    });
    expect(stored.some((s) => s.includes('private-sharded'))).toBe(true); // the shards were cached and the run saved: the check looked at them
    expect(stored.filter((s) => s.includes(TOKEN))).toEqual([]);

    // A reload forgets it.
    await page.reload();
    await page.getByTestId('hub-token').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('hub-token').inputValue()).toBe('');
    expect(await page.getByTestId('hub-token').getAttribute('type')).toBe('password');
  });
});
