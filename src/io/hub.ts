/**
 * Download a LLaMA model from the Hugging Face Hub by repo id (browser and Node, fetch only):
 * config.json first (checked before any weights move), then model.safetensors — or, when the repo is
 * sharded, model.safetensors.index.json and every shard it names — streamed with progress, then
 * tokenizer.json and tokenizer_config.json when the repo has them. Each file's body is streamed into its
 * cache as it arrives — a Blob put in the Cache API in the browser (keyed by the resolve URL), a file in
 * a directory in Node (hub-disk.ts) — or into a Blob without a cache, and comes back as a ByteSource:
 * no whole-file ArrayBuffer of the weights is made, and a later load reads the cache instead of the
 * network. A gated or private repo needs an access token: it is sent as `Authorization: Bearer` to the
 * Hub endpoint only (fetch drops it on a redirect to another origin, such as the Hub's file CDN) and is
 * never put in a URL, a cache key, a file name, a log or an error message.
 */
import type { LlamaConfig } from '../schema/llama-config.ts';
import { blobSource, type ByteSource } from './byte-source.ts';
import { ModelFileError } from './errors.ts';
import { INDEX_FILE } from './hf-checkpoint.ts';
import { parseHfConfig } from './hf-config.ts';
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

/** One file of a repo at a revision on an endpoint: what a cache keys on (never the token). */
export interface HubFileRef {
  endpoint: string;
  repo: string;
  revision: string;
  file: string;
  /** The resolve URL (hubUrl): the browser cache's key. */
  url: string;
}

/**
 * Where downloaded files are kept: the browser's Cache API (browserHubCache) or a directory on disk
 * (hub-disk.ts, Node). A file is written as its body arrives and read back through a ByteSource.
 */
export interface HubCache {
  /** The cached file, or undefined when it is not (completely) in the cache. */
  get(ref: HubFileRef): Promise<ByteSource | undefined>;
  /** A writer for the file's body; `size` is its Content-Length, 0 when unknown. */
  create(ref: HubFileRef, size: number): Promise<HubFileWriter>;
  /** The Hub answered 404 for this optional file: remember it, so a later load need not ask again. */
  markAbsent?(ref: HubFileRef): Promise<void>;
  /** True when markAbsent was called for this file. */
  isAbsent?(ref: HubFileRef): Promise<boolean>;
}

/** A file being downloaded: chunks in order, then finish() once the body is complete, or abort(). */
export interface HubFileWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** The whole file as a source; `cacheError` says why it could not be kept (the source is whole all the same). */
  finish(): Promise<{ source: ByteSource; cacheError?: unknown }>;
  /** The download broke off or was refused: nothing is kept. */
  abort(): Promise<void>;
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
  /** Where downloaded files are kept; default the browser's Cache API when present, null for none (each file a Blob). */
  cache?: HubCache | null;
  /** The largest model.safetensors the GPU can take, in bytes. */
  maxBytes?: number;
  /** A Hugging Face access token for gated and private repos (kept by the caller in memory only). */
  token?: string;
  /** A downloaded file could not be kept in the cache (e.g. storage full): the load goes on without it. */
  onCacheError?: (file: string, bytes: number, error: unknown) => void;
}

export interface HubModel {
  /**
   * config.json, the weights (model.safetensors, or the index and its shards) and the tokenizer files
   * the repo has, each a ByteSource named by its file name in the repo, ready for the loaders.
   */
  files: ByteSource[];
  config: LlamaConfig;
  /** Names of the files that came from the cache rather than the network. */
  cachedFiles: string[];
  /** Release the files' handles (files of a disk cache); the sources cannot be read afterwards. */
  close(): Promise<void>;
}

/** The Hub's download URL for one file of a repo. */
export function hubUrl(repo: string, file: string, revision = 'main', endpoint = DEFAULT_HUB_ENDPOINT): string {
  return `${endpoint.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
}

/** Chunks are folded into the Blob once this many bytes are pending, so the page holds at most this much beside it. */
const BLOB_FOLD_BYTES = 4 << 20;

/**
 * A file downloaded into a Blob (a browser may keep a large Blob on disk): the chunks are folded into
 * it every few MiB, so no whole-file ArrayBuffer is ever made.
 */
export function blobWriter(file: string): HubFileWriter & { blob(): Blob } {
  let blob = new Blob([]);
  let pending: Uint8Array<ArrayBuffer>[] = [];
  let pendingBytes = 0;
  const fold = () => {
    if (pending.length === 0) return;
    blob = new Blob([blob, ...pending]);
    pending = [];
    pendingBytes = 0;
  };
  return {
    async write(chunk) {
      pending.push(chunk as Uint8Array<ArrayBuffer>);
      pendingBytes += chunk.byteLength;
      if (pendingBytes >= BLOB_FOLD_BYTES) fold();
    },
    async finish() {
      fold();
      return { source: blobSource(file, blob) };
    },
    async abort() {
      pending = [];
      blob = new Blob([]);
    },
    blob: () => (fold(), blob),
  };
}

/**
 * The browser's Cache API as a HubCache (keyed by the resolve URL), or undefined where there is none
 * (Node, insecure origins). A hit is read back as a Blob; a download is a Blob put as `new Response(blob)`.
 */
export function browserHubCache(): HubCache | undefined {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (!storage) return undefined;
  const open = () => storage.open(HUB_CACHE_NAME);
  return {
    async get(ref) {
      const hit = await (await open()).match(ref.url);
      return hit ? blobSource(ref.file, await hit.blob()) : undefined;
    },
    async create(ref) {
      const into = blobWriter(ref.file);
      return {
        write: into.write,
        abort: into.abort,
        async finish() {
          const { source } = await into.finish();
          const blob = into.blob();
          const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(blob.size) };
          try {
            await (await open()).put(ref.url, new Response(blob, { headers }));
          } catch (e) {
            return { source, cacheError: e };
          }
          return { source };
        },
      };
    },
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
  const files: ByteSource[] = [];
  const close = () => closeAll(files);
  const add = (name: string, got: Got): ByteSource => {
    if (got.cached) cachedFiles.push(name);
    files.push(got.source!);
    return got.source!;
  };
  try {
    const cfgFile = add('config.json', await getFile(ctx, 'config.json', { required: true }));
    let config: LlamaConfig;
    try {
      config = parseHfConfig(await readText(cfgFile), `${repo}/config.json`);
    } catch (e) {
      if (!(e instanceof ModelFileError)) throw e;
      const code = e.problem.startsWith('not a LLaMA model') ? 'not-llama' : 'config';
      throw new HubError(code, `${repo} cannot be loaded: ${e.message}`, 'config.json');
    }

    // The estimate from the config refuses an oversized model before a single weight byte is requested.
    const params = llamaWeightCount(config); // closed form: config.json may claim 2^24 layers
    checkSize(ctx, params * 4, `${(params / 1e6).toFixed(1)}M parameters × 4 bytes`);

    const weights = await getFile(ctx, 'model.safetensors', { required: false, checkSize: true });
    if (weights.source) {
      add('model.safetensors', weights);
    } else {
      const index = await getFile(ctx, INDEX_FILE, { required: false });
      if (!index.source) throw new HubError('not-found', `${repo} has no model.safetensors (nor a sharded ${INDEX_FILE}) at revision "${revision}" (only safetensors weights can be loaded).`, 'model.safetensors');
      const names = shardNames(ctx, await readText(add(INDEX_FILE, index)));
      let total = 0;
      for (const shard of names) total += add(shard, await getFile(ctx, shard, { required: true, checkSize: true, sizeSoFar: total })).size;
    }

    for (const name of ['tokenizer.json', 'tokenizer_config.json']) {
      const f = await getFile(ctx, name, { required: false });
      if (f.source) add(name, f);
    }
    return { files, config, cachedFiles, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** A small file (config, index, tokenizer) read whole as UTF-8. */
async function readText(src: ByteSource): Promise<string> {
  return new TextDecoder().decode(await src.read(0, src.size));
}

/** Close the sources that hold a handle (a disk cache's files). */
async function closeAll(files: readonly ByteSource[]): Promise<void> {
  await Promise.all(files.map((f) => f.close?.().catch(() => {})));
}

const SHARD_NAME = /^[\w.-]+\.safetensors$/;

/** The shard files a model.safetensors.index.json maps tensors to, in first-seen order. */
function shardNames(ctx: Ctx, text: string): string[] {
  const bad = (why: string): never => { throw new HubError('sharded', `${ctx.repo}/${INDEX_FILE} ${why}`, INDEX_FILE); };
  let json: unknown;
  try {
    json = JSON.parse(text);
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
  /** The file; absent for an optional file the repo does not have. */
  source?: ByteSource;
  cached: boolean;
}

/**
 * One file: from the cache, else the network, its body written to the cache as it arrives (or to a
 * Blob without one). A 404 for an optional file returns no source (and is remembered by a cache that can).
 */
async function getFile(ctx: Ctx, file: string, how: { required: boolean; checkSize?: boolean; sizeSoFar?: number }): Promise<Got> {
  const url = hubUrl(ctx.repo, file, ctx.revision, ctx.endpoint);
  const ref: HubFileRef = { endpoint: ctx.endpoint, repo: ctx.repo, revision: ctx.revision, file, url };
  const { onProgress, signal } = ctx.opts;
  const hit = await ctx.cache?.get(ref);
  if (hit) {
    onProgress?.({ file, loaded: hit.size, total: hit.size, bytesPerSecond: 0, cached: true });
    return { source: hit, cached: true };
  }
  if (!how.required && (await ctx.cache?.isAbsent?.(ref))) return { cached: true };
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
      if (!how.required) {
        await ctx.cache?.markAbsent?.(ref).catch(() => {}); // only saves a request next time
        return { cached: false };
      }
      throw new HubError('not-found', `${ctx.repo} has no ${file} at revision "${ctx.revision}" (repository or file not found).`, file);
    }
    throw new HubError('http', `The Hub answered HTTP ${res.status} ${res.statusText} for ${ctx.repo}/${file}.`, file);
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
  // A cache that cannot even start the file (e.g. an unwritable directory) is reported like a full one: the file goes to a Blob.
  let writer: HubFileWriter;
  let openError: unknown;
  try {
    writer = ctx.cache ? await ctx.cache.create(ref, total) : blobWriter(file);
  } catch (e) {
    openError = e;
    writer = blobWriter(file);
  }
  const loaded = await readBody(ctx, res, file, total, writer, how.checkSize ? how.sizeSoFar ?? 0 : undefined);
  const { source, cacheError = openError } = await writer.finish();
  // A full disk must not fail the load; it is reported, and the next load downloads the file again.
  if (cacheError !== undefined) ctx.opts.onCacheError?.(file, loaded, cacheError);
  return { source, cached: false };
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
 * Stream a response body into `into`, chunk by chunk, reporting progress; returns the bytes written. A
 * weights file (`weightsBefore` defined: the weight bytes of earlier shards) has its size checked as it
 * grows when there was no Content-Length, and must be complete. On any failure `into` is aborted.
 */
async function readBody(ctx: Ctx, res: Response, file: string, total: number, into: HubFileWriter, weightsBefore?: number): Promise<number> {
  const { onProgress, signal } = ctx.opts;
  const started = performance.now();
  const report = (loaded: number) =>
    onProgress?.({ file, loaded, total, bytesPerSecond: loaded / Math.max((performance.now() - started) / 1000, 1e-3), cached: false });
  let loaded = 0;
  try {
    if (!res.body) {
      const bytes = new Uint8Array(await res.arrayBuffer()); // no stream to read (old fetch implementations)
      await into.write(bytes);
      loaded = bytes.byteLength;
      report(loaded);
    } else {
      const reader = res.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          loaded += value.byteLength;
          if (weightsBefore !== undefined && total === 0) checkSize(ctx, weightsBefore + loaded, `${file} so far`);
          await into.write(value);
          report(loaded);
        }
      } catch (e) {
        await reader.cancel().catch(() => {});
        throw e;
      }
    }
    // Only a short weights file is an error: a compressed text file may decode to more than its Content-Length.
    if (weightsBefore !== undefined && total > 0 && loaded < total) {
      throw new HubError('network', `The download of ${ctx.repo}/${file} ended after ${formatBytes(loaded)} of ${formatBytes(total)}.`, file);
    }
  } catch (e) {
    await into.abort().catch(() => {});
    if (e instanceof HubError) throw e;
    if (signal?.aborted) throw new HubError('aborted', `Download of ${ctx.repo} cancelled.`, file);
    throw new HubError('network', `The download of ${ctx.repo}/${file} broke off after ${formatBytes(loaded)} (${(e as Error).message}).`, file);
  }
  return loaded;
}
