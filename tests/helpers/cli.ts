/**
 * Running the command line as users do: the command `npm run cli` runs (package.json's "cli" script),
 * started directly with this Node from the repository root (npm itself adds half a second per call).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** package.json's "cli" script as [executable, ...arguments], `node` being this Node. */
export const CLI_COMMAND: readonly string[] = (() => {
  const script = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: { cli: string } }).scripts.cli;
  const [exe, ...args] = script.split(/\s+/);
  if (exe !== 'node') throw new Error(`package.json's "cli" script does not start with node: ${script}`);
  return [process.execPath, ...args];
})();

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `npm run cli -- ...args` (as above) and collect its exit code and output. */
export function cli(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(CLI_COMMAND[0]!, [...CLI_COMMAND.slice(1), ...args], { cwd: ROOT, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
