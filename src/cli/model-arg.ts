/**
 * `--model hf:owner/name[@revision]`: a Hugging Face Hub repo, downloaded into the disk cache
 * (`--hub-cache`, default $XDG_CACHE_HOME/subspace/hub or ~/.cache/subspace/hub) and loaded from
 * there as a model directory. `--hub-endpoint` (or HF_ENDPOINT) names the Hub; `--hub-token` (or
 * HF_TOKEN) is the access token of a gated or private repo: sent only as Authorization to that
 * endpoint, never written to the cache or printed. A repo already in the cache is not downloaded again.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { diskHubCache, hubRepoDir } from '../io/hub-disk.ts';
import { DEFAULT_HUB_ENDPOINT, downloadHubModel, formatBytes, HubError, type HubProgress } from '../io/hub.ts';
import { optionalString, UsageError, type Values } from './args.ts';

/** The options every command that takes --model accepts besides it (spread into its parseArgs options). */
export const HUB_OPTIONS = {
  'hub-endpoint': { type: 'string' }, 'hub-token': { type: 'string' }, 'hub-cache': { type: 'string' },
} as const;

/** How the options read in a command's usage text. */
export const HUB_USAGE = '[--hub-endpoint URL] [--hub-token TOKEN] [--hub-cache DIR]';

const PREFIX = 'hf:';

/** "hf:owner/name" or "hf:owner/name@revision" → repo and revision; undefined for a local path. */
export function parseHubModel(value: string): { repo: string; revision: string } | undefined {
  if (!value.startsWith(PREFIX)) return undefined;
  const spec = value.slice(PREFIX.length);
  const at = spec.indexOf('@'); // repo ids have no '@'
  const repo = at < 0 ? spec : spec.slice(0, at);
  const revision = at < 0 ? 'main' : spec.slice(at + 1);
  if (revision === '') throw new UsageError(`${value}: nothing after "@"; expected hf:owner/name@revision (a branch, tag or commit)`);
  return { repo, revision };
}

/** A --model value as adapter configs name the base (peft's base_model_name_or_path): the repo id of hf:owner/name, else the absolute path. */
export function modelName(value: string): string {
  return parseHubModel(value)?.repo ?? path.resolve(value);
}

/** The cache directory when --hub-cache is not given. */
export function defaultHubCache(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'subspace', 'hub');
}

/**
 * The model path of `--<flag>` (default --model): a local path as given, or for `hf:owner/name[@rev]`
 * the cache folder the repo was downloaded into (config.json, weights, tokenizer files), for
 * readModelPath. Without the flag: `fallback`, else a UsageError. Hub failures are one-line errors
 * naming the repo and file.
 */
export async function resolveModelArg(v: Values, o: { flag?: string; fallback?: string } = {}): Promise<string> {
  const flag = o.flag ?? 'model';
  const value = optionalString(v, flag);
  if (value === undefined || value === '') {
    if (o.fallback !== undefined) return o.fallback;
    throw new UsageError(`--${flag} is required`);
  }
  const hub = parseHubModel(value);
  if (!hub) return value;

  const endpoint = optionalString(v, 'hub-endpoint') || process.env.HF_ENDPOINT || DEFAULT_HUB_ENDPOINT;
  if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
    throw new UsageError(`--hub-endpoint (or HF_ENDPOINT) must be an http(s) URL such as ${DEFAULT_HUB_ENDPOINT}, got "${endpoint}"`);
  }
  const token = optionalString(v, 'hub-token') || process.env.HF_TOKEN || undefined;
  const root = path.resolve(optionalString(v, 'hub-cache') || defaultHubCache());
  const label = `${hub.repo}@${hub.revision}`;
  const dir = hubRepoDir(root, endpoint, hub.repo, hub.revision);
  const progress = new DownloadProgress(label);
  const notKept: string[] = [];

  let got;
  try {
    got = await downloadHubModel(hub.repo, {
      endpoint, revision: hub.revision, token, cache: diskHubCache(root),
      onProgress: (p) => progress.update(p),
      onCacheError: (file, bytes, e) => notKept.push(`${file} (${formatBytes(bytes)}): ${(e as Error)?.message ?? e}`),
    });
  } catch (e) {
    progress.end();
    if (!(e instanceof HubError)) throw e;
    if (e.code === 'invalid-repo') throw new UsageError(`--${flag} ${value}: ${e.message}`);
    throw new HubError(e.code, cliMessage(e, !!token), e.file);
  }
  await got.close(); // the command reads the files from `dir` itself
  progress.end();
  if (notKept.length > 0) {
    throw new Error(`${label} was downloaded but could not be written to the Hub cache ${dir}: ${notKept.join('; ')}. Free some space or pass --hub-cache DIR.`);
  }
  const fromCache = got.cachedFiles.length === got.files.length;
  process.stderr.write(`${label}: ${fromCache ? 'from the cache' : got.cachedFiles.length ? `downloaded (${got.cachedFiles.length} of ${got.files.length} files from the cache)` : 'downloaded'} in ${dir}\n`);
  return dir;
}

/** A HubError for the terminal: one line, naming the file when the message does not, and how to give a token. */
function cliMessage(e: HubError, hadToken: boolean): string {
  let m = e.message.replace(/\s*\n\s*/g, ' ');
  if (e.file && !m.includes(e.file)) m = `${m.replace(/\.$/, '')} (asking for ${e.file}).`;
  if (e.code === 'gated' && !hadToken) m += ' On the command line, give the token with --hub-token TOKEN or the HF_TOKEN environment variable.';
  return m;
}

/** Download progress on stderr: a redrawn line on a terminal, else a line per file at most every 2 s and at its end. */
class DownloadProgress {
  private readonly tty = Boolean(process.stderr.isTTY);
  private lastLine = 0;
  private drawn = false;

  constructor(private readonly label: string) {}

  update(p: HubProgress): void {
    if (p.cached) return; // reported once, at the end
    const done = p.total > 0 && p.loaded >= p.total;
    const size = p.total > 0 ? `${formatBytes(p.loaded)} / ${formatBytes(p.total)}` : formatBytes(p.loaded);
    const line = `${this.label} ${p.file}  ${size}  ${formatBytes(p.bytesPerSecond)}/s`;
    if (this.tty) {
      process.stderr.write(`\r${line}\x1b[K`);
      this.drawn = true;
    } else if (done || Date.now() - this.lastLine > 2000) {
      process.stderr.write(`${line}\n`);
      this.lastLine = done ? 0 : Date.now();
    }
  }

  end(): void {
    if (this.drawn) process.stderr.write('\n');
    this.drawn = false;
  }
}
