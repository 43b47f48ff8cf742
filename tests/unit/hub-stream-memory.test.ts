/**
 * Host memory while downloading a ~106 MB BF16 model.safetensors (SmolLM2-135M widths, 7 layers,
 * written at test time) from a local Hub into the Node disk cache: JS ArrayBuffers
 * (process.memoryUsage().arrayBuffers, sampled at every chunk) grow by at most 64 MiB + a few chunks,
 * i.e. the file is never held whole. The file on disk is byte-identical to the served one, and a
 * second download is served from the disk without a request.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { diskHubCache, hubRepoDir } from '../../src/io/hub-disk.ts';
import { downloadHubModel } from '../../src/io/hub.ts';
import { openModelSources } from '../../src/io/load-model.ts';
import { SMOLLM2_135M, writeSyntheticCheckpoint } from '../../scripts/synthetic-checkpoint.ts';

setFlagsFromString('--expose-gc');
/** A full collection, so buffers of the checkpoint's generation are not counted against the download. */
const gc = runInNewContext('gc') as () => void;

const REPO = 'acme/smol-7';
const MiB = 2 ** 20;
let work = '';
let server: Server;
let endpoint = '';
const requests: string[] = [];

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'subspace-hub-mem-'));
  await writeSyntheticCheckpoint(path.join(work, 'repo'), { ...SMOLLM2_135M, nLayers: 7 }, { seed: 5 });
  // The Hub's layout, each file streamed from disk (64 KiB reads), so the server holds no file either.
  server = createServer(async (req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(p);
    const prefix = `/${REPO}/resolve/main/`;
    const file = p.startsWith(prefix) ? path.join(work, 'repo', path.basename(p)) : '';
    const s = file ? await stat(file).catch(() => undefined) : undefined;
    if (!s) return void res.writeHead(404, { 'X-Error-Code': 'EntryNotFound' }).end('Entry not found');
    res.writeHead(200, { 'Content-Length': s.size, 'Content-Type': 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await rm(work, { recursive: true, force: true });
});

/** sha256 of a file, streamed. */
async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

it('downloads a 106 MB model.safetensors into the disk cache with ArrayBuffers growing ≤ 64 MiB + 4 chunks; the file is identical; a second load reads the disk', async () => {
  const served = path.join(work, 'repo', 'model.safetensors');
  const size = (await stat(served)).size;
  expect(size).toBeGreaterThan(100e6);
  const root = path.join(work, 'cache');
  const cache = diskHubCache(root);

  gc();
  const base = process.memoryUsage().arrayBuffers;
  const samples: number[] = [];
  let lastLoaded = 0;
  let largestChunk = 0;
  const t0 = performance.now();
  const got = await downloadHubModel(REPO, {
    endpoint,
    cache,
    onProgress: (p) => {
      if (p.file !== 'model.safetensors') return;
      samples.push(process.memoryUsage().arrayBuffers - base);
      largestChunk = Math.max(largestChunk, p.loaded - lastLoaded);
      lastLoaded = p.loaded;
    },
  });
  const ms = performance.now() - t0;
  const peak = Math.max(...samples);
  const limit = 64 * MiB + 4 * largestChunk;
  console.log(
    `${size} bytes in ${ms.toFixed(0)} ms; ArrayBuffers grew at most ${(peak / MiB).toFixed(1)} MiB over ${samples.length} chunks ` +
      `(largest chunk ${(largestChunk / 1024).toFixed(0)} KiB; limit ${(limit / MiB).toFixed(1)} MiB)`,
  );
  expect(lastLoaded).toBe(size);
  expect(samples.length).toBeGreaterThan(100); // sampled while streaming, not once at the end
  expect(peak).toBeLessThanOrEqual(limit);
  expect(got.cachedFiles).toEqual([]);
  expect(got.files.map((f) => [f.name, f.size])).toEqual([['config.json', (await stat(path.join(work, 'repo', 'config.json'))).size], ['model.safetensors', size]]);
  await got.close();

  const dir = hubRepoDir(root, endpoint, REPO, 'main');
  expect(await sha256(path.join(dir, 'model.safetensors'))).toBe(await sha256(served));
  expect(await readFile(path.join(dir, 'config.json'), 'utf8')).toBe(await readFile(path.join(work, 'repo', 'config.json'), 'utf8'));

  const before = requests.length;
  const again = await downloadHubModel(REPO, { endpoint, cache });
  try {
    expect(requests.length).toBe(before); // tokenizer.json and tokenizer_config.json: remembered as absent
    expect(again.cachedFiles).toEqual(['config.json', 'model.safetensors']);
    // The cached file as the loaders see it: its header parses and names every tensor of the 7 layers.
    const opened = await openModelSources(again.files);
    expect(opened.base.entries).toHaveLength(2 + 7 * 9);
    const tail = await again.files[1]!.read(size - 4096, 4096);
    expect(Buffer.from(tail).equals((await readFile(served)).subarray(size - 4096))).toBe(true);
  } finally {
    await again.close();
  }
});
