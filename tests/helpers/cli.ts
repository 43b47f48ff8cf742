/** Running the command line as users do (`npm run cli -- ...`) from the repository root. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `npm run cli -- ...args` and collect its exit code and output. */
export function cli(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', 'cli', '--', ...args], { cwd: ROOT, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
