/**
 * A Hub cache in a directory (Node, the CLI): each repo at a revision is one folder,
 * `<root>/<endpoint host>/<owner>--<name>/<revision>/`, holding the repo's files under their own
 * names, so the folder is a model directory readModelPath can load. A file is streamed into
 * `<file>.partial` as it arrives and renamed once complete and of the length received; a broken
 * download removes it, so a final name is only ever a whole file. An optional file the Hub does not
 * have is remembered as an empty `<file>.absent`. Nothing about the request's token is written here.
 */
import { mkdir, open, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { ByteSource } from './byte-source.ts';
import { openFileSource } from './fs-node.ts';
import { blobWriter, type HubCache, type HubFileRef, type HubFileWriter } from './hub.ts';

/** A path segment that stays one segment ("refs/pr/1" → "refs%2Fpr%2F1", ".." → "%2E%2E"). */
const segment = (s: string): string => encodeURIComponent(s).replace(/^\.+$/, (dots) => '%2E'.repeat(dots.length));

/** The folder holding `repo` at `revision` from `endpoint` in the cache at `root`. */
export function hubRepoDir(root: string, endpoint: string, repo: string, revision: string): string {
  const u = new URL(endpoint);
  const host = segment(`${u.host}${u.pathname.replace(/\/+$/, '')}`);
  return path.join(path.resolve(root), host, segment(repo.replace('/', '--')), segment(revision));
}

/** Pieces read back from a .partial when the disk gives out. */
const SALVAGE_BYTES = 4 << 20;

/** The Hub cache in directory `root` (created as needed). */
export function diskHubCache(root: string): HubCache {
  const fileOf = (ref: HubFileRef): string => path.join(hubRepoDir(root, ref.endpoint, ref.repo, ref.revision), ref.file);
  return {
    async get(ref) {
      const file = fileOf(ref);
      const s = await stat(file).catch(() => undefined);
      return s?.isFile() ? named(ref.file, await openFileSource(file)) : undefined;
    },
    async create(ref) {
      const file = fileOf(ref);
      await mkdir(path.dirname(file), { recursive: true });
      return diskWriter(ref.file, file, await open(`${file}.partial`, 'w'));
    },
    async markAbsent(ref) {
      const file = fileOf(ref);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(`${file}.absent`, '');
    },
    async isAbsent(ref) {
      return (await stat(`${fileOf(ref)}.absent`).catch(() => undefined))?.isFile() ?? false;
    },
  };
}

/** The source of a cached file under its repo name (the loaders match names), still closable. */
function named(name: string, src: ByteSource): ByteSource {
  return { name, size: src.size, read: (offset, length, into) => src.read(offset, length, into), close: () => src.close?.() ?? Promise.resolve() };
}

/**
 * Write `name` into `<file>.partial` (open as `fh`), renamed to `file` by finish(). When the disk fails
 * (full, removed), the bytes written so far are read back into a Blob, the .partial is removed, and the
 * rest of the download goes to that Blob: finish() then returns it with the disk's error.
 */
function diskWriter(name: string, file: string, fh: FileHandle): HubFileWriter {
  const partial = `${file}.partial`;
  let handle: FileHandle | undefined = fh;
  let written = 0;
  let fallback: ReturnType<typeof blobWriter> | undefined;
  let failure: unknown;

  const closeHandle = async (): Promise<void> => {
    const h = handle;
    handle = undefined;
    await h?.close().catch(() => {});
  };
  /** Move what reached the disk into a Blob and forget the .partial. */
  const salvage = async (e: unknown): Promise<void> => {
    failure = e;
    await closeHandle();
    fallback = blobWriter(name);
    const h = await open(partial, 'r');
    try {
      for (let at = 0; at < written; at += SALVAGE_BYTES) {
        const piece = new Uint8Array(Math.min(SALVAGE_BYTES, written - at));
        const { bytesRead } = await h.read(piece, 0, piece.length, at);
        if (bytesRead !== piece.length) throw new Error(`${partial} ended at byte ${at + bytesRead} of the ${written} written`);
        await fallback.write(piece);
      }
    } finally {
      await h.close();
    }
    await rm(partial, { force: true });
  };

  return {
    async write(chunk) {
      if (fallback) return fallback.write(chunk);
      try {
        for (let at = 0; at < chunk.byteLength;) at += (await handle!.write(chunk, at, chunk.byteLength - at)).bytesWritten;
        written += chunk.byteLength;
      } catch (e) {
        await salvage(e);
        await fallback!.write(chunk);
      }
    },
    async finish() {
      if (!fallback) {
        try {
          await closeHandle();
          const size = (await stat(partial)).size;
          if (size !== written) throw new Error(`${partial} holds ${size} bytes, not the ${written} downloaded`);
          await rename(partial, file);
          return { source: named(name, await openFileSource(file)) };
        } catch (e) {
          await salvage(e);
        }
      }
      const { source } = await fallback!.finish();
      return { source, cacheError: failure };
    },
    async abort() {
      await closeHandle();
      await rm(partial, { force: true });
      await fallback?.abort();
    },
  };
}
