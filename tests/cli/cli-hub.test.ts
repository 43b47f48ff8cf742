/**
 * `cli generate --model hf:owner/name` against a local Hub (the huggingface.co URL layout and
 * X-Error-Code headers) serving stories260K in the HF layout as a private repo: 401 without
 * `Authorization: Bearer <token>`, 403 with a wrong one. Without a token the CLI exits non-zero with
 * one line saying the repo is gated and how to give a token; with HF_TOKEN or --hub-token it
 * downloads into the cache and generates the golden sample; a second run reads the cache (found
 * through XDG_CACHE_HOME) without a request. The token is in no output, file name or cached file.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportHfModel } from '../../src/io/export-hf.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { llama2cToTokenizerJson, llama2cTokenizerConfig } from '../../src/io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { CLI_COMMAND, ROOT, type CliResult } from '../helpers/cli.ts';
import { GOLDEN_TEXT, readFixture, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';

const REPO = 'acme/private-stories';
const TOKEN = 'hf_cliSecretToken7731';
const hf = exportHfModel(parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin'), llama2cToTokenizerJson(Llama2cTokenizer.fromBytes(readFixture(TOK512_BIN), 'tok512.bin')), llama2cTokenizerConfig());

let server: Server;
let endpoint = '';
let work = '';
/** Every request: path and Authorization header. */
const hits: { path: string; auth: string | undefined }[] = [];
/** Everything every run printed, for the token check at the end. */
const printed: string[] = [];

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'subspace-cli-hub-'));
  server = createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const auth = req.headers.authorization;
    hits.push({ path: p, auth });
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p);
    if (!m || m[1] !== REPO) return void res.writeHead(404, { 'X-Error-Code': 'RepoNotFound' }).end('Repository not found');
    if (auth !== `Bearer ${TOKEN}`) return void res.writeHead(auth ? 403 : 401, { 'X-Error-Code': 'GatedRepo' }).end('gated');
    if (m[2] !== 'main') return void res.writeHead(404, { 'X-Error-Code': 'RevisionNotFound' }).end('Invalid rev id');
    const body = hf.get(m[3]!);
    if (!body) return void res.writeHead(404, { 'X-Error-Code': 'EntryNotFound' }).end('Entry not found');
    res.writeHead(200, { 'Content-Length': body.byteLength, 'Content-Type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await rm(work, { recursive: true, force: true });
});

/** The CLI (tests/helpers/cli.ts's command) with exactly `env` for the Hub variables (the caller's HF_* are not inherited). */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(HF_|XDG_CACHE_HOME$)/.test(k)));
  return new Promise((resolve) => {
    const options = { cwd: ROOT, maxBuffer: 1 << 24, env: { ...base, ...env } };
    execFile(CLI_COMMAND[0]!, [...CLI_COMMAND.slice(1), ...args], options, (err, stdout, stderr) => {
      printed.push(stdout, stderr);
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const generateArgs = ['generate', '--model', `hf:${REPO}`, '--max-tokens', '131', '--json'];
/** stderr without npm's own config warnings. */
const errLines = (r: CliResult): string[] => r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn'));

/** Every file under `dir`, relative, and those whose name or bytes contain the token. */
async function cacheFiles(dir: string): Promise<{ files: string[]; leaking: string[] }> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const files = entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
  const leaking: string[] = [];
  for (const f of files) if (f.includes(TOKEN) || (await readFile(path.join(dir, f))).includes(TOKEN)) leaking.push(f);
  return { files, leaking };
}

describe('cli --model hf:owner/name', () => {
  const xdg = () => path.join(work, 'xdg');
  const cacheDir = () => path.join(xdg(), 'subspace', 'hub');

  it('without a token: exit 1 and one line saying the repo is gated and how to give a token; nothing cached', async () => {
    const r = await cli([...generateArgs, '--hub-endpoint', endpoint, '--hub-cache', cacheDir()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(errLines(r)).toEqual([
      `error: ${REPO} is gated or private (HTTP 401): give a Hugging Face access token (huggingface.co/settings/tokens) with access to it, ` +
        'or download its files and load them from disk (asking for config.json). ' +
        'On the command line, give the token with --hub-token TOKEN or the HF_TOKEN environment variable.',
    ]);
    expect((await cacheFiles(cacheDir())).files).toEqual([]);
  });

  it('a wrong token: exit 1, the Hub refused it, the token not printed', async () => {
    const r = await cli([...generateArgs, '--hub-endpoint', endpoint, '--hub-cache', cacheDir(), '--hub-token', 'hf_wrongToken55']);
    expect(r.code).toBe(1);
    expect(errLines(r)).toEqual([
      `error: The Hub refused the access token for ${REPO} (HTTP 403): check that it has read access and that you accepted the repo's terms on huggingface.co (asking for config.json).`,
    ]);
    expect(r.stderr + r.stdout).not.toContain('hf_wrongToken55');
  });

  it('with HF_TOKEN: downloads into --hub-cache and generates the golden sample; the token went only as Authorization', async () => {
    const before = hits.length;
    const r = await cli([...generateArgs, '--hub-endpoint', endpoint, '--hub-cache', cacheDir()], { HF_TOKEN: TOKEN });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { text: string }).text).toBe(GOLDEN_TEXT);
    const mine = hits.slice(before);
    expect(mine.map((h) => h.path)).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => `/${REPO}/resolve/main/${f}`));
    expect(mine.every((h) => h.auth === `Bearer ${TOKEN}`)).toBe(true);
    const dir = path.join(cacheDir(), `127.0.0.1%3A${new URL(endpoint).port}`, 'acme--private-stories', 'main');
    expect(errLines(r).at(-1)).toBe(`${REPO}@main: downloaded in ${dir}`);
    const { files, leaking } = await cacheFiles(cacheDir());
    expect(files).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => path.relative(cacheDir(), path.join(dir, f))));
    expect(leaking).toEqual([]);
    expect((await readFile(path.join(dir, 'model.safetensors'))).equals(hf.get('model.safetensors')!)).toBe(true);
  });

  it('with --hub-token, HF_ENDPOINT and the default cache ($XDG_CACHE_HOME/subspace/hub): served from the cache, no request', async () => {
    const before = hits.length;
    const r = await cli(['generate', '--model', `hf:${REPO}@main`, '--max-tokens', '131', '--json', '--hub-token', TOKEN], { HF_ENDPOINT: endpoint, XDG_CACHE_HOME: xdg() });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { text: string }).text).toBe(GOLDEN_TEXT);
    expect(hits.slice(before)).toEqual([]);
    expect(errLines(r).at(-1)).toMatch(new RegExp(`^${REPO}@main: from the cache in ${cacheDir().replace(/[.]/g, '\\.')}/`));
  });

  it('a missing revision and a malformed repo id are one-line errors naming them', async () => {
    const rev = await cli(['generate', '--model', `hf:${REPO}@v9`, '--hub-endpoint', endpoint, '--hub-cache', cacheDir(), '--hub-token', TOKEN]);
    expect(rev.code).toBe(1);
    expect(errLines(rev)).toEqual([`error: Revision "v9" was not found in ${REPO}.`]);
    const bad = await cli(['generate', '--model', 'hf:not a repo', '--hub-cache', cacheDir()]);
    expect(bad.code).toBe(2); // a usage error: printed with the usage
    expect(errLines(bad)[0]).toBe('error: --model hf:not a repo: "not a repo" is not a Hugging Face repo id: expected "owner/name", e.g. "karpathy/tinyllamas"');
  });

  it('the token is in no output of any run and nowhere in the cache', async () => {
    expect(printed.length).toBeGreaterThanOrEqual(12);
    expect(printed.filter((s) => s.includes(TOKEN))).toEqual([]);
    expect((await cacheFiles(xdg())).leaking).toEqual([]);
  });
});
