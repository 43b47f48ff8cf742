/**
 * Hub downloads against a local server that answers like huggingface.co (same URL layout, same
 * X-Error-Code headers), serving stories260K exported to the HF layout. Without a cache each file is
 * streamed into a Blob; with the disk cache (hub-disk.ts) into a file in a temporary directory.
 * Nothing inside the app is mocked.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ByteSource } from '../../src/io/byte-source.ts';
import { exportHfModel } from '../../src/io/export-hf.ts';
import { diskHubCache, hubRepoDir } from '../../src/io/hub-disk.ts';
import { downloadHubModel, HubError, hubUrl, isConnectionReset, type HubErrorCode, type HubModel, type HubProgress } from '../../src/io/hub.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { openModelSources } from '../../src/io/load-model.ts';
import { writeSafetensors } from '../../src/io/safetensors.ts';
import type { HostTensor } from '../../src/schema/tensors.ts';
import { llama2cToTokenizerJson, llama2cTokenizerConfig } from '../../src/io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { generate } from '../../src/model/generate.ts';
import { loadModel } from '../../src/model/load-checkpoint.ts';
import { GOLDEN_IDS_20, GOLDEN_TEXT, readFixture, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';
import { testGpu } from '../helpers/gpu.ts';

const REPO = 'karpathy/stories260K';
const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
const tok = Llama2cTokenizer.fromBytes(readFixture(TOK512_BIN), 'tok512.bin');
const hf = exportHfModel(weights, llama2cToTokenizerJson(tok), llama2cTokenizerConfig());
const safetensorsBytes = hf.get('model.safetensors')!.byteLength;
/** What downloadHubModel fetches of the repo, in order (the export also writes generation_config.json). */
const REPO_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
/** path below the endpoint → body; repos listed in `errors` answer every file with that status and X-Error-Code. */
const files = new Map<string, Uint8Array>();
for (const [name, bytes] of hf) files.set(`/${REPO}/resolve/main/${name}`, bytes);
files.set('/openai-community/gpt2/resolve/main/config.json', enc({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: 768 }));
files.set('/empty/index/resolve/main/config.json', hf.get('config.json')!);
files.set('/empty/index/resolve/main/model.safetensors.index.json', enc({ metadata: {}, weight_map: {} }));
/** stories260K in two BF16 shards with their index, as the Hub stores larger models; behind a token. */
const SHARDED = 'acme/private-sharded';
const TOKEN = 'hf_secret_token_123';
const shards: Map<string, HostTensor>[] = [new Map(), new Map()];
[...weights.tensors].forEach(([name, t], i) => shards[i < 4 ? 0 : 1]!.set(name, t));
const shardNames = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
const weightMap: Record<string, string> = {};
shards.forEach((m, i) => {
  files.set(`/${SHARDED}/resolve/main/${shardNames[i]}`, writeSafetensors(m, { format: 'pt' }, () => 'BF16'));
  for (const name of m.keys()) weightMap[name] = shardNames[i]!;
});
files.set(`/${SHARDED}/resolve/main/model.safetensors.index.json`, enc({ metadata: {}, weight_map: weightMap }));
for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) files.set(`/${SHARDED}/resolve/main/${name}`, hf.get(name)!);
/** The Authorization header of every request, by path (a token must never appear anywhere else). */
const authorization = new Map<string, string | undefined>();
const errors = new Map<string, [number, string]>([
  ['meta-llama/Llama-gated', [401, 'GatedRepo']],
  ['nobody/missing', [404, 'RepoNotFound']],
]);
const requests: string[] = [];
/** path → how many more requests for it get their connection destroyed before any answer. */
const resets = new Map<string, number>();
/** path → bytes of the body sent (after a full Content-Length) before the connection is destroyed. */
const breakAfter = new Map<string, number>();
/** Paths answered without a Content-Length (chunked), as a Hub behind a compressing proxy may. */
const chunked = new Set<string>();

let server: Server;
let endpoint = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const left = resets.get(path) ?? 0;
    if (left > 0) {
      resets.set(path, left - 1);
      req.socket.destroy(); // a kept-alive connection the server dropped: the client sees a reset, no response
      return;
    }
    const repo = path.split('/').slice(1, 3).join('/');
    authorization.set(req.url ?? '', req.headers.authorization);
    // The private repo answers like the Hub: 401 without a token, 403 with a wrong one.
    const auth = req.headers.authorization;
    const err = repo === SHARDED && auth !== `Bearer ${TOKEN}` ? ([auth ? 403 : 401, 'GatedRepo'] as [number, string]) : errors.get(repo);
    const body = files.get(path);
    if (err) {
      res.writeHead(err[0], { 'X-Error-Code': err[1] }).end('error');
    } else if (!body) {
      res.writeHead(404, { 'X-Error-Code': 'EntryNotFound' }).end('Entry not found');
    } else if (breakAfter.has(path)) {
      res.writeHead(200, { 'Content-Length': body.byteLength, 'Content-Type': 'application/octet-stream' });
      res.write(body.subarray(0, breakAfter.get(path)), () => setTimeout(() => res.destroy(), 20));
    } else {
      res.writeHead(200, { ...(chunked.has(path) ? {} : { 'Content-Length': body.byteLength }), 'Content-Type': 'application/octet-stream' });
      // Two writes, so the reader sees more than one chunk for the weights.
      const half = body.byteLength >> 1;
      res.write(body.subarray(0, half));
      setTimeout(() => res.end(body.subarray(half)), 5);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
const dirs: string[] = [];
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A fresh cache directory, removed after the tests. */
async function cacheRoot(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'subspace-hub-'));
  dirs.push(d);
  return d;
}

/** A source's bytes, read whole. */
const bytesOf = (src: ByteSource): Promise<Uint8Array> => src.read(0, src.size);
/** Byte-identical (Buffer.equals: toEqual walks a 1 MB array element by element for seconds). */
const same = (a: Uint8Array, b: Uint8Array | undefined): boolean => b !== undefined && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

/** Every file under `dir` (relative paths), and the ones whose name or bytes contain `secret`. */
async function filesUnder(dir: string, secret: string): Promise<{ files: string[]; leaking: string[] }> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
  const leaking: string[] = [];
  for (const f of files) if (f.includes(secret) || Buffer.from(await readFile(path.join(dir, f))).includes(secret)) leaking.push(f);
  return { files: files.sort(), leaking };
}

/** Open the downloaded files as the engine does, stream them onto the GPU and sample greedily (19 tokens). */
async function greedyText(got: HubModel): Promise<{ ids: number[]; text: string }> {
  const opened = await openModelSources(got.files);
  const { model } = await loadModel(await testGpu(), opened.base);
  try {
    return await generate(model, opened.tokenizer!, { maxTokens: 19, temperature: 0 });
  } finally {
    model.dispose();
  }
}

async function hubError(repo: string, opts: Parameters<typeof downloadHubModel>[1] = {}): Promise<HubError> {
  try {
    await downloadHubModel(repo, { endpoint, cache: null, ...opts });
  } catch (e) {
    if (e instanceof HubError) return e;
    throw e;
  }
  throw new Error(`downloading ${repo} did not fail`);
}

describe('Hugging Face Hub download', () => {
  it('builds resolve URLs like the Hub', () => {
    expect(hubUrl('a/b', 'config.json')).toBe('https://huggingface.co/a/b/resolve/main/config.json');
    expect(hubUrl('a/b', 'model.safetensors', 'v1.0', 'http://127.0.0.1:9/')).toBe('http://127.0.0.1:9/a/b/resolve/v1.0/model.safetensors');
  });

  it('downloads stories260K with progress into Blobs named by repo file; it loads and generates the golden first sentence', async () => {
    const progress: HubProgress[] = [];
    const got = await downloadHubModel(REPO, { endpoint, cache: null, maxBytes: safetensorsBytes, onProgress: (p) => progress.push(p) });
    expect(got.files.map((f) => f.name)).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    for (const f of got.files) expect(same(await bytesOf(f), hf.get(f.name))).toBe(true);
    expect(got.files[1]!.size).toBe(safetensorsBytes);
    expect(got.config.dim).toBe(weights.config.dim);
    const st = progress.filter((p) => p.file === 'model.safetensors');
    expect(st.length).toBeGreaterThanOrEqual(2);
    expect(st.at(-1)).toMatchObject({ loaded: safetensorsBytes, total: safetensorsBytes, cached: false });
    expect(st.at(-1)!.bytesPerSecond).toBeGreaterThan(0);
    for (let i = 1; i < st.length; i++) expect(st[i]!.loaded).toBeGreaterThan(st[i - 1]!.loaded);

    const r = await greedyText(got);
    expect(r.ids).toEqual(GOLDEN_IDS_20);
    expect(r.text.startsWith('Once upon a time, there was a little girl named Lily.')).toBe(true);
    expect(GOLDEN_TEXT.startsWith(r.text)).toBe(true);
  });

  it('a private sharded repo loads with a token sent only as Authorization to the Hub, and generates the golden text', async () => {
    const before = requests.length;
    const got = await downloadHubModel(SHARDED, { endpoint, cache: null, token: TOKEN });
    expect(got.files.map((f) => f.name)).toEqual(['config.json', 'model.safetensors.index.json', ...shardNames, 'tokenizer.json', 'tokenizer_config.json']);
    const paths = requests.slice(before);
    expect(paths.every((p) => !p.includes(TOKEN))).toBe(true);
    expect(paths.filter((p) => p.includes(SHARDED)).every((p) => authorization.get(p) === `Bearer ${TOKEN}`)).toBe(true);
    // BF16-rounded weights: the greedy text of the golden first sentence survives the rounding.
    expect((await greedyText(got)).text.startsWith('Once upon a time, there was a little girl named Lily.')).toBe(true);
  });

  it('the token is in no error message and no request to another repo', async () => {
    const e = await hubError('nobody/missing', { token: TOKEN });
    expect(e.message).not.toContain(TOKEN);
    const refused = await hubError(SHARDED, { token: 'hf_wrong' });
    expect(refused.message).not.toContain('hf_wrong');
    const noToken = await hubError(SHARDED);
    expect(noToken.code).toBe('gated');
    expect(authorization.get(`/${SHARDED}/resolve/main/config.json`)).toBeUndefined();
  });

  it('the disk cache: files land under the repo folder byte for byte; a second download reads them from disk with no request', async () => {
    const root = await cacheRoot();
    const cache = diskHubCache(root);
    const dir = hubRepoDir(root, endpoint, REPO, 'main');
    const before = requests.length;
    const first = await downloadHubModel(REPO, { endpoint, cache });
    expect(requests.length - before).toBe(4);
    expect(first.cachedFiles).toEqual([]);
    await first.close();
    expect(dir.startsWith(root)).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    for (const name of REPO_FILES) expect(same(new Uint8Array(await readFile(path.join(dir, name))), hf.get(name))).toBe(true);

    const mid = requests.length;
    const progress: HubProgress[] = [];
    const second = await downloadHubModel(REPO, { endpoint, cache, onProgress: (p) => progress.push(p) });
    expect(requests.length).toBe(mid);
    expect(second.cachedFiles).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(second.files.map((f) => f.name)).toEqual(second.cachedFiles); // repo names, not paths
    expect(same(await bytesOf(second.files[1]!), hf.get('model.safetensors'))).toBe(true);
    expect(progress.map((p) => p.file)).toEqual(second.cachedFiles);
    expect(progress.every((p) => p.cached && p.loaded === p.total && p.total === hf.get(p.file)!.byteLength)).toBe(true);
    expect((await greedyText(second)).ids).toEqual(GOLDEN_IDS_20);
    await second.close();
    await expect(second.files[1]!.read(0, 8)).rejects.toThrow(); // closed: the handle is released
    // Another revision or endpoint is another folder.
    expect(hubRepoDir(root, endpoint, REPO, 'v2')).not.toBe(dir);
    expect(hubRepoDir(root, 'https://huggingface.co', REPO, 'main')).toBe(path.join(root, 'huggingface.co', 'karpathy--stories260K', 'main'));
    expect(hubRepoDir(root, endpoint, REPO, '..')).toBe(path.join(path.dirname(dir), '%2E%2E'));
    expect(path.basename(hubRepoDir(root, endpoint, REPO, 'refs/pr/1'))).toBe('refs%2Fpr%2F1');
  });

  it('a private sharded repo in the disk cache: the token is in no file name or file; the missing model.safetensors is remembered, so a second load asks nothing', async () => {
    const root = await cacheRoot();
    const cache = diskHubCache(root);
    const first = await downloadHubModel(SHARDED, { endpoint, cache, token: TOKEN });
    await first.close();
    const { files, leaking } = await filesUnder(root, TOKEN);
    expect(leaking).toEqual([]);
    const rel = path.relative(root, hubRepoDir(root, endpoint, SHARDED, 'main'));
    expect(files).toEqual(['config.json', 'model.safetensors.absent', 'model.safetensors.index.json', ...shardNames, 'tokenizer.json', 'tokenizer_config.json'].map((f) => path.join(rel, f)).sort());
    const mid = requests.length;
    const second = await downloadHubModel(SHARDED, { endpoint, cache, token: TOKEN });
    expect(requests.length).toBe(mid);
    expect(second.cachedFiles).toEqual(['config.json', 'model.safetensors.index.json', ...shardNames, 'tokenizer.json', 'tokenizer_config.json']);
    expect((await greedyText(second)).text.startsWith('Once upon a time, there was a little girl named Lily.')).toBe(true);
    await second.close();
  });

  it('a disk that refuses every file (full: each .partial is /dev/full) is reported per file with the bytes; the load still succeeds from Blobs', async () => {
    const root = await cacheRoot();
    const dir = hubRepoDir(root, endpoint, REPO, 'main');
    await mkdir(dir, { recursive: true });
    for (const name of REPO_FILES) await symlink('/dev/full', path.join(dir, `${name}.partial`));
    const refused: [string, number, unknown][] = [];
    const got = await downloadHubModel(REPO, { endpoint, cache: diskHubCache(root), onCacheError: (file, bytes, e) => refused.push([file, bytes, e]) });
    expect(got.files.map((f) => f.name)).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    for (const f of got.files) expect(same(await bytesOf(f), hf.get(f.name))).toBe(true);
    expect(refused.map(([file]) => file)).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(refused[1]![1]).toBe(hf.get('model.safetensors')!.byteLength);
    expect(refused.every(([, , e]) => (e as NodeJS.ErrnoException).code === 'ENOSPC')).toBe(true);
    expect(await readdir(dir)).toEqual([]); // no final file, and the .partial links are gone
    expect((await greedyText(got)).ids).toEqual(GOLDEN_IDS_20);
  });

  it('a cache directory that cannot be created is reported per file, and the load still succeeds', async () => {
    const root = path.join(await cacheRoot(), 'a-file');
    await writeFile(root, 'not a directory');
    const refused: [string, number, unknown][] = [];
    const got = await downloadHubModel(REPO, { endpoint, cache: diskHubCache(root), onCacheError: (file, bytes, e) => refused.push([file, bytes, e]) });
    expect(same(await bytesOf(got.files[1]!), hf.get('model.safetensors'))).toBe(true);
    expect(refused.map(([file, bytes]) => [file, bytes])).toEqual(REPO_FILES.map((n) => [n, hf.get(n)!.byteLength]));
    expect(refused.every(([, , e]) => (e as NodeJS.ErrnoException).code === 'ENOTDIR')).toBe(true);
  });

  it('a download that breaks off leaves no file under its final name (nor a .partial), and the next load downloads it whole', async () => {
    const root = await cacheRoot();
    const cache = diskHubCache(root);
    const dir = hubRepoDir(root, endpoint, REPO, 'main');
    const st = `/${REPO}/resolve/main/model.safetensors`;
    breakAfter.set(st, 40_000);
    let e: unknown;
    try {
      await downloadHubModel(REPO, { endpoint, cache });
    } catch (err) {
      e = err;
    } finally {
      breakAfter.delete(st);
    }
    expect(e).toBeInstanceOf(HubError);
    expect((e as HubError).code).toBe('network');
    expect((e as HubError).file).toBe('model.safetensors');
    expect((e as HubError).message).toMatch(/^The download of karpathy\/stories260K\/model\.safetensors broke off after 39\.1 KB \(/);
    expect(await readdir(dir)).toEqual(['config.json']);
    const got = await downloadHubModel(REPO, { endpoint, cache });
    expect(got.cachedFiles).toEqual(['config.json']);
    expect(same(new Uint8Array(await readFile(path.join(dir, 'model.safetensors'))), hf.get('model.safetensors'))).toBe(true);
    await got.close();
  });

  it('a cancelled download is an aborted error and leaves no .partial', async () => {
    const root = await cacheRoot();
    const abort = new AbortController();
    const e = await hubError(REPO, {
      cache: diskHubCache(root),
      signal: abort.signal,
      onProgress: (p) => { if (p.file === 'model.safetensors') abort.abort(); },
    });
    expect(e.code).toBe('aborted');
    expect(e.message).toBe('Download of karpathy/stories260K cancelled.');
    expect(e.file).toBe('model.safetensors');
    expect(await readdir(hubRepoDir(root, endpoint, REPO, 'main'))).toEqual(['config.json']);
  });

  it('without a Content-Length the weights are checked against the limit as they arrive, and nothing is kept', async () => {
    const st = `/${REPO}/resolve/main/model.safetensors`;
    chunked.add(st);
    const root = await cacheRoot();
    try {
      const e = await hubError(REPO, { cache: diskHubCache(root), maxBytes: safetensorsBytes - 1 });
      expect(e.code).toBe('too-big');
      expect(e.message).toMatch(/model\.safetensors so far\), over the adapter's buffer limit/);
      expect(await readdir(hubRepoDir(root, endpoint, REPO, 'main'))).toEqual(['config.json']);
      const got = await downloadHubModel(REPO, { endpoint, cache: null, maxBytes: safetensorsBytes });
      expect(same(await bytesOf(got.files[1]!), hf.get('model.safetensors'))).toBe(true);
    } finally {
      chunked.delete(st);
    }
  });

  const cases: [string, string, Parameters<typeof downloadHubModel>[1], HubErrorCode, RegExp][] = [
    ['a missing repo', 'nobody/missing', {}, 'not-found', /Repository "nobody\/missing" was not found/],
    ['a missing file', 'nobody-else/empty', {}, 'not-found', /nobody-else\/empty has no config\.json at revision "main"/],
    ['a gated repo', 'meta-llama/Llama-gated', {}, 'gated', /is gated or private \(HTTP 401\): give a Hugging Face access token.*or download its files and load them from disk/],
    ['a private repo with a wrong token', SHARDED, { token: 'hf_wrong' }, 'gated', /The Hub refused the access token for acme\/private-sharded \(HTTP 403\)/],
    ['a non-LLaMA config', 'openai-community/gpt2', {}, 'not-llama', /not a LLaMA model \(architectures \["GPT2LMHeadModel"\], model_type "gpt2"\)/],
    ['an index naming no shards', 'empty/index', {}, 'sharded', /^empty\/index\/model\.safetensors\.index\.json maps no tensors to shards$/],
    ['an invalid repo id', 'not a repo', {}, 'invalid-repo', /is not a Hugging Face repo id/],
  ];
  it.each(cases)('%s gives a clear error', async (_what, repo, opts, code, message) => {
    const e = await hubError(repo, opts);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });

  it('a model over the GPU limit is refused before its weights are requested, saying how big and the limit', async () => {
    const params = weights.config.dim; // any limit below the model's size
    const before = requests.length;
    const e = await hubError(REPO, { maxBytes: params });
    expect(e.code).toBe('too-big');
    expect(e.message).toMatch(/too big for this GPU: its weights take [\d.]+ (KB|MB) \([\d.]+M parameters × 4 bytes\), over the adapter's buffer limit of 64 B/);
    expect(requests.slice(before)).toEqual([`/${REPO}/resolve/main/config.json`]);
  });

  it('the Content-Length of model.safetensors is checked against the limit before its body is read', async () => {
    // Between the config's estimate (tensors only) and the file (plus its JSON header).
    const e = await hubError(REPO, { maxBytes: safetensorsBytes - 1 });
    expect(e.code).toBe('too-big');
    expect(e.message).toMatch(/model\.safetensors from its Content-Length/);
  });

  it('a connection reset before the answer is retried once (GET only), and the download succeeds', async () => {
    const url = (file: string) => `/${REPO}/resolve/main/${file}`;
    resets.set(url('config.json'), 1);
    resets.set(url('model.safetensors'), 1);
    const before = requests.length;
    const got = await downloadHubModel(REPO, { endpoint, cache: null });
    expect(same(await bytesOf(got.files[1]!), hf.get('model.safetensors'))).toBe(true);
    expect(requests.slice(before)).toEqual([
      url('config.json'), url('config.json'), url('model.safetensors'), url('model.safetensors'), url('tokenizer.json'), url('tokenizer_config.json'),
    ]);
  });

  it('a second reset of the same request is reported, naming the file and URL; no third attempt', async () => {
    const path = `/${REPO}/resolve/main/model.safetensors`;
    resets.set(path, 3);
    const before = requests.length;
    const e = await hubError(REPO);
    expect(requests.slice(before).filter((p) => p === path)).toHaveLength(2);
    expect(resets.get(path)).toBe(1);
    resets.delete(path);
    expect(e.code).toBe('network');
    expect(e.file).toBe('model.safetensors');
    expect(e.message).toBe(
      `The Hugging Face Hub at ${endpoint} reset the connection twice for ${REPO}/model.safetensors ` +
        `(GET ${endpoint}${path}, retried once: fetch failed: other side closed (UND_ERR_SOCKET)). Try again.`,
    );
  });

  it('what counts as a reset connection', () => {
    const coded = (message: string, code: string) => Object.assign(new Error(message), { code });
    expect(isConnectionReset(new TypeError('fetch failed', { cause: coded('read ECONNRESET', 'ECONNRESET') }))).toBe(true);
    expect(isConnectionReset(new TypeError('fetch failed', { cause: coded('other side closed', 'UND_ERR_SOCKET') }))).toBe(true);
    expect(isConnectionReset(coded('socket hang up', 'ECONNRESET'))).toBe(true);
    expect(isConnectionReset(new Error('socket hang up'))).toBe(true);
    expect(isConnectionReset(new TypeError('fetch failed', { cause: coded('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED') }))).toBe(false);
    expect(isConnectionReset(new TypeError('Failed to fetch'))).toBe(false);
    expect(isConnectionReset(new DOMException('The operation was aborted.', 'AbortError'))).toBe(false);
    expect(isConnectionReset(undefined)).toBe(false);
  });

  it('an unreachable Hub is a network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const e = await hubError(REPO, { endpoint: `http://127.0.0.1:${port}` });
    expect(e.code).toBe('network');
    expect(e.message).toBe(`Could not reach the Hugging Face Hub at http://127.0.0.1:${port} (fetch failed: connect ECONNREFUSED 127.0.0.1:${port}). Check the connection and try again.`);
  });
});
