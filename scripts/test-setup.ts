/**
 * Runs before `vitest run` (npm test): checks that what the tests need is installed — Debian's
 * chromium (the browser for the e2e tests and, in its folder, SwiftShader's Vulkan ICD for Node)
 * and libvulkan1 (the Vulkan loader Dawn opens). When something is missing it installs it with
 * apt-get if it runs as root, saying so in one line; otherwise it stops before any test with the
 * command to run. CHROMIUM_PATH and VK_ICD_FILENAMES (or VK_DRIVER_FILES) replace Debian's browser
 * and ICD, as the README's "What the tests need" says.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** The browser the e2e harness launches unless CHROMIUM_PATH is set (tests/e2e/harness.ts). */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';
/** SwiftShader's ICD, which src/gpu/node-device.ts uses unless VK_ICD_FILENAMES / VK_DRIVER_FILES is set. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
/** The Vulkan loader's soname, as `ldconfig -p` lists it. */
export const VULKAN_LOADER = 'libvulkan.so.1';

/** What the machine has, probed once (injected in tests). */
export interface SetupProbe {
  env: { CHROMIUM_PATH?: string; VK_ICD_FILENAMES?: string; VK_DRIVER_FILES?: string };
  exists: (path: string) => boolean;
  /** `ldconfig -p` lists libvulkan.so.1. */
  hasVulkanLoader: boolean;
  isRoot: boolean;
  hasAptGet: boolean;
}

/** What to do about it. */
export type SetupPlan =
  | { action: 'ok' }
  | { action: 'install'; packages: string[]; say: string }
  | { action: 'stop'; say: string };

/** A missing Debian package and the file whose absence showed it. */
interface Missing {
  pkg: 'chromium' | 'libvulkan1';
  file: string;
}

const SETUP_DOC = 'README.md, "What the tests need"';

/** The Vulkan ICD files an override names (VK_ICD_FILENAMES wins over VK_DRIVER_FILES, as in the loader); null for none. */
function icdOverride(env: SetupProbe['env']): { variable: string; files: string[] } | null {
  for (const variable of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES'] as const) {
    const value = env[variable]?.trim();
    if (value) return { variable, files: value.split(':').filter((f) => f !== '') };
  }
  return null;
}

/** The decision: nothing to do, install these packages (root with apt-get), or stop with what to run. */
export function planSetup(probe: SetupProbe): SetupPlan {
  const { env, exists } = probe;
  const missing: Missing[] = [];
  const chromiumPath = env.CHROMIUM_PATH?.trim();
  if (chromiumPath) {
    if (!exists(chromiumPath)) {
      return { action: 'stop', say: `test setup: CHROMIUM_PATH=${chromiumPath} does not exist; point it at a Chromium or Chrome executable, or unset it to use Debian's ${DEBIAN_CHROMIUM} (${SETUP_DOC}).` };
    }
  } else if (!exists(DEBIAN_CHROMIUM)) {
    missing.push({ pkg: 'chromium', file: DEBIAN_CHROMIUM });
  }
  const icd = icdOverride(env);
  if (icd) {
    if (!icd.files.some(exists)) {
      return { action: 'stop', say: `test setup: ${icd.variable}=${icd.files.join(':')} names no existing Vulkan ICD file; point it at your driver's ICD JSON, or unset it to use Chromium's SwiftShader (${SWIFTSHADER_ICD}) (${SETUP_DOC}).` };
    }
  } else if (!exists(SWIFTSHADER_ICD) && !missing.some((m) => m.pkg === 'chromium')) {
    missing.push({ pkg: 'chromium', file: SWIFTSHADER_ICD });
  }
  if (!probe.hasVulkanLoader) missing.push({ pkg: 'libvulkan1', file: VULKAN_LOADER });
  if (missing.length === 0) return { action: 'ok' };

  const packages = missing.map((m) => m.pkg);
  const what = missing.map((m) => `${m.file} (${m.pkg})`).join(', ');
  if (probe.isRoot && probe.hasAptGet) {
    return { action: 'install', packages, say: `test setup: installing ${packages.join(' ')} with apt-get (missing: ${what})` };
  }
  if (!probe.hasAptGet) {
    return {
      action: 'stop',
      say: `test setup: missing ${what}, and this is not a Debian or Ubuntu machine (no apt-get): install Chromium and the Vulkan loader, then set CHROMIUM_PATH and VK_ICD_FILENAMES (${SETUP_DOC}).`,
    };
  }
  return {
    action: 'stop',
    say: `test setup: missing ${what}. Install ${packages.length > 1 ? 'them' : 'it'}, then run npm test again:\n  sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`,
  };
}

/** Runs a command; returns its exit status and what it printed. */
export type Exec = (cmd: string, args: string[], env: Record<string, string>) => { status: number; output: string };

/** The apt-get commands that install `packages`, non-interactively and without recommends. */
export function aptCommands(packages: readonly string[]): [string, string[]][] {
  return [
    ['apt-get', ['update', '-qq']],
    ['apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages]],
  ];
}

/**
 * Carry out the plan for `probe`, printing through `say`; after an install the machine is probed
 * again with `reprobe`. Returns the exit code for npm test: 0 to go on to vitest, 1 to stop.
 */
export function runSetup(probe: SetupProbe, exec: Exec, say: (line: string) => void, reprobe: () => SetupProbe): number {
  const plan = planSetup(probe);
  if (plan.action === 'ok') return 0;
  say(plan.say);
  if (plan.action === 'stop') return 1;
  for (const [cmd, args] of aptCommands(plan.packages)) {
    const r = exec(cmd, args, { DEBIAN_FRONTEND: 'noninteractive' });
    if (r.status !== 0) {
      const tail = r.output.trim().split('\n').slice(-5).join('\n');
      say(`test setup: \`${cmd} ${args.join(' ')}\` failed (exit ${r.status})${tail ? `:\n${tail}` : ''}`);
      return 1;
    }
  }
  const after = planSetup(reprobe());
  if (after.action !== 'ok') {
    say(`test setup: still missing after apt-get install ${plan.packages.join(' ')}: ${after.say.replace(/^test setup: /, '')}`);
    return 1;
  }
  return 0;
}

/** This machine, as the tests will find it. */
export function probeMachine(): SetupProbe {
  const ldconfig = ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']
    .map((cmd) => spawnSync(cmd, ['-p'], { encoding: 'utf8' }))
    .find((r) => r.status === 0);
  // Without ldconfig (not a glibc system), look where Debian and most distributions keep the loader.
  const loaderDirs = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];
  const hasAptGet = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  return {
    env: { CHROMIUM_PATH: process.env.CHROMIUM_PATH, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES, VK_DRIVER_FILES: process.env.VK_DRIVER_FILES },
    exists: existsSync,
    hasVulkanLoader: ldconfig ? ldconfig.stdout.includes(VULKAN_LOADER) : loaderDirs.some((d) => existsSync(`${d}/${VULKAN_LOADER}`)),
    isRoot: process.getuid?.() === 0,
    hasAptGet,
  };
}

/** Runs a command for real, its output captured (apt's progress would drown the one line). */
const execForReal: Exec = (cmd, args, env) => {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status ?? 1, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = runSetup(probeMachine(), execForReal, (line) => console.error(line), probeMachine);
}
