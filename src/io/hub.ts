/**
 * Download a LLaMA model from the Hugging Face Hub by repo id (browser and Node, fetch only):
 * config.json first (checked before any weights move), then model.safetensors — or, when the repo is
 * sharded, model.safetensors.index.json and every shard it names — streamed with progress, then
 * tokenizer.json and tokenizer_config.json when the repo has them. Files are cached by their resolved
 * URL (Cache API in the browser), so a reload does not download again. A gated or private repo needs
 * an access token: it is sent as `Authorization: Bearer` to the Hub endpoint only (fetch drops it on a
 * redirect to another origin, such as the Hub's file CDN) and is never put in a URL, a cache key, a
 * log or an error message.
 */
import type { LlamaConfig } from '../schema/llama-config.ts';
import { ModelFileError } from './errors.ts';
import { INDEX_FILE } from './hf-checkpoint.ts';
import { parseHfConfig } from './hf-config.ts';
import type { ModelFile } from './load-model.ts';
import { llamaWeightCount } from './weight-count.ts';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';
export const HUB_CACHE_NAME = 'subspace-hub-v1';

/** What went wrong, so the UI and tests can branch without parsing messages. */
export type HubErrorCode =
  | 'invalid-repo' // the repo id is not "owner/name"
  | 'not-found' // the repo, revision or a required file does not exist
  | 'gated' // 401/403: a gated or private repo without a token, or with one the Hub refused
  | 'network' // the Hub could not be reached
  | 'http' // any other HTTP failure
  | 'not-llama' // config.json describes another architecture
  | 'config' // config.json is LLaMA but unusable (bad numbers, unsupported feature)
  | 'too-big' // the weights exceed the GPU's limit
  | 'sharded' // model.safetensors.index.json is unusable (not JSON, no weight_map, a bad shard name)
  | 'aborted'; // the download was cancelled

export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
    /** The file at fault, when one is. */
    readonly file?: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

/** The small part of a cache the downloader needs: bytes by resolved URL. */
export interface HubCache {
  get(url: string): Promise<Uint8Array | undefined>;
  put(url: string, bytes: Uint8Array): Promise<void>;
}

export interface HubProgress {
  file: string;
  loaded: number;
  /** Content-Length, or 0 when the server did not send one. */
  total: number;
  /** Average over this file's download so far; 0 when served from the cache. */
  bytesPerSecond: number;
  cached: boolean;
}

export interface HubDownloadOptions {
  endpoint?: string;
  revision?: string;
  onProgress?: (p: HubProgress) => void;
  signal?: AbortSignal;
  /** Where downloaded files are kept; default the browser's Cache API when present, null for none. */
  cache?: HubCache | null;
  /** The largest model.safetensors the GPU can take, in bytes. */
  maxBytes?: number;
  /** A Hugging Face access token for gated and private repos (kept by the caller in memory only). */
  token?: string;
  /** A downloaded file could not be kept in the cache (e.g. storage full): the load goes on without it. */
  onCacheError?: (file: string, bytes: number, error: unknown) => void;
}

export interface HubModel {
  /** config.json, the weights (model.safetensors, or the index and its shards) and the tokenizer files the repo has, ready for loadModelFromFiles. */
  files: ModelFile[];
  config: LlamaConfig;
  /** Names of the files that came from the cache rather than the network. */
  cachedFiles: string[];
}

/** The Hub's download URL for one file of a repo. */
export function hubUrl(repo: string, file: string, revision = 'main', endpoint = DEFAULT_HUB_ENDPOINT): string {
  return `${endpoint.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
}

/** The browser's Cache API as a HubCache, or undefined where there is none (Node, insecure origins). */
export function browserHubCache(): HubCache | undefined {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (!storage) return undefined;
  const open = () => storage.open(HUB_CACHE_NAME);
  return {
    async get(url) {
      const hit = await (await open()).match(url);
      return hit ? new Uint8Array(await hit.arrayBuffer()) : undefined;
    },
    async put(url, bytes) {
      const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) };
      await (await open()).put(url, new Response(bytes as Uint8Array<ArrayBuffer>, { headers }));
    },
  };
}

/** An in-memory HubCache (Node, tests). */
export function memoryHubCache(map = new Map<string, Uint8Array>()): HubCache & { map: Map<string, Uint8Array> } {
  return {
    map,
    get: async (url) => map.get(url),
    put: async (url, bytes) => void map.set(url, bytes),
  };
}

export const formatBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MB` : `${(n / 1024 ** 3).toFixed(2)} GB`;

const REPO_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

/** Download config, weights and tokenizer of `repo`. Throws HubError (see HubErrorCode). */
export async function downloadHubModel(repo: string, opts: HubDownloadOptions = {}): Promise<HubModel> {
  repo = repo.trim();
  if (!REPO_ID.test(repo)) throw new HubError('invalid-repo', `"${repo}" is not a Hugging Face repo id: expected "owner/name", e.g. "karpathy/tinyllamas"`);
  const endpoint = opts.endpoint ?? DEFAULT_HUB_ENDPOINT;
  const revision = opts.revision?.trim() || 'main';
  const cache = opts.cache === undefined ? browserHubCache() : opts.cache ?? undefined;
  const ctx: Ctx = { repo, revision, endpoint, cache, opts };
  const cachedFiles: string[] = [];
  const files: ModelFile[] = [];

  const cfgFile = await getFile(ctx, 'config.json', { required: true });
  if (cfgFile.cached) cachedFiles.push('config.json');
  let config: LlamaConfig;
  try {
    config = parseHfConfig(new TextDecoder().decode(cfgFile.bytes), `${repo}/config.json`);
  } catch (e) {
    if (!(e instanceof ModelFileError)) throw e;
    const code = e.problem.startsWith('not a LLaMA model') ? 'not-llama' : 'config';
    throw new HubError(code, `${repo} cannot be loaded: ${e.message}`, 'config.json');
  }
  files.push({ name: 'config.json', bytes: cfgFile.bytes! });

  // The estimate from the config refuses an oversized model before a single weight byte is requested.
  const params = llamaWeightCount(config); // closed form: config.json may claim 2^24 layers
  checkSize(ctx, params * 4, `${(params / 1e6).toFixed(1)}M parameters × 4 bytes`);

  const weights = await getFile(ctx, 'model.safetensors', { required: false, checkSize: true });
  if (weights.bytes) {
    if (weights.cached) cachedFiles.push('model.safetensors');
    files.push({ name: 'model.safetensors', bytes: weights.bytes });
  } else {
    const index = await getFile(ctx, INDEX_FILE, { required: false });
    if (!index.bytes) throw new HubError('not-found', `${repo} has no model.safetensors (nor a sharded ${INDEX_FILE}) at revision "${revision}" (only safetensors weights can be loaded).`, 'model.safetensors');
    if (index.cached) cachedFiles.push(INDEX_FILE);
    files.push({ name: INDEX_FILE, bytes: index.bytes });
    let total = 0;
    for (const shard of shardNames(ctx, index.bytes)) {
      const got = await getFile(ctx, shard, { required: true, checkSize: true, sizeSoFar: total });
      total += got.bytes!.byteLength;
      if (got.cached) cachedFiles.push(shard);
      files.push({ name: shard, bytes: got.bytes! });
    }
  }

  for (const name of ['tokenizer.json', 'tokenizer_config.json']) {
    const f = await getFile(ctx, name, { required: false });
    if (!f.bytes) continue;
    if (f.cached) cachedFiles.push(name);
    files.push({ name, bytes: f.bytes });
  }
  return { files, config, cachedFiles };
}

const SHARD_NAME = /^[\w.-]+\.safetensors$/;

/** The shard files a model.safetensors.index.json maps tensors to, in first-seen order. */
function shardNames(ctx: Ctx, bytes: Uint8Array): string[] {
  const bad = (why: string): never => { throw new HubError('sharded', `${ctx.repo}/${INDEX_FILE} ${why}`, INDEX_FILE); };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    return bad(`is not valid JSON (${(e as Error).message})`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) return bad('has no "weight_map" object (tensor name → shard file)');
  const names = [...new Set(Object.values(map as Record<string, unknown>))];
  for (const n of names) if (typeof n !== 'string' || !SHARD_NAME.test(n)) bad(`names a shard ${JSON.stringify(n)} that is not a .safetensors file in the repo`);
  if (names.length === 0) bad('maps no tensors to shards');
  return names as string[];
}

interface Ctx {
  repo: string;
  revision: string;
  endpoint: string;
  cache: HubCache | undefined;
  opts: HubDownloadOptions;
}

function checkSize(ctx: Ctx, bytes: number, how: string): void {
  const max = ctx.opts.maxBytes;
  if (max !== undefined && bytes > max) {
    throw new HubError(
      'too-big',
      `${ctx.repo} is too big for this GPU: its weights take ${formatBytes(bytes)} (${how}), over the adapter's buffer limit of ${formatBytes(max)}.`,
      'model.safetensors',
    );
  }
}

interface Got {
  bytes?: Uint8Array;
  cached: boolean;
  exists: boolean;
}

/**
 * One file: from the cache, else the network (stored in the cache once complete). A 404 for an
 * optional file returns without bytes; `probe` only checks that the file exists.
 */
async function getFile(ctx: Ctx, file: string, how: { required: boolean; checkSize?: boolean; probe?: boolean; sizeSoFar?: number }): Promise<Got> {
  const url = hubUrl(ctx.repo, file, ctx.revision, ctx.endpoint);
  const { onProgress, signal } = ctx.opts;
  const hit = await ctx.cache?.get(url);
  if (hit) {
    onProgress?.({ file, loaded: hit.byteLength, total: hit.byteLength, bytesPerSecond: 0, cached: true });
    return { bytes: hit, cached: true, exists: true };
  }
  let res: Response;
  try {
    res = await fetchRetryingReset(url, signal, ctx.opts.token);
  } catch (e) {
    if (signal?.aborted) throw new HubError('aborted', `Download of ${ctx.repo} cancelled.`, file);
    if (isConnectionReset(e)) {
      throw new HubError('network', `The Hugging Face Hub at ${ctx.endpoint} reset the connection twice for ${ctx.repo}/${file} (GET ${url}, retried once: ${fetchFailure(e)}). Try again.`, file);
    }
    throw new HubError('network', `Could not reach the Hugging Face Hub at ${ctx.endpoint} (${fetchFailure(e)}). Check the connection and try again.`, file);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    const why = res.headers.get('x-error-code');
    const token = !!ctx.opts.token;
    if (why === 'RepoNotFound') throw new HubError('not-found', `Repository "${ctx.repo}" was not found on the Hub (check the spelling${token ? '' : '; a private repo needs an access token'}).`);
    if (why === 'RevisionNotFound') throw new HubError('not-found', `Revision "${ctx.revision}" was not found in ${ctx.repo}.`);
    if (why === 'GatedRepo' || res.status === 401 || res.status === 403) {
      throw new HubError(
        'gated',
        token
          ? `The Hub refused the access token for ${ctx.repo} (HTTP ${res.status}): check that it has read access and that you accepted the repo's terms on huggingface.co.`
          : `${ctx.repo} is gated or private (HTTP ${res.status}): give a Hugging Face access token (huggingface.co/settings/tokens) with access to it, or download its files and load them from disk.`,
        file,
      );
    }
    if (res.status === 404) {
      if (!how.required) return { cached: false, exists: false };
      throw new HubError('not-found', `${ctx.repo} has no ${file} at revision "${ctx.revision}" (repository or file not found).`, file);
    }
    throw new HubError('http', `The Hub answered HTTP ${res.status} ${res.statusText} for ${ctx.repo}/${file}.`, file);
  }
  if (how.probe) {
    await res.body?.cancel().catch(() => {});
    return { cached: false, exists: true };
  }
  const total = Number(res.headers.get('content-length') ?? 0) || 0;
  if (how.checkSize && total > 0) {
    try {
      checkSize(ctx, (how.sizeSoFar ?? 0) + total, how.sizeSoFar ? `${file} from its Content-Length, with the shards before it` : `${file} from its Content-Length`);
    } catch (e) {
      await res.body?.cancel().catch(() => {});
      throw e;
    }
  }
  const bytes = await readBody(ctx, res, file, total, how.checkSize ? how.sizeSoFar ?? 0 : undefined);
  // A full disk must not fail the load; it is reported, and the next load downloads the file again.
  await ctx.cache?.put(url, bytes).catch((e: unknown) => ctx.opts.onCacheError?.(file, bytes.byteLength, e));
  return { bytes, cached: false, exists: true };
}

/** Error codes of a connection the other side closed or reset (Node's net and undici, which backs Node's fetch). */
const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']);

/** `e` or one of its causes says the connection was reset ("socket hang up", ECONNRESET, undici's "other side closed"). */
export function isConnectionReset(e: unknown): boolean {
  for (let c = e, depth = 0; c && typeof c === 'object' && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    const { code, message } = c as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && RESET_CODES.has(code)) return true;
    if (typeof message === 'string' && /socket hang up|other side closed/i.test(message)) return true;
  }
  return false;
}

/** A fetch error with its causes, e.g. "fetch failed: other side closed (UND_ERR_SOCKET)". */
function fetchFailure(e: unknown): string {
  const parts: string[] = [];
  for (let c = e, depth = 0; c && typeof c === 'object' && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    const { code, message } = c as { code?: unknown; message?: unknown };
    parts.push(`${typeof message === 'string' ? message : String(c)}${typeof code === 'string' && !String(message).includes(code) ? ` (${code})` : ''}`);
  }
  return parts.join(': ') || String(e);
}

/**
 * GET `url`; when the connection is reset before a response (a kept-alive socket the server had just
 * closed), send it once more, as browsers do for idempotent requests. A second reset is thrown.
 */
async function fetchRetryingReset(url: string, signal: AbortSignal | undefined, token: string | undefined): Promise<Response> {
  // The token goes to the Hub's own URL only; fetch removes Authorization when a redirect leaves its origin.
  const init: RequestInit = { method: 'GET', signal, headers: token ? { Authorization: `Bearer ${token}` } : undefined };
  try {
    return await fetch(url, init);
  } catch (e) {
    if (signal?.aborted || !isConnectionReset(e)) throw e;
    return await fetch(url, init);
  }
}

/**
 * Stream a response body, reporting progress. A weights file (`weightsBefore` defined: the weight bytes
 * of earlier shards) has its size checked as it grows when there was no Content-Length, and must be complete.
 */
async function readBody(ctx: Ctx, res: Response, file: string, total: number, weightsBefore?: number): Promise<Uint8Array> {
  const { onProgress, signal } = ctx.opts;
  const started = performance.now();
  const report = (loaded: number) =>
    onProgress?.({ file, loaded, total, bytesPerSecond: loaded / Math.max((performance.now() - started) / 1000, 1e-3), cached: false });
  if (!res.body) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    report(bytes.byteLength);
    return bytes;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      if (weightsBefore !== undefined && total === 0) checkSize(ctx, weightsBefore + loaded, `${file} so far`);
      report(loaded);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    if (e instanceof HubError) throw e;
    if (signal?.aborted) throw new HubError('aborted', `Download of ${ctx.repo} cancelled.`, file);
    throw new HubError('network', `The download of ${ctx.repo}/${file} broke off after ${formatBytes(loaded)} (${(e as Error).message}).`, file);
  }
  // Only a short weights file is an error: a compressed text file may decode to more than its Content-Length.
  if (weightsBefore !== undefined && total > 0 && loaded < total) {
    throw new HubError('network', `The download of ${ctx.repo}/${file} ended after ${formatBytes(loaded)} of ${formatBytes(total)}.`, file);
  }
  const out = new Uint8Array(loaded);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}
