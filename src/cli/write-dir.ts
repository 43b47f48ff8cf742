/** Writing an output folder all at once: into a temporary sibling, then renamed, so a failure leaves nothing half-written. */
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelFileError } from '../io/errors.ts';

/** Refuse an output folder that exists (nothing is overwritten). */
export async function refuseExisting(dir: string): Promise<void> {
  const exists = await stat(dir).then(() => true, () => false);
  if (exists) throw new ModelFileError(path.resolve(dir), 'the output folder already exists: choose a new --out (nothing was written)', 'format');
}

/** Write `files` (relative path → bytes, or chunks written in order) as the new folder `dir`. */
export async function writeDirAtomic(dir: string, files: ReadonlyMap<string, Uint8Array | readonly Uint8Array[]>): Promise<void> {
  const final = path.resolve(dir);
  await refuseExisting(final);
  const tmp = `${final}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    for (const [name, content] of files) {
      const p = path.join(tmp, name);
      await mkdir(path.dirname(p), { recursive: true });
      const f = await open(p, 'w');
      try {
        for (const chunk of content instanceof Uint8Array ? [content] : content) await f.writeFile(chunk); // whole chunk, from the current position
      } finally {
        await f.close();
      }
    }
    await rename(tmp, final);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
