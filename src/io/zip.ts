/**
 * ZIP archives through fflate: written to hand a folder of exported files (a peft adapter, an HF
 * model) to the browser as one download, read to import one back — including the archives `zip`,
 * Python's zipfile/shutil, macOS Finder and Windows make (deflated entries, data descriptors,
 * `__MACOSX/` folders, backslashes in names).
 *
 * Layout (APPNOTE 6.3.x, little-endian): for each file a local header (30 bytes + name + extra)
 * followed by its data; then the central directory (46 bytes + name + extra + comment per file); then
 * the end-of-central-directory record (22 bytes + comment). Methods 0 (stored) and 8 (deflated).
 * No ZIP64: every file and the whole archive stay under 4 GiB, and at most 65,535 entries.
 */
import { inflateSync, zipSync, type Zippable } from 'fflate';

export interface ZipEntry {
  name: string;
  bytes: Uint8Array;
}

/** The largest uncompressed entry readZip inflates: a larger declared size is refused before any allocation. */
export const MAX_ENTRY_BYTES = 2 ** 31;
/** The largest uncompressed total readZip accepts over all entries. */
export const MAX_TOTAL_BYTES = 2 ** 32;

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const END_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const LIMIT = 0xffffffff;
/** Names of the compression methods an archive may use that we cannot read (APPNOTE 4.4.5). */
const METHOD_NAMES: Record<number, string> = { 1: 'shrunk', 6: 'imploded', 9: 'deflate64', 12: 'bzip2', 14: 'LZMA', 93: 'Zstandard', 95: 'XZ', 98: 'PPMd', 99: 'AES-encrypted' };

let crcTable: Uint32Array | null = null;

/** CRC-32 of `bytes` (the checksum ZIP, gzip and PNG use). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * Whether writeZip stores `name` uncompressed: float tensors barely deflate (the built-in model's
 * model.safetensors by 7%, at about 7 MB/s on a 2-core machine), everything else (JSON, tokenizers) does.
 */
export const storedUncompressed = (name: string): boolean => name.toLowerCase().endsWith('.safetensors');

const gib = (n: number): string => `${(n / 2 ** 30).toFixed(n % 2 ** 30 === 0 ? 0 : 2)} GiB`;

/**
 * One ZIP archive holding `entries` in order (fflate keeps insertion order, except that names that
 * are array indices, like "0", come first); .safetensors files are stored, the rest deflated.
 * `date` stamps every entry (default now; DOS dates run from 1980 to 2099).
 */
export function writeZip(entries: readonly ZipEntry[], date = new Date()): Uint8Array {
  if (entries.length > 0xffff) throw new Error(`a ZIP without ZIP64 holds at most 65535 files, got ${entries.length}`);
  const enc = new TextEncoder();
  let total = 22;
  for (const e of entries) {
    if (e.name === '' || e.name.startsWith('/') || e.name.includes('\\')) throw new Error(`bad ZIP entry name "${e.name}"`);
    total += 76 + 2 * enc.encode(e.name).length + e.bytes.length; // the uncompressed size bounds the stored one
  }
  if (new Set(entries.map((e) => e.name)).size !== entries.length) throw new Error('duplicate ZIP entry names');
  if (total > LIMIT) throw new Error(`the archive would be ${total} bytes; a ZIP without ZIP64 stops at 4 GiB`);
  const year = date.getFullYear();
  const mtime = year < 1980 ? new Date(1980, 0, 1) : year > 2099 ? new Date(2099, 11, 31, 23, 59, 58) : date;
  const files: Zippable = {};
  for (const e of entries) files[e.name] = [e.bytes, { level: storedUncompressed(e.name) ? 0 : 6, mtime }];
  return zipSync(files);
}

/** One file as the central directory describes it. */
interface CentralEntry {
  name: string;
  method: number;
  crc: number;
  packed: number; // compressed size
  length: number; // uncompressed size
  local: number; // offset of the local header
}

/**
 * The entries of a ZIP archive (stored or deflated), found through its central directory, in its
 * order; names use '/' (Windows backslashes are turned round), folders are entries ending in '/'.
 * Each entry's size and CRC-32 are checked; an entry declaring more than MAX_ENTRY_BYTES, or all
 * together more than MAX_TOTAL_BYTES, is refused before anything is inflated. Throws naming the entry.
 */
export function readZip(zip: Uint8Array): ZipEntry[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  return centralDirectory(zip, view).map((e) => ({ name: e.name, bytes: extract(zip, view, e) }));
}

/** The central directory's entries, checked for what can be refused before reading any data. */
function centralDirectory(zip: Uint8Array, view: DataView): CentralEntry[] {
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === END_SIG) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('not a ZIP archive (no end-of-central-directory record)');
  const count = view.getUint16(end + 10, true);
  const size = view.getUint32(end + 12, true);
  let p = view.getUint32(end + 16, true);
  if ((end >= 20 && view.getUint32(end - 20, true) === ZIP64_LOCATOR_SIG) || count === 0xffff || size === LIMIT || p === LIMIT) {
    throw new Error('ZIP64 archives (over 4 GiB or 65,535 entries) are not supported');
  }
  if (p + size !== end) throw new Error('ZIP central directory size or offset does not match the end record');
  const dec = new TextDecoder();
  const entries: CentralEntry[] = [];
  const seen = new Set<string>();
  let declared = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > end || view.getUint32(p, true) !== CENTRAL_SIG) throw new Error(`ZIP central directory entry ${i} is damaged`);
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const nameLen = view.getUint16(p + 28, true);
    // Names are UTF-8 (flag bit 11, and what macOS writes without the flag); some Windows tools write '\'.
    const name = dec.decode(zip.subarray(p + 46, p + 46 + nameLen)).replaceAll('\\', '/');
    const entry: CentralEntry = {
      name, method, crc: view.getUint32(p + 16, true), packed: view.getUint32(p + 20, true), length: view.getUint32(p + 24, true), local: view.getUint32(p + 42, true),
    };
    p += 46 + nameLen + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
    if (p > end) throw new Error(`ZIP central directory entry ${i} (${name}) runs past the directory`);
    if (seen.has(name)) throw new Error(`${name}: the archive holds two entries of this name`);
    seen.add(name);
    if (flags & 1) throw new Error(`${name}: encrypted ZIP entries are not supported`);
    if (method !== 0 && method !== 8) {
      throw new Error(`${name}: compression method ${method}${METHOD_NAMES[method] ? ` (${METHOD_NAMES[method]})` : ''} is not supported; only stored and deflated entries are`);
    }
    if (entry.length > MAX_ENTRY_BYTES) throw new Error(`${name}: declares ${entry.length} bytes uncompressed, over the ${gib(MAX_ENTRY_BYTES)} limit for one entry`);
    declared += entry.length;
    if (declared > MAX_TOTAL_BYTES) throw new Error(`${name}: the entries up to this one declare ${declared} bytes uncompressed, over the ${gib(MAX_TOTAL_BYTES)} limit for an archive`);
    entries.push(entry);
  }
  return entries;
}

/** One entry's bytes: copied when stored, inflated into exactly its declared size when deflated; CRC-32 checked. */
function extract(zip: Uint8Array, view: DataView, e: CentralEntry): Uint8Array {
  const { name, local, packed, length } = e;
  if (local + 30 > zip.length || view.getUint32(local, true) !== LOCAL_SIG) throw new Error(`${name}: local header missing`);
  const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
  if (start + packed > zip.length) throw new Error(`${name}: the archive is truncated`);
  const data = zip.subarray(start, start + packed);
  let bytes: Uint8Array;
  if (e.method === 0) {
    if (packed !== length) throw new Error(`${name}: stored entry of ${packed} bytes, the directory says ${length} (the archive is damaged)`);
    bytes = data.slice();
  } else {
    try {
      // The output buffer is the declared size: inflating never allocates more, whatever the data holds.
      bytes = inflateSync(data, { out: new Uint8Array(length) });
    } catch (err) {
      throw new Error(`${name}: the deflated data is damaged (${(err as Error).message})`);
    }
    if (bytes.length !== length) throw new Error(`${name}: inflates to ${bytes.length} bytes, the directory says ${length} (the archive is damaged)`);
  }
  if (crc32(bytes) !== e.crc) throw new Error(`${name}: CRC-32 mismatch (the archive is damaged)`);
  return bytes;
}
