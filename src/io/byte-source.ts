/**
 * Random access to a file's bytes without holding the file: a browser File (File.slice), a Node file
 * (positioned reads, fs-node.ts fileSource), a Hub download cached in the browser (a Blob), or bytes
 * already in memory. Weights are read through it one tensor at a time.
 */
import { ModelFileError } from './errors.ts';

export interface ByteSource {
  /** The file's name (or path) for error messages. */
  readonly name: string;
  readonly size: number;
  /** Bytes [offset, offset + length) of the file; `into` (≥ length bytes) is filled and returned when given. */
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  /** Release the handle a file source holds (Node's open files); sources in memory have none. */
  close?(): Promise<void>;
}

/** The last part of a path ("dir/config.json" → "config.json"), for either separator. */
export const baseName = (name: string): string => name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);

/** Check a read's range against the source, naming the file. */
export function checkRange(src: ByteSource, offset: number, length: number): void {
  if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= src.size)) {
    throw new Error(`${src.name}: read of bytes [${offset}, ${offset + length}) is outside the file (${src.size} bytes)`);
  }
}

/** Bytes in memory as a source (no copy: reads are views unless `into` is given). */
export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  const src: ByteSource = {
    name,
    size: bytes.length,
    async read(offset, length, into) {
      checkRange(src, offset, length);
      const view = bytes.subarray(offset, offset + length);
      if (!into) return view;
      into.set(view);
      return into.subarray(0, length);
    },
  };
  return src;
}

/** A Blob or File as a source: each read is one slice of it. */
export function blobSource(name: string, blob: Blob): ByteSource {
  const src: ByteSource = {
    name,
    size: blob.size,
    async read(offset, length, into) {
      checkRange(src, offset, length);
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
      } catch (e) {
        // A picked File the user changed, moved or deleted since: the browser refuses to read it (NotReadableError).
        throw new ModelFileError(name, `can no longer be read (${(e as Error).name ?? 'error'}: changed, moved or deleted since it was loaded?): load it again`, 'missing-file');
      }
      if (!into) return bytes;
      into.set(bytes);
      return into.subarray(0, length);
    },
  };
  return src;
}
