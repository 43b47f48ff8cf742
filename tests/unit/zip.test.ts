/**
 * ZIP through fflate: archives we write read back and pass Python's `zipfile -t`; archives made by
 * Python's zipfile and shutil, Info-ZIP's `zip`, macOS Finder and Windows (deflated, data descriptors,
 * __MACOSX, backslashes) read back byte for byte and import as adapters; damaged, unsupported and
 * oversized archives are refused naming the entry, before anything big is allocated.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Zip, ZipDeflate, ZipPassThrough, zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { checkAdapter } from '../../src/adapters/import-check.ts';
import { llama2cConfig, readLlama2cHeader } from '../../src/io/llama2c.ts';
import { writePeftAdapter, type AdapterTensors, type PeftAdapterConfig } from '../../src/io/peft.ts';
import { crc32, readZip, writeZip, type ZipEntry } from '../../src/io/zip.ts';
import { randomLoraTensors } from '../helpers/adapters.ts';
import { readFixture, STORIES_BIN } from '../helpers/fixtures.ts';

const enc = new TextEncoder();
const dir = mkdtempSync(path.join(tmpdir(), 'zip-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run python3 with `script` and `args`; fails with what to install when python3 is missing. */
function python(script: string, ...args: string[]): string {
  const r = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('python3 is needed by tests/unit/zip.test.ts (to make and check ZIP archives): apt-get install -y python3');
  }
  if (r.status !== 0) throw new Error(`python3 failed (exit ${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Deterministic bytes with every value 0..255 present. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) out[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
  return out;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

const ENTRIES: ZipEntry[] = [
  { name: 'adapter_config.json', bytes: enc.encode('{\n  "r": 8,\n  "lora_alpha": 16,\n  "target_modules": ["q_proj", "v_proj"]\n}\n') },
  { name: 'adapter_model.safetensors', bytes: noise(70_001, 7) },
  { name: 'empty.txt', bytes: new Uint8Array(0) },
  { name: 'dir/ünïcode-名前.txt', bytes: enc.encode('héllo\n'.repeat(50)) },
];

describe('crc32', () => {
  it('matches the published check values', () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(enc.encode('123456789'))).toBe(0xcbf43926); // the CRC-32/ISO-HDLC check value
    expect(crc32(enc.encode('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });
  it('continues across chunks', () => {
    const all = noise(1000, 3);
    expect(crc32(all.subarray(400), crc32(all.subarray(0, 400)))).toBe(crc32(all));
  });
});

describe('writeZip', () => {
  const date = new Date(2024, 4, 17, 13, 45, 30);
  const zip = writeZip(ENTRIES, date);

  it('reads back entry for entry', () => {
    const back = readZip(zip);
    expect(back.map((e) => e.name)).toEqual(ENTRIES.map((e) => e.name));
    back.forEach((e, i) => expect(same(e.bytes, ENTRIES[i]!.bytes)).toBe(true));
  });

  it('Python reads it: `zipfile -t` passes, safetensors stored and the rest deflated, dates and bytes as written', () => {
    const file = path.join(dir, 'ours.zip');
    writeFileSync(file, zip);
    expect(python('import sys, zipfile; sys.argv[0] = "zipfile"; zipfile.main(["-t", sys.argv[1]])', file)).toBe('Done testing\n');
    const script =
      'import sys, zipfile, json\n' +
      'z = zipfile.ZipFile(sys.argv[1])\n' +
      'print(json.dumps([[i.filename, i.file_size, i.compress_type, list(i.date_time), z.read(i.filename).hex()] for i in z.infolist()]))\n';
    const out = JSON.parse(python(script, file)) as [string, number, number, number[], string][];
    expect(out.map((r) => r[0])).toEqual(ENTRIES.map((e) => e.name));
    expect(out.map((r) => r[1])).toEqual(ENTRIES.map((e) => e.bytes.length));
    expect(out.map((r) => r[2])).toEqual([8, 0, 8, 8]); // ZIP_DEFLATED, ZIP_STORED
    expect(out.every((r) => r[3].join() === '2024,5,17,13,45,30')).toBe(true);
    out.forEach((r, i) => expect(r[4]).toBe(Buffer.from(ENTRIES[i]!.bytes).toString('hex')));
  });

  it('clamps dates outside what a DOS date holds (1980–2099)', () => {
    const script = 'import sys, zipfile; print(list(zipfile.ZipFile(sys.argv[1]).infolist()[0].date_time))';
    for (const [when, expected] of [[new Date(1970, 0, 1), '[1980, 1, 1, 0, 0, 0]'], [new Date(2150, 6, 1), '[2099, 12, 31, 23, 59, 58]']] as const) {
      const file = path.join(dir, 'dated.zip');
      writeFileSync(file, writeZip([{ name: 'a.txt', bytes: enc.encode('a') }], when));
      expect(python(script, file).trim()).toBe(expected);
    }
  });

  it('refuses duplicate, empty, absolute and backslashed names', () => {
    expect(() => writeZip([{ name: 'a', bytes: new Uint8Array(1) }, { name: 'a', bytes: new Uint8Array(1) }])).toThrow('duplicate ZIP entry names');
    expect(() => writeZip([{ name: '/etc/passwd', bytes: new Uint8Array(1) }])).toThrow('bad ZIP entry name "/etc/passwd"');
    expect(() => writeZip([{ name: '', bytes: new Uint8Array(1) }])).toThrow('bad ZIP entry name ""');
    expect(() => writeZip([{ name: 'a\\b', bytes: new Uint8Array(1) }])).toThrow('bad ZIP entry name "a\\b"');
  });
});

// ---------- archives made by other tools ----------

const model = llama2cConfig(readLlama2cHeader(readFixture(STORIES_BIN), 'stories260K.bin'));
const BASE = 'stories260K.bin+tok512.bin';
const lora: PeftAdapterConfig = { r: 4, loraAlpha: 8, loraDropout: 0, targetModules: ['q', 'v'], useRslora: false, useDora: false, baseModelName: BASE };
const tensors = randomLoraTensors(model, 4, ['q', 'v'], false, 5);
const adapter = writePeftAdapter(lora, tensors, model);
const README = enc.encode('# my adapter\n\nTrained on stories.\n');
/** The folder a user zips: my-adapter/{adapter_config.json, adapter_model.safetensors, README.md}. */
const FOLDER = new Map<string, Uint8Array>([...adapter, ['README.md', README]]);

const src = path.join(dir, 'src');
mkdirSync(path.join(src, 'my-adapter'), { recursive: true });
for (const [n, b] of FOLDER) writeFileSync(path.join(src, 'my-adapter', n), b);

/**
 * Zips my-adapter/ the way `layout` does; returns the archive and Python's view of its entries:
 * [name, compress_type, flag_bits, create_system].
 */
const MAKE = String.raw`
import io, json, os, shutil, sys, zipfile
layout, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
names = sorted(os.listdir(os.path.join(src, 'my-adapter')))
read = lambda n: open(os.path.join(src, 'my-adapter', n), 'rb').read()
WHEN = (2024, 5, 17, 13, 45, 30)

class Unseekable(io.RawIOBase):
    """A pipe: zipfile then writes a data descriptor after every entry, as Archive Utility does."""
    def __init__(self, f): self.f = f
    def writable(self): return True
    def write(self, b): return self.f.write(b)

def entry(z, name, data, system, attr, method):
    zi = zipfile.ZipInfo(name, date_time=WHEN)
    zi.create_system, zi.external_attr, zi.compress_type = system, attr, method
    z.writestr(zi, data)

if layout == 'zipfile-deflated':
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for n in names: z.write(os.path.join(src, 'my-adapter', n), n)
elif layout == 'zipfile-stored':
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED) as z:
        for n in names: z.write(os.path.join(src, 'my-adapter', n), n)
elif layout == 'shutil':
    shutil.make_archive(out[:-len('.zip')], 'zip', root_dir=src, base_dir='my-adapter')
elif layout == 'macos':
    # Finder's Compress: the folder, then __MACOSX/ with an AppleDouble "._" file per file; Unix attributes.
    apple = bytes.fromhex('00051607' '00020000') + b'Mac OS X        ' + bytes(16)
    d, f = (0o40755 << 16) | 0x10, 0o100644 << 16
    with open(out, 'wb') as raw, zipfile.ZipFile(Unseekable(raw), 'w') as z:
        entry(z, 'my-adapter/', b'', 3, d, zipfile.ZIP_STORED)
        for n in names: entry(z, 'my-adapter/' + n, read(n), 3, f, zipfile.ZIP_DEFLATED)
        entry(z, 'my-adapter/.DS_Store', bytes(4) + b'Bud1' + bytes(56), 3, f, zipfile.ZIP_DEFLATED)
        entry(z, '__MACOSX/', b'', 3, d, zipfile.ZIP_STORED)
        entry(z, '__MACOSX/my-adapter/', b'', 3, d, zipfile.ZIP_STORED)
        for n in names: entry(z, '__MACOSX/my-adapter/._' + n, apple, 3, f, zipfile.ZIP_DEFLATED)
elif layout == 'windows':
    # Windows PowerShell 5's Compress-Archive: backslashes in names, FAT attributes (archive bit), deflated.
    with zipfile.ZipFile(out, 'w') as z:
        for n in names: entry(z, 'my-adapter\\' + n, read(n), 0, 0x20, zipfile.ZIP_DEFLATED)
else:
    raise SystemExit('unknown layout ' + layout)
z = zipfile.ZipFile(out)
print(json.dumps([[i.filename, i.compress_type, i.flag_bits, i.create_system] for i in z.infolist()]))
`;

function madeBy(layout: string): { bytes: Uint8Array; info: [string, number, number, number][] } {
  const out = path.join(dir, `${layout}.zip`);
  const info = JSON.parse(python(MAKE, layout, src, out)) as [string, number, number, number][];
  return { bytes: new Uint8Array(readFileSync(out)), info };
}

/** Every file of FOLDER is in `entries` under `prefix`, with its exact bytes. */
function expectFolder(entries: ZipEntry[], prefix: string): void {
  for (const [n, b] of FOLDER) {
    const e = entries.find((x) => x.name === prefix + n);
    expect(e, `${prefix}${n} in ${entries.map((x) => x.name).join(', ')}`).toBeDefined();
    expect(same(e!.bytes, b)).toBe(true);
  }
}

/** The zip imports through the studio's adapter check with every tensor bit for bit. */
function expectImports(zipName: string, bytes: Uint8Array, prefix: string, expected: AdapterTensors = tensors, rank = 4): void {
  const a = checkAdapter([{ name: zipName, bytes }], model, BASE);
  if (a.kind !== 'peft') throw new Error(`expected a peft adapter, got ${a.kind}`);
  expect([...a.summary.files].sort()).toEqual([`${zipName}/${prefix}adapter_config.json`, `${zipName}/${prefix}adapter_model.safetensors`]);
  expect(a.summary).toMatchObject({ method: 'lora', rank, targets: ['q', 'v'], moduleCount: 10, warnings: [] });
  expect([...a.tensors.keys()]).toEqual([...expected.keys()]);
  for (const [name, t] of expected) {
    const got = a.tensors.get(name)!;
    expect(same(new Uint8Array(got.A.data.buffer), new Uint8Array(t.A.data.buffer))).toBe(true);
    expect(same(new Uint8Array(got.B.data.buffer), new Uint8Array(t.B.data.buffer))).toBe(true);
  }
}

describe('readZip: archives made by other tools', () => {
  it("Python's zipfile, ZIP_DEFLATED (level 9) and ZIP_STORED", () => {
    const deflated = madeBy('zipfile-deflated');
    expect(deflated.info.map((r) => r[1])).toEqual([8, 8, 8]);
    expectFolder(readZip(deflated.bytes), '');
    expectImports('deflated.zip', deflated.bytes, '');
    const stored = madeBy('zipfile-stored');
    expect(stored.info.map((r) => r[1])).toEqual([0, 0, 0]);
    expectFolder(readZip(stored.bytes), '');
  });

  it("Python's shutil.make_archive: a top folder with its own entry", () => {
    const { bytes, info } = madeBy('shutil');
    // The folder first, then its files in the order the file system lists them.
    expect(info[0]!.slice(0, 2)).toEqual(['my-adapter/', 0]);
    expect(info.slice(1).map((r) => [r[0], r[1]]).sort()).toEqual([
      ['my-adapter/README.md', 8], ['my-adapter/adapter_config.json', 8], ['my-adapter/adapter_model.safetensors', 8],
    ]);
    const entries = readZip(bytes);
    expect(entries[0]).toEqual({ name: 'my-adapter/', bytes: new Uint8Array(0) });
    expectFolder(entries, 'my-adapter/');
    expectImports('shutil.zip', bytes, 'my-adapter/');
  });

  it('macOS Finder: __MACOSX AppleDouble files, .DS_Store, a data descriptor after every entry', () => {
    const { bytes, info } = madeBy('macos');
    expect(info.every((r) => (r[2] & 0x08) !== 0 && r[3] === 3)).toBe(true); // data descriptor, Unix
    expect(info.map((r) => r[0])).toContain('__MACOSX/my-adapter/._adapter_config.json');
    const entries = readZip(bytes);
    expect(entries).toHaveLength(10); // the folder, 3 files, .DS_Store, __MACOSX/, __MACOSX/my-adapter/, 3 AppleDouble files
    expectFolder(entries, 'my-adapter/');
    expectImports('Archive.zip', bytes, 'my-adapter/');
  });

  it('Windows: backslashes in names become slashes; FAT attributes; deflated', () => {
    const { bytes, info } = madeBy('windows');
    expect(info.map((r) => [r[0], r[1], r[3]])).toEqual([
      ['my-adapter\\README.md', 8, 0], ['my-adapter\\adapter_config.json', 8, 0], ['my-adapter\\adapter_model.safetensors', 8, 0],
    ]);
    const entries = readZip(bytes);
    expect(entries.map((e) => e.name)).toEqual(['my-adapter/README.md', 'my-adapter/adapter_config.json', 'my-adapter/adapter_model.safetensors']);
    expectFolder(entries, 'my-adapter/');
    expectImports('my-adapter.zip', bytes, 'my-adapter/');
  });

  it("Info-ZIP's zip 3.0 (tests/fixtures/zips/info-zip.zip): extra fields, deflated and stored entries", () => {
    const bytes = new Uint8Array(readFileSync(new URL('../fixtures/zips/info-zip.zip', import.meta.url)));
    const entries = readZip(bytes);
    expect(entries.map((e) => [e.name, e.bytes.length, sha256(e.bytes)])).toEqual([
      ['my-adapter/', 0, sha256(new Uint8Array(0))],
      ['my-adapter/adapter_model.safetensors', 11456, 'aa3526d6c2372fd6b7dee64da7c2662245ee93be213e0cb249f77fc4e4fa0bc2'],
      ['my-adapter/adapter_config.json', 556, '68acada19a25fa87428688c87df3ff51dcf64ab1366b6a6e51e5ed19bbc4ce01'],
      ['my-adapter/README.md', 73, 'b253a7ec8e6019e7978d8baa2e2057ba75d5ea1507c6f0f806fd14adf6107eab'],
    ]);
    expectImports('info-zip.zip', bytes, 'my-adapter/', randomLoraTensors(model, 2, ['q', 'v'], false), 2);
  });

  it('fflate itself: zipSync at level 9, and the streaming Zip (data descriptors)', () => {
    const files = Object.fromEntries([...FOLDER].map(([n, b]) => [n, b]));
    expectFolder(readZip(zipSync({ 'my-adapter': files }, { level: 9 })), 'my-adapter/');
    const chunks: Uint8Array[] = [];
    const z = new Zip((err, data) => {
      if (err) throw err;
      chunks.push(data);
    });
    for (const [n, b] of FOLDER) {
      const f = n.endsWith('.md') ? new ZipPassThrough(n) : new ZipDeflate(n, { level: 6 });
      z.add(f);
      f.push(b, true);
    }
    z.end();
    const streamed = new Uint8Array(Buffer.concat(chunks));
    expectFolder(readZip(streamed), '');
    expectImports('streamed.zip', streamed, '');
  });
});

// ---------- what is refused ----------

/** Offset of the central-directory header of `name` in `zip`. */
function centralOf(zip: Uint8Array, name: string): number {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const wanted = enc.encode(name);
  for (let p = 0; p + 46 <= zip.length; p++) {
    if (v.getUint32(p, true) === 0x02014b50 && v.getUint16(p + 28, true) === wanted.length && same(zip.subarray(p + 46, p + 46 + wanted.length), wanted)) return p;
  }
  throw new Error(`no central entry ${name}`);
}
const setU32 = (zip: Uint8Array, at: number, v: number) => new DataView(zip.buffer, zip.byteOffset).setUint32(at, v >>> 0, true);

describe('readZip: what is refused, naming the entry', () => {
  it('a flipped byte in a stored entry: CRC-32 mismatch', () => {
    const zip = writeZip([{ name: 'adapter_model.safetensors', bytes: noise(1000, 2) }]);
    const bad = zip.slice();
    bad[30 + 'adapter_model.safetensors'.length + 2] ^= 0xff; // inside the file's data
    expect(() => readZip(bad)).toThrow(/^adapter_model\.safetensors: CRC-32 mismatch \(the archive is damaged\)$/);
  });

  it('damaged deflated data: the inflater\'s complaint, or a short or wrong result', () => {
    const zip = writeZip([{ name: 'adapter_config.json', bytes: ENTRIES[0]!.bytes }]);
    const start = 30 + 'adapter_config.json'.length;
    const garbled = zip.slice();
    garbled[start] = 0xff; // BTYPE 11: a reserved block type
    expect(() => readZip(garbled)).toThrow('adapter_config.json: the deflated data is damaged (invalid block type)');
    const cut = zip.slice();
    const central = centralOf(cut, 'adapter_config.json');
    setU32(cut, central + 24, ENTRIES[0]!.bytes.length + 10); // the directory promises more than the data holds
    expect(() => readZip(cut)).toThrow(`adapter_config.json: inflates to ${ENTRIES[0]!.bytes.length} bytes, the directory says ${ENTRIES[0]!.bytes.length + 10} (the archive is damaged)`);
  });

  it('a zip bomb: an entry declaring over 2 GiB, or entries over 4 GiB together, are refused before inflating', () => {
    const one = writeZip([{ name: 'bomb.txt', bytes: new Uint8Array(1000) }]);
    setU32(one, centralOf(one, 'bomb.txt') + 24, 3 * 2 ** 30);
    expect(() => readZip(one)).toThrow('bomb.txt: declares 3221225472 bytes uncompressed, over the 2 GiB limit for one entry');
    const three = writeZip(['a.txt', 'b.txt', 'c.txt'].map((name) => ({ name, bytes: new Uint8Array(1000) })));
    for (const n of ['a.txt', 'b.txt', 'c.txt']) setU32(three, centralOf(three, n) + 24, 1.5 * 2 ** 30);
    expect(() => readZip(three)).toThrow('c.txt: the entries up to this one declare 4831838208 bytes uncompressed, over the 4 GiB limit for an archive');
    // Declared small, holding much more: inflating stops at the declared size, and the CRC catches it.
    const big = writeZip([{ name: 'zeros.txt', bytes: new Uint8Array(10 << 20) }]);
    setU32(big, centralOf(big, 'zeros.txt') + 24, 1000);
    expect(() => readZip(big)).toThrow('zeros.txt: CRC-32 mismatch (the archive is damaged)');
  });

  it('bzip2 and LZMA entries, and encrypted ones, are refused by name', () => {
    const script = String.raw`
import sys, zipfile
for method, out in ((zipfile.ZIP_BZIP2, sys.argv[1]), (zipfile.ZIP_LZMA, sys.argv[2])):
    with zipfile.ZipFile(out, 'w', method) as z: z.writestr('adapter_config.json', '{"r": 8}')
`;
    const bz = path.join(dir, 'bz.zip'), xz = path.join(dir, 'xz.zip');
    python(script, bz, xz);
    expect(() => readZip(new Uint8Array(readFileSync(bz)))).toThrow('adapter_config.json: compression method 12 (bzip2) is not supported; only stored and deflated entries are');
    expect(() => readZip(new Uint8Array(readFileSync(xz)))).toThrow('adapter_config.json: compression method 14 (LZMA) is not supported; only stored and deflated entries are');
    const locked = writeZip([{ name: 'secret.json', bytes: enc.encode('{}') }]);
    const c = centralOf(locked, 'secret.json');
    locked[c + 8]! |= 1;
    expect(() => readZip(locked)).toThrow('secret.json: encrypted ZIP entries are not supported');
  });

  it('two entries of one name, ZIP64, a truncated archive, and what is not a ZIP', () => {
    const twice = path.join(dir, 'twice.zip');
    python('import sys, zipfile, warnings\nwarnings.simplefilter("ignore")\nz = zipfile.ZipFile(sys.argv[1], "w")\nz.writestr("a.json", "1")\nz.writestr("a.json", "2")\nz.close()', twice);
    expect(() => readZip(new Uint8Array(readFileSync(twice)))).toThrow('a.json: the archive holds two entries of this name');
    const z64 = writeZip([{ name: 'a.txt', bytes: enc.encode('a') }]);
    new DataView(z64.buffer).setUint16(z64.length - 22 + 10, 0xffff, true);
    expect(() => readZip(z64)).toThrow('ZIP64 archives (over 4 GiB or 65,535 entries) are not supported');
    const whole = writeZip([{ name: 'adapter_model.safetensors', bytes: noise(5000, 1) }]);
    // A partial download: the end record is gone.
    expect(() => readZip(whole.subarray(0, 3000))).toThrow('not a ZIP archive (no end-of-central-directory record)');
    // A piece cut out of the middle: the directory no longer sits where the end record says.
    const holed = new Uint8Array([...whole.subarray(0, 2000), ...whole.subarray(3000)]);
    expect(() => readZip(holed)).toThrow('ZIP central directory size or offset does not match the end record');
    expect(() => readZip(enc.encode('not a zip at all, just some text that is long enough'))).toThrow('not a ZIP archive (no end-of-central-directory record)');
    expect(() => readZip(new Uint8Array(0))).toThrow('not a ZIP archive (no end-of-central-directory record)');
  });

  it('through the adapter import, the error names the zip and the entry', () => {
    const bad = writeZip([...adapter].map(([name, bytes]) => ({ name, bytes })));
    bad[30 + 'adapter_config.json'.length] = 0xff; // the first entry (the config) is deflated: break its first block
    expect(() => checkAdapter([{ name: 'mine.zip', bytes: bad }], model, BASE)).toThrow(
      'mine.zip: cannot be read as a ZIP archive: adapter_config.json: the deflated data is damaged (invalid block type)',
    );
  });
});
