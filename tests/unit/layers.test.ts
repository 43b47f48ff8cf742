/**
 * The import rules of .dependency-cruiser.cjs (layers, the UI's narrow view of the engine, no run-time
 * cycles, every import resolving) hold for src/ and bench/, with no exceptions. depcruise is run as
 * its CLI, so this checks exactly what `npx depcruise src bench --config .dependency-cruiser.cjs` does.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

interface Violation { rule: { name: string }; from: string; to: string }

describe('import rules', () => {
  it('src and bench import only downwards, with no exceptions listed', async () => {
    const config = readFileSync('.dependency-cruiser.cjs', 'utf8');
    // Exceptions would be a baseline file or rules switched off: neither is allowed.
    expect(config).not.toMatch(/known-violations|severity:\s*'(ignore|info|warn)'/);
    let stdout: string;
    try {
      ({ stdout } = await run(process.execPath, [
        'node_modules/dependency-cruiser/bin/dependency-cruise.mjs', 'src', 'bench',
        '--config', '.dependency-cruiser.cjs', '--output-type', 'json',
      ], { maxBuffer: 64 << 20 }));
    } catch (e) {
      stdout = (e as { stdout?: string }).stdout ?? '';
      if (!stdout) throw e;
    }
    const result = JSON.parse(stdout) as { summary: { violations: Violation[]; totalCruised: number } };
    const lines = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
    expect(lines).toEqual([]);
    expect(result.summary.totalCruised).toBeGreaterThan(200); // it looked at the whole tree
  }, 60_000);
});
