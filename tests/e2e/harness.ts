/**
 * End-to-end harness: the app (its production build, or the dev server) served by Vite on 127.0.0.1 at a free port, Debian's Chromium driven
 * by playwright-core with WebGPU on SwiftShader, pages that record console output and uncaught
 * errors, and screenshots under test-results/screenshots/.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build, createServer, preview } from 'vite';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const fixturesDir = path.resolve(repoRoot, '../shared/fixtures/stories260K');
export const screenshotsDir = path.resolve(repoRoot, 'test-results/screenshots');

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags shared by every launch: no sandbox (we run as root), nothing phoning home. */
const BASE_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * WebGPU on SwiftShader. Verified on Chromium 156 here: --enable-unsafe-webgpu alone is what makes
 * an adapter appear on Linux; --use-webgpu-adapter=swiftshader pins the software adapter so a
 * machine with a real GPU runs the same thing; --enable-features=Vulkan is harmless (the adapter
 * is found without it); --disable-gpu-sandbox is not needed.
 */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'];

/** Launch Chromium, failing at once with what to install when it is missing. */
export async function launchChromium(opts: { webgpu: boolean }): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. Install Debian's package (apt-get install -y chromium) ` +
        'or set CHROMIUM_PATH to a Chromium or Chrome executable.',
    );
  }
  try {
    return await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [...(opts.webgpu ? WEBGPU_ARGS : []), ...BASE_ARGS],
      timeout: 30_000,
    });
  } catch (e) {
    throw new Error(`Could not launch Chromium at ${CHROMIUM_PATH} (package chromium, or set CHROMIUM_PATH): ${(e as Error).message}`);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A server of the app on 127.0.0.1 (a secure context, so navigator.gpu exists). */
export interface AppServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The app on 127.0.0.1: 'built' serves the production build (`npm run build`, made once per source
 * state, see builtApp) with `vite preview`; 'dev' runs the dev server `npm start` runs.
 */
export async function startAppServer(mode: 'dev' | 'built' = 'built'): Promise<AppServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  if (mode === 'built') {
    const server = await preview({ ...VITE_COMMON, mode: E2E_MODE, build: { outDir: await builtApp() }, preview: { host: '127.0.0.1', port, strictPort: true } });
    return { url, close: () => server.close() };
  }
  const server = await createServer({
    ...VITE_COMMON,
    server: { host: '127.0.0.1', port, strictPort: true, hmr: false, watch: null },
    // E2E_VITE_CACHE_DIR: a fresh dependency cache, to test a cold start (default: node_modules/.vite).
    cacheDir: process.env.E2E_VITE_CACHE_DIR,
  });
  await server.listen();
  return { url, close: () => server.close() };
}

/** What every Vite server and build of the tests shares. */
const VITE_COMMON = { root: repoRoot, configFile: path.join(repoRoot, 'vite.config.ts'), logLevel: 'warn' as const, clearScreen: false };
/** The build mode of the tests' production build: like `npm run build`, with the engine handle on window (src/main.tsx). */
const E2E_MODE = 'e2e';
const BUILD_INPUTS = ['index.html', 'vite.config.ts', 'package-lock.json', 'src', 'shaders', 'public'];
const buildsDir = path.join(repoRoot, 'node_modules/.cache/subspace-e2e');

/**
 * The production build of the app as the sources are now, under node_modules/.cache/subspace-e2e/<sha256 of
 * the build's inputs>: made by the first test file that needs it (files running at once may both build; the
 * first rename wins) and reused until a source changes. Pages load it in about half the dev server's time.
 */
async function builtApp(): Promise<string> {
  const hash = createHash('sha256');
  const add = (p: string) => {
    const full = path.join(repoRoot, p);
    if (statSync(full).isDirectory()) for (const name of readdirSync(full).sort()) add(path.join(p, name));
    else hash.update(`${p}\0`).update(readFileSync(full)).update('\0');
  };
  BUILD_INPUTS.forEach(add);
  const key = hash.digest('hex').slice(0, 16);
  const outDir = path.join(buildsDir, key);
  if (existsSync(path.join(outDir, 'index.html'))) return outDir;
  const tmp = `${outDir}.${process.pid}.tmp`;
  await build({ ...VITE_COMMON, mode: E2E_MODE, build: { outDir: tmp, emptyOutDir: true } });
  try {
    renameSync(tmp, outDir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another file's build got there first
  }
  for (const old of readdirSync(buildsDir)) if (old !== key && !old.endsWith('.tmp')) rmSync(path.join(buildsDir, old), { recursive: true, force: true });
  return outDir;
}

/** A page in a fresh context that records console errors and uncaught exceptions (page and workers). */
export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions in the page: any of these fails the test. */
  pageErrors: string[];
  /** console.error / console.warn lines from the page and its workers, for the failure report. */
  consoleLines: string[];
}

export async function openPage(browser: Browser, url: string, init?: (context: BrowserContext) => Promise<void>): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  if (init) await init(context);
  const page = await context.newPage();
  const watched: WatchedPage = { context, page, pageErrors: [], consoleLines: [] };
  page.on('pageerror', (e) => watched.pageErrors.push(`${e.name}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') watched.consoleLines.push(`[page ${m.type()}] ${m.text()}`);
  });
  page.on('worker', (w) =>
    w.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') watched.consoleLines.push(`[worker ${m.type()}] ${m.text()}`);
    }),
  );
  await page.goto(url);
  return watched;
}

/** Throw (naming every problem) when the page had uncaught errors; then close its context. */
export async function closePage(watched: WatchedPage | null): Promise<void> {
  if (!watched) return;
  await watched.context.close();
  if (watched.consoleLines.length > 0) console.log(`console output from the page:\n${watched.consoleLines.join('\n')}`);
  if (watched.pageErrors.length > 0) {
    throw new Error(`uncaught errors in the page:\n${watched.pageErrors.join('\n')}`);
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotsDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotsDir, `${name}.png`), fullPage: true });
}
