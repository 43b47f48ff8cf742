/** The store-only ZIP writer: CRC-32 against published check values, and archives that unzip and Python's zipfile accept byte for byte. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32, readZip, writeZip, type ZipEntry } from '../../src/io/zip.ts';

const enc = new TextEncoder();

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Deterministic bytes with every value 0..255 present. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) out[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
  return out;
}

const ENTRIES: ZipEntry[] = [
  { name: 'adapter_config.json', bytes: enc.encode('{\n  "r": 8\n}\n') },
  { name: 'adapter_model.safetensors', bytes: noise(70_001, 7) },
  { name: 'empty.txt', bytes: new Uint8Array(0) },
  { name: 'dir/ünïcode-名前.txt', bytes: enc.encode('héllo\n') },
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

  it('lays out headers, data and the directory at the sizes the format fixes', () => {
    const names = ENTRIES.map((e) => enc.encode(e.name).length);
    const data = ENTRIES.reduce((n, e) => n + e.bytes.length, 0);
    const expected = names.reduce((n, l) => n + 30 + 46 + 2 * l, 0) + data + 22;
    expect(zip.length).toBe(expected);
    const v = new DataView(zip.buffer);
    expect(v.getUint32(0, true)).toBe(0x04034b50);
    expect(v.getUint32(zip.length - 22, true)).toBe(0x06054b50);
    expect(v.getUint16(zip.length - 12, true)).toBe(ENTRIES.length);
    // DOS time 13:45:30 and date 2024-05-17 in the first local header
    expect(v.getUint16(10, true)).toBe((13 << 11) | (45 << 5) | 15);
    expect(v.getUint16(12, true)).toBe(((2024 - 1980) << 9) | (5 << 5) | 17);
  });

  it('reads back entry for entry', () => {
    const back = readZip(zip);
    expect(back.map((e) => e.name)).toEqual(ENTRIES.map((e) => e.name));
    back.forEach((e, i) => expect(Buffer.from(e.bytes).equals(Buffer.from(ENTRIES[i]!.bytes))).toBe(true));
  });

  it('is accepted by Python zipfile (CRC checked) and unzip -t', { skip: !has('python3') && !has('unzip') }, () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'zip-test-'));
    try {
      const file = path.join(dir, 'a.zip');
      writeFileSync(file, zip);
      if (has('python3')) {
        const script =
          'import sys, zipfile, json\n' +
          'z = zipfile.ZipFile(sys.argv[1])\n' +
          'assert z.testzip() is None\n' +
          'print(json.dumps([[i.filename, i.file_size, i.compress_type, list(i.date_time), z.read(i.filename).hex()[:16]] for i in z.infolist()]))\n';
        const out = JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as [string, number, number, number[], string][];
        expect(out.map((r) => r[0])).toEqual(ENTRIES.map((e) => e.name));
        expect(out.map((r) => r[1])).toEqual(ENTRIES.map((e) => e.bytes.length));
        expect(out.every((r) => r[2] === 0)).toBe(true);
        expect(out[0]![3]).toEqual([2024, 5, 17, 13, 45, 30]);
        expect(out[1]![4]).toBe(Buffer.from(ENTRIES[1]!.bytes.subarray(0, 8)).toString('hex'));
      }
      if (has('unzip')) {
        const report = execFileSync('unzip', ['-t', file], { encoding: 'utf8' });
        expect(report).toContain('No errors detected');
        execFileSync('unzip', ['-q', file, '-d', path.join(dir, 'out')]);
        expect(readFileSync(path.join(dir, 'out', 'adapter_config.json'), 'utf8')).toBe('{\n  "r": 8\n}\n');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses duplicate and absolute names', () => {
    expect(() => writeZip([{ name: 'a', bytes: new Uint8Array(1) }, { name: 'a', bytes: new Uint8Array(1) }])).toThrow(/duplicate/);
    expect(() => writeZip([{ name: '/etc/passwd', bytes: new Uint8Array(1) }])).toThrow(/bad ZIP entry name/);
  });
});

describe('readZip', () => {
  it('names the damaged entry when a byte flips', () => {
    const zip = writeZip(ENTRIES);
    const bad = zip.slice();
    bad[30 + 'adapter_config.json'.length + 2] ^= 0xff; // inside the first file's data
    expect(() => readZip(bad)).toThrow(/^adapter_config\.json: CRC-32 mismatch/);
  });
  it('rejects what is not a ZIP', () => {
    expect(() => readZip(enc.encode('not a zip at all, just some text that is long enough'))).toThrow(/not a ZIP archive/);
  });
});
