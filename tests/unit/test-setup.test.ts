/**
 * npm test's set-up step (scripts/test-setup.ts): which of Debian's chromium and libvulkan1 are
 * missing → what it does and says, with the machine's answers injected and apt-get never run; then
 * the script itself on this machine, where a bad override must stop it before any test.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEBIAN_CHROMIUM, planSetup, runSetup, SWIFTSHADER_ICD, type Exec, type SetupProbe,
} from '../../scripts/test-setup.ts';

/** A machine with `files` on disk; by default root, with apt-get and the Vulkan loader. */
function machine(files: string[], over: Partial<SetupProbe> = {}): SetupProbe {
  const have = new Set(files);
  return { env: {}, exists: (p) => have.has(p), hasVulkanLoader: true, isRoot: true, hasAptGet: true, ...over };
}
const DEBIAN = [DEBIAN_CHROMIUM, SWIFTSHADER_ICD];
const BARE = machine([], { hasVulkanLoader: false });

describe('planSetup: what is missing → what the set-up does', () => {
  it('everything installed: nothing to do, nothing said', () => {
    expect(planSetup(machine(DEBIAN))).toEqual({ action: 'ok' });
    expect(planSetup(machine(DEBIAN, { isRoot: false, hasAptGet: false }))).toEqual({ action: 'ok' });
  });

  it('as root on a bare machine: installs both, saying so in one line', () => {
    const plan = planSetup(BARE);
    expect(plan).toEqual({
      action: 'install',
      packages: ['chromium', 'libvulkan1'],
      say: 'test setup: installing chromium libvulkan1 with apt-get (missing: /usr/bin/chromium (chromium), libvulkan.so.1 (libvulkan1))',
    });
    expect(plan.action === 'install' && plan.say.includes('\n')).toBe(false);
  });

  it('only what is missing is installed', () => {
    expect(planSetup(machine(DEBIAN, { hasVulkanLoader: false }))).toMatchObject({ action: 'install', packages: ['libvulkan1'] });
    expect(planSetup(machine([]))).toMatchObject({ action: 'install', packages: ['chromium'] });
    // The browser without its SwiftShader ICD (a Chromium from elsewhere at /usr/bin/chromium): Debian's package is still needed.
    expect(planSetup(machine([DEBIAN_CHROMIUM]))).toEqual({
      action: 'install', packages: ['chromium'],
      say: 'test setup: installing chromium with apt-get (missing: /usr/lib/chromium/vk_swiftshader_icd.json (chromium))',
    });
  });

  it('not root: stops with the one command to run', () => {
    expect(planSetup({ ...BARE, isRoot: false })).toEqual({
      action: 'stop',
      say: 'test setup: missing /usr/bin/chromium (chromium), libvulkan.so.1 (libvulkan1). Install them, then run npm test again:\n' +
        '  sudo apt-get update && sudo apt-get install -y chromium libvulkan1',
    });
    expect(planSetup(machine(DEBIAN, { isRoot: false, hasVulkanLoader: false }))).toEqual({
      action: 'stop',
      say: 'test setup: missing libvulkan.so.1 (libvulkan1). Install it, then run npm test again:\n  sudo apt-get update && sudo apt-get install -y libvulkan1',
    });
  });

  it('no apt-get (not Debian or Ubuntu): stops and says what to install and set', () => {
    expect(planSetup({ ...BARE, hasAptGet: false })).toEqual({
      action: 'stop',
      say: 'test setup: missing /usr/bin/chromium (chromium), libvulkan.so.1 (libvulkan1), and this is not a Debian or Ubuntu machine (no apt-get): ' +
        'install Chromium and the Vulkan loader, then set CHROMIUM_PATH and VK_ICD_FILENAMES (README.md, "What the tests need").',
    });
  });

  it('CHROMIUM_PATH and VK_ICD_FILENAMES replace Debian\'s chromium; libvulkan1 is still needed', () => {
    const own = machine(['/opt/chrome/chrome', '/etc/vulkan/icd.d/nvidia_icd.json'], {
      env: { CHROMIUM_PATH: '/opt/chrome/chrome', VK_ICD_FILENAMES: '/etc/vulkan/icd.d/nvidia_icd.json' },
    });
    expect(planSetup(own)).toEqual({ action: 'ok' });
    expect(planSetup({ ...own, env: { CHROMIUM_PATH: '/opt/chrome/chrome', VK_DRIVER_FILES: '/etc/vulkan/icd.d/nvidia_icd.json' } })).toEqual({ action: 'ok' });
    expect(planSetup({ ...own, hasVulkanLoader: false })).toMatchObject({ action: 'install', packages: ['libvulkan1'] });
    // Only the browser overridden: Node still needs SwiftShader's ICD from Debian's chromium.
    expect(planSetup({ ...own, env: { CHROMIUM_PATH: '/opt/chrome/chrome' } })).toMatchObject({ action: 'install', packages: ['chromium'] });
    // Only the ICD overridden: the e2e tests still need /usr/bin/chromium.
    expect(planSetup({ ...own, env: { VK_ICD_FILENAMES: '/etc/vulkan/icd.d/nvidia_icd.json' } })).toMatchObject({ action: 'install', packages: ['chromium'] });
    // A list of ICDs is fine when one of them exists.
    expect(planSetup({ ...own, env: { CHROMIUM_PATH: '/opt/chrome/chrome', VK_ICD_FILENAMES: '/gone.json:/etc/vulkan/icd.d/nvidia_icd.json' } })).toEqual({ action: 'ok' });
  });

  it('an override naming no file stops at once (apt-get cannot fix it)', () => {
    expect(planSetup(machine(DEBIAN, { env: { CHROMIUM_PATH: '/opt/nothing/chrome' } }))).toEqual({
      action: 'stop',
      say: 'test setup: CHROMIUM_PATH=/opt/nothing/chrome does not exist; point it at a Chromium or Chrome executable, or unset it to use Debian\'s /usr/bin/chromium (README.md, "What the tests need").',
    });
    expect(planSetup(machine(DEBIAN, { env: { VK_ICD_FILENAMES: '/a.json:/b.json' } }))).toEqual({
      action: 'stop',
      say: 'test setup: VK_ICD_FILENAMES=/a.json:/b.json names no existing Vulkan ICD file; point it at your driver\'s ICD JSON, or unset it to use Chromium\'s SwiftShader (/usr/lib/chromium/vk_swiftshader_icd.json) (README.md, "What the tests need").',
    });
  });
});

describe('runSetup: the commands it runs and the exit code', () => {
  /** An exec that records the commands and answers with `status` for the i-th one. */
  function recorder(statuses: number[] = [], output = '') {
    const calls: [string, string[], Record<string, string>][] = [];
    const exec: Exec = (cmd, args, env) => {
      calls.push([cmd, args, env]);
      return { status: statuses[calls.length - 1] ?? 0, output };
    };
    return { calls, exec };
  }

  it('as root: one line, apt-get update then install without recommends, non-interactive; then probes again', () => {
    const { calls, exec } = recorder();
    const said: string[] = [];
    let reprobes = 0;
    const code = runSetup(BARE, exec, (l) => said.push(l), () => (reprobes++, machine(DEBIAN)));
    expect(code).toBe(0);
    expect(said).toEqual(['test setup: installing chromium libvulkan1 with apt-get (missing: /usr/bin/chromium (chromium), libvulkan.so.1 (libvulkan1))']);
    expect(calls).toEqual([
      ['apt-get', ['update', '-qq'], { DEBIAN_FRONTEND: 'noninteractive' }],
      ['apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium', 'libvulkan1'], { DEBIAN_FRONTEND: 'noninteractive' }],
    ]);
    expect(reprobes).toBe(1);
  });

  it('nothing missing: no command, no line, exit 0', () => {
    const { calls, exec } = recorder();
    const said: string[] = [];
    expect(runSetup(machine(DEBIAN), exec, (l) => said.push(l), () => machine(DEBIAN))).toBe(0);
    expect(calls).toEqual([]);
    expect(said).toEqual([]);
  });

  it('not root: the command to run, exit 1, apt-get never called', () => {
    const { calls, exec } = recorder();
    const said: string[] = [];
    expect(runSetup({ ...BARE, isRoot: false }, exec, (l) => said.push(l), () => BARE)).toBe(1);
    expect(calls).toEqual([]);
    expect(said).toHaveLength(1);
    expect(said[0]!.endsWith('\n  sudo apt-get update && sudo apt-get install -y chromium libvulkan1')).toBe(true);
  });

  it('a failing apt-get stops with its exit status and its last lines', () => {
    const { calls, exec } = recorder([0, 100], 'Reading package lists...\nE: Unable to locate package chromium\n');
    const said: string[] = [];
    expect(runSetup(BARE, exec, (l) => said.push(l), () => BARE)).toBe(1);
    expect(calls).toHaveLength(2);
    expect(said[1]).toBe(
      'test setup: `apt-get install -y -qq --no-install-recommends chromium libvulkan1` failed (exit 100):\nReading package lists...\nE: Unable to locate package chromium',
    );
  });

  it('an install that leaves something missing stops, naming it', () => {
    const { exec } = recorder();
    const said: string[] = [];
    expect(runSetup(BARE, exec, (l) => said.push(l), () => machine(DEBIAN, { hasVulkanLoader: false }))).toBe(1);
    expect(said[1]).toBe('test setup: still missing after apt-get install chromium libvulkan1: installing libvulkan1 with apt-get (missing: libvulkan.so.1 (libvulkan1))');
  });
});

describe('the script on this machine', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/test-setup.ts'], { env: { ...process.env, ...env }, encoding: 'utf8' });

  it('npm test runs it before vitest, and vitest still writes test-results/vitest.json', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.test).toBe('node --import tsx scripts/test-setup.ts && vitest run');
    expect(readFileSync('vite.config.ts', 'utf8')).toContain("['json', { outputFile: 'test-results/vitest.json' }]");
  });

  it('passes silently where the tests run (this machine has what they need)', () => {
    const r = run({});
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '', '']);
  });

  it('stops before any test when CHROMIUM_PATH names nothing', () => {
    const r = run({ CHROMIUM_PATH: '/nonexistent/chrome' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('test setup: CHROMIUM_PATH=/nonexistent/chrome does not exist; point it at a Chromium or Chrome executable, or unset it to use Debian\'s /usr/bin/chromium (README.md, "What the tests need").\n');
  });

  it('.ci/run calls exactly npm test and has no apt logic of its own', () => {
    const ci = readFileSync('.ci/run', 'utf8');
    expect(ci.match(/^npm test.*$/gm)).toEqual(['npm test']);
    expect(ci).not.toMatch(/apt-get/);
    expect(execFileSync('bash', ['-n', '.ci/run'], { encoding: 'utf8' })).toBe('');
  });
});
