/**
 * A store-only ZIP writer and reader (no compression, no dependency): enough to hand a folder of
 * exported files (a peft adapter, an HF model) to the browser as one download, and to read one back.
 *
 * Layout (APPNOTE 6.3.x, little-endian): for each file a local header (30 bytes + name) followed by
 * its bytes; then the central directory (46 bytes + name per file); then the end-of-central-directory
 * record (22 bytes). Method 0 (stored), CRC-32 (IEEE, reflected 0xEDB88320), UTF-8 names (flag bit 11).
 * No ZIP64: every file and the whole archive must stay under 4 GiB, and at most 65,535 entries.
 */

export interface ZipEntry {
  name: string;
  bytes: Uint8Array;
}

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const END_SIG = 0x06054b50;
const UTF8_FLAG = 1 << 11;
const VERSION = 20; // 2.0: the version that introduced folders and is enough for stored entries
const LIMIT = 0xffffffff;

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

/** MS-DOS time and date fields of `d` (local time, 2-second resolution, years 1980–2107). */
function dosDateTime(d: Date): { time: number; date: number } {
  const year = Math.min(Math.max(d.getFullYear(), 1980), 2107);
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/** One ZIP archive holding `entries` uncompressed, in order; `date` stamps every entry (default now). */
export function writeZip(entries: readonly ZipEntry[], date = new Date()): Uint8Array {
  if (entries.length > 0xffff) throw new Error(`a ZIP without ZIP64 holds at most 65535 files, got ${entries.length}`);
  const enc = new TextEncoder();
  const { time, date: day } = dosDateTime(date);
  const names = entries.map((e) => {
    if (e.name === '' || e.name.startsWith('/') || e.name.includes('\\')) throw new Error(`bad ZIP entry name "${e.name}"`);
    return enc.encode(e.name);
  });
  if (new Set(entries.map((e) => e.name)).size !== entries.length) throw new Error('duplicate ZIP entry names');
  const localSize = entries.reduce((n, e, i) => n + 30 + names[i]!.length + e.bytes.length, 0);
  const centralSize = names.reduce((n, name) => n + 46 + name.length, 0);
  const total = localSize + centralSize + 22;
  if (localSize > LIMIT || total > LIMIT) throw new Error(`the archive would be ${total} bytes; a ZIP without ZIP64 stops at 4 GiB`);

  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const crcs = entries.map((e) => crc32(e.bytes));
  const offsets: number[] = [];
  let p = 0;
  const u16 = (v: number) => (view.setUint16(p, v, true), (p += 2));
  const u32 = (v: number) => (view.setUint32(p, v >>> 0, true), (p += 4));

  entries.forEach((e, i) => {
    offsets.push(p);
    u32(LOCAL_SIG);
    u16(VERSION); // version needed to extract
    u16(UTF8_FLAG);
    u16(0); // method: stored
    u16(time);
    u16(day);
    u32(crcs[i]!);
    u32(e.bytes.length); // compressed size
    u32(e.bytes.length); // uncompressed size
    u16(names[i]!.length);
    u16(0); // extra field length
    out.set(names[i]!, p);
    p += names[i]!.length;
    out.set(e.bytes, p);
    p += e.bytes.length;
  });

  const centralStart = p;
  entries.forEach((e, i) => {
    u32(CENTRAL_SIG);
    u16(VERSION); // version made by (0 = MS-DOS attributes)
    u16(VERSION);
    u16(UTF8_FLAG);
    u16(0);
    u16(time);
    u16(day);
    u32(crcs[i]!);
    u32(e.bytes.length);
    u32(e.bytes.length);
    u16(names[i]!.length);
    u16(0); // extra
    u16(0); // comment
    u16(0); // disk number start
    u16(0); // internal attributes
    u32(0); // external attributes
    u32(offsets[i]!);
    out.set(names[i]!, p);
    p += names[i]!.length;
  });

  const centralEnd = p;
  u32(END_SIG);
  u16(0); // this disk
  u16(0); // disk with the central directory
  u16(entries.length);
  u16(entries.length);
  u32(centralEnd - centralStart); // central directory size
  u32(centralStart);
  u16(0); // comment length
  return out;
}

/**
 * The entries of a ZIP archive whose files are stored (method 0), found through its central
 * directory; each entry's CRC-32 is checked. Throws naming the problem for anything else.
 */
export function readZip(zip: Uint8Array): ZipEntry[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
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
  if (p + size !== end) throw new Error('ZIP central directory size or offset does not match the end record');
  const dec = new TextDecoder();
  const out: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (p + 46 > zip.length || view.getUint32(p, true) !== CENTRAL_SIG) throw new Error(`ZIP central directory entry ${i} is damaged`);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    const length = view.getUint32(p + 20, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    const name = dec.decode(zip.subarray(p + 46, p + 46 + nameLen));
    if (method !== 0) throw new Error(`${name}: compressed ZIP entries (method ${method}) are not supported; store the files uncompressed`);
    if (view.getUint32(local, true) !== LOCAL_SIG) throw new Error(`${name}: local header missing`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + length > zip.length) throw new Error(`${name}: the archive is truncated`);
    const bytes = zip.slice(start, start + length);
    if (crc32(bytes) !== crc) throw new Error(`${name}: CRC-32 mismatch (the archive is damaged)`);
    out.push({ name, bytes });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}
