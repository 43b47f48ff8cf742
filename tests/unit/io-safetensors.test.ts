import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32 } from '../../src/gpu/half.ts';
import { parseSafetensors, parseSafetensorsHeader, writeSafetensors } from '../../src/io/safetensors.ts';
import { expectFileError } from '../helpers/errors.ts';

const FILE = 'weights-under-test.safetensors';

/** A safetensors file from raw header text and data bytes (no padding, so offsets can be unaligned). */
function makeFile(header: string, data: Uint8Array = new Uint8Array(0), headerLen?: bigint): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLen ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const u16 = (...v: number[]): Uint8Array => new Uint8Array(Uint16Array.from(v).buffer);

describe('safetensors writer/reader', () => {
  it('round-trips F32 tensors, metadata and key order (integer-like keys included)', () => {
    const tensors = new Map([
      ['z.weight', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, -0, 1e-30]) }],
      ['10', { shape: [1], data: Float32Array.from([Math.PI]) }],
      ['2', { shape: [], data: Float32Array.from([7]) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const bytes = writeSafetensors(tensors, { format: 'pt', '1': 'one' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(headerText.indexOf('"__metadata__"')).toBe(1);
    expect(headerText.indexOf('"z.weight"')).toBeLessThan(headerText.indexOf('"10"'));
    expect(headerText.indexOf('"10"')).toBeLessThan(headerText.indexOf('"2"'));
    expect(bytes.length).toBe(8 + n + 4 * 8); // 6 + 1 + 1 + 0 floats

    const { tensors: got, metadata } = parseSafetensors(bytes, FILE);
    expect(metadata).toEqual({ format: 'pt', '1': 'one' });
    expect([...got.keys()].sort()).toEqual(['10', '2', 'empty', 'z.weight']);
    expect(got.get('z.weight')!.shape).toEqual([2, 3]);
    expect(Array.from(got.get('z.weight')!.data)).toEqual(Array.from(tensors.get('z.weight')!.data));
    expect(Object.is(got.get('z.weight')!.data[4], -0)).toBe(true);
    expect(got.get('10')!.data[0]).toBe(Math.fround(Math.PI));
    expect(got.get('2')!.shape).toEqual([]);
    expect(got.get('empty')!.data.length).toBe(0);
  });

  it('is deterministic', () => {
    const t = new Map([['a', { shape: [2], data: Float32Array.from([1, 2]) }]]);
    expect(writeSafetensors(t, { format: 'pt' })).toEqual(writeSafetensors(t, { format: 'pt' }));
  });

  it('decodes F16 known values: normals, subnormals, ±0, ±inf, NaN', () => {
    const h = [0x3c00, 0xc000, 0x7bff, 0x3555, 0x0400, 0x0001, 0x03ff, 0x8001, 0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00];
    const f = f16ToF32(Uint16Array.from(h));
    expect(Array.from(f.subarray(0, 7))).toEqual([1, -2, 65504, 0.333251953125, 2 ** -14, 2 ** -24, 1023 * 2 ** -24]);
    expect(f[7]).toBe(-(2 ** -24));
    expect(Object.is(f[8], 0)).toBe(true);
    expect(Object.is(f[9], -0)).toBe(true);
    expect(f[10]).toBe(Infinity);
    expect(f[11]).toBe(-Infinity);
    expect(Number.isNaN(f[12])).toBe(true);
  });

  it('decodes BF16 known values (bits << 16)', () => {
    const f = bf16ToF32(Uint16Array.from([0x3f80, 0xc040, 0x4049, 0x0001, 0x7f80, 0x8000, 0x7fc0]));
    expect(Array.from(f.subarray(0, 4))).toEqual([1, -3, 3.140625, 2 ** -133]);
    expect(f[4]).toBe(Infinity);
    expect(Object.is(f[5], -0)).toBe(true);
    expect(Number.isNaN(f[6])).toBe(true);
  });

  it('reads F16, BF16 and F32 tensors from a file, including an F32 at an unaligned offset', () => {
    const f32 = new Uint8Array(Float32Array.from([1.5, -2.25]).buffer);
    const data = new Uint8Array([...u16(0x3c00), ...u16(0x4049, 0xc040), ...f32]);
    const header = JSON.stringify({
      h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [2, 6] },
      f: { dtype: 'F32', shape: [2, 1], data_offsets: [6, 14] },
    }) + ' '; // 1 + 8 + odd length header: data starts unaligned
    const { tensors } = parseSafetensors(makeFile(header, data), FILE);
    expect(Array.from(tensors.get('h')!.data)).toEqual([1]);
    expect(Array.from(tensors.get('b')!.data)).toEqual([3.140625, -3]);
    expect(Array.from(tensors.get('f')!.data)).toEqual([1.5, -2.25]);
    expect(tensors.get('f')!.shape).toEqual([2, 1]);
  });

  it('decodes only the requested tensors but checks all', () => {
    const bytes = writeSafetensors(new Map([
      ['a', { shape: [1], data: Float32Array.from([1]) }],
      ['b', { shape: [1], data: Float32Array.from([2]) }],
    ]));
    const { tensors } = parseSafetensors(bytes, FILE, (n) => n === 'b');
    expect([...tensors.keys()]).toEqual(['b']);
    expect(parseSafetensorsHeader(bytes, FILE).entries.get('a')!.shape).toEqual([1]);
  });
});

describe('safetensors bad files', () => {
  it('file shorter than 8 bytes → truncated', () => {
    const e = expectFileError(() => parseSafetensors(new Uint8Array(5), FILE), 'truncated', FILE);
    expect(e.message).toContain('5 bytes');
  });

  it('empty file → truncated', () => {
    expectFileError(() => parseSafetensors(new Uint8Array(0), FILE), 'truncated', FILE);
  });

  it('header length past the end of the file → header-out-of-range', () => {
    const e = expectFileError(() => parseSafetensors(makeFile('{}', new Uint8Array(0), 1000n), FILE), 'header-out-of-range', FILE);
    expect(e.message).toContain('1000');
  });

  it('huge header length (2^64 - 1) → header-out-of-range, no allocation or hang', () => {
    expectFileError(() => parseSafetensors(makeFile('{}', new Uint8Array(0), 2n ** 64n - 1n), FILE), 'header-out-of-range', FILE);
  });

  it('non-JSON header → json', () => {
    expectFileError(() => parseSafetensors(makeFile('{"a": [1, 2'), FILE), 'json', FILE);
  });

  it('header that is JSON but not an object → json', () => {
    expectFileError(() => parseSafetensors(makeFile('[1, 2, 3]'), FILE), 'json', FILE);
  });

  it('invalid UTF-8 in the header → json', () => {
    const f = makeFile('{"a":1}');
    f[9] = 0xff;
    expectFileError(() => parseSafetensors(f, FILE), 'json', FILE);
  });

  it('data offsets past the end of the data → offsets', () => {
    const e = expectFileError(
      () => parseSafetensors(makeFile('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', new Uint8Array(8)), FILE),
      'offsets', FILE,
    );
    expect(e.message).toContain('"w"');
  });

  it('overlapping offsets → offsets', () => {
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    const e = expectFileError(() => parseSafetensors(makeFile(header, new Uint8Array(12)), FILE), 'offsets', FILE);
    expect(e.message).toContain('overlaps');
  });

  it('negative, reversed or non-integer offsets → offsets', () => {
    for (const off of ['[-4,0]', '[8,4]', '[0,4.5]', '[0]', '"0,4"', '[0,1e300]']) {
      expectFileError(() => parseSafetensors(makeFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":${off}}}`, new Uint8Array(8)), FILE), 'offsets', FILE);
    }
  });

  it('unknown dtype → dtype', () => {
    const e = expectFileError(() => parseSafetensors(makeFile('{"a":{"dtype":"Q4_K","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), FILE), 'dtype', FILE);
    expect(e.message).toContain('Q4_K');
  });

  it('a known but non-float dtype cannot be loaded → dtype', () => {
    expectFileError(() => parseSafetensors(makeFile('{"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), FILE), 'dtype', FILE);
  });

  it('byte count not matching shape × dtype size → byte-count', () => {
    const e = expectFileError(
      () => parseSafetensors(makeFile('{"a":{"dtype":"BF16","shape":[3],"data_offsets":[0,8]}}', new Uint8Array(8)), FILE),
      'byte-count', FILE,
    );
    expect(e.message).toContain('needs 6 bytes');
  });

  it('absurd shapes (negative, fractional, overflowing) never crash', () => {
    expectFileError(() => parseSafetensors(makeFile('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', new Uint8Array(4)), FILE), 'json', FILE);
    expectFileError(() => parseSafetensors(makeFile('{"a":{"dtype":"F32","shape":[0.5],"data_offsets":[0,4]}}', new Uint8Array(4)), FILE), 'json', FILE);
    expectFileError(
      () => parseSafetensors(makeFile('{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}', new Uint8Array(4)), FILE),
      'byte-count', FILE,
    );
  });

  it('a header entry that is not an object → json', () => {
    expectFileError(() => parseSafetensors(makeFile('{"a": 3}'), FILE), 'json', FILE);
  });
});

describe('safetensors: the huggingface/safetensors rules (data tiled from 0 to the end of the file, each name once)', () => {
  const f32 = (shape: number[], begin: number, end: number): string => `{"dtype":"F32","shape":${JSON.stringify(shape)},"data_offsets":[${begin},${end}]}`;

  it('a file longer than its header describes (bytes after the last tensor) → format', () => {
    const e = expectFileError(() => parseSafetensors(makeFile(`{"a":${f32([2], 0, 8)},"b":${f32([1], 8, 12)}}`, new Uint8Array(16)), FILE), 'format', FILE);
    expect(e.message).toBe('weights-under-test.safetensors: 4 bytes after the last tensor "b" (its data ends at byte 12 of 16): the file is longer than its header describes');
    const none = expectFileError(() => parseSafetensors(makeFile('{}', new Uint8Array(3)), FILE), 'format', FILE);
    expect(none.message).toBe('weights-under-test.safetensors: 3 bytes of data, but the header lists no tensors: the file is longer than its header describes');
  });

  it('a writer export with one byte appended is refused (and loads without it)', () => {
    const good = writeSafetensors(new Map([['w', { shape: [2], data: Float32Array.from([1, 2]) }]]));
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    expect(parseSafetensors(good, FILE).tensors.get('w')!.data).toEqual(Float32Array.from([1, 2]));
    expect(expectFileError(() => parseSafetensors(longer, FILE), 'format', FILE).message)
      .toBe('weights-under-test.safetensors: 1 bytes after the last tensor "w" (its data ends at byte 8 of 9): the file is longer than its header describes');
  });

  it('a gap between tensors, or before the first → offsets naming the tensors and offsets', () => {
    const gap = expectFileError(() => parseSafetensors(makeFile(`{"a":${f32([2], 0, 8)},"b":${f32([1], 12, 16)}}`, new Uint8Array(16)), FILE), 'offsets', FILE);
    expect(gap.message).toBe('weights-under-test.safetensors: tensor "b" data [12, 16) starts at byte 12 but "a" ends at byte 8: 4 bytes belong to no tensor (safetensors data must be contiguous)');
    const first = expectFileError(() => parseSafetensors(makeFile(`{"a":${f32([1], 4, 8)}}`, new Uint8Array(8)), FILE), 'offsets', FILE);
    expect(first.message).toBe('weights-under-test.safetensors: tensor "a" data [4, 8) starts at byte 4 but the data starts at byte 0: 4 bytes belong to no tensor (safetensors data must be contiguous)');
  });

  it('offsets listed out of order but tiling the data are fine; zero-length tensors may share a position', () => {
    const { tensors } = parseSafetensors(makeFile(`{"b":${f32([1], 4, 8)},"e":${f32([0], 4, 4)},"a":${f32([1], 0, 4)}}`, new Uint8Array(Float32Array.from([3, 5]).buffer)), FILE);
    expect([tensors.get('a')!.data[0], tensors.get('b')!.data[0], tensors.get('e')!.data.length]).toEqual([3, 5, 0]);
  });

  it('overlapping tensors → offsets naming both ranges', () => {
    const e = expectFileError(() => parseSafetensors(makeFile(`{"a":${f32([2], 0, 8)},"b":${f32([2], 4, 12)}}`, new Uint8Array(12)), FILE), 'offsets', FILE);
    expect(e.message).toBe('weights-under-test.safetensors: tensor "b" data [4, 12) overlaps "a" [0, 8)');
  });

  it('a tensor name twice in the header (JSON.parse would keep the last) → json naming it', () => {
    const e = expectFileError(() => parseSafetensors(makeFile(`{"a":${f32([1], 0, 4)},"b":${f32([1], 4, 8)},"a":${f32([1], 4, 8)}}`, new Uint8Array(8)), FILE), 'json', FILE);
    expect(e.message).toBe('weights-under-test.safetensors: header names tensor "a" twice; each tensor must appear once (JSON.parse would keep only the last)');
    // the same name spelled with an escape is the same key; nested keys ("dtype" in every entry) are not duplicates
    const esc = expectFileError(() => parseSafetensors(makeFile(`{"a\\"b":${f32([1], 0, 4)},"a\\u0022b":${f32([1], 0, 4)}}`, new Uint8Array(4)), FILE), 'json', FILE);
    expect(esc.message).toBe('weights-under-test.safetensors: header names tensor "a"b" twice; each tensor must appear once (JSON.parse would keep only the last)');
    const meta = expectFileError(() => parseSafetensors(makeFile(`{"__metadata__":{"format":"pt"},"__metadata__":{"x":"y"}}`), FILE), 'json', FILE);
    expect(meta.message).toBe('weights-under-test.safetensors: header names "__metadata__" twice; each tensor must appear once (JSON.parse would keep only the last)');
    expect(parseSafetensors(makeFile(`{"__metadata__":{"k":"{\\"a\\":1,\\"a\\":2}"},"x":${f32([1], 0, 4)}}`, new Uint8Array(4)), FILE).metadata).toEqual({ k: '{"a":1,"a":2}' });
  });

  it('a header that does not start with \'{\' → json, showing how it starts', () => {
    const ws = expectFileError(() => parseSafetensors(makeFile(` {"a":${f32([1], 0, 4)}}`, new Uint8Array(4)), FILE), 'json', FILE);
    expect(ws.message).toBe(`weights-under-test.safetensors: header does not start with '{' (it starts with " {\\"a\\":{\\"dtype\\":\\""); not a safetensors file?`);
    const arr = expectFileError(() => parseSafetensors(makeFile('[1, 2, 3]'), FILE), 'json', FILE);
    expect(arr.message).toBe(`weights-under-test.safetensors: header does not start with '{' (it starts with "[1, 2, 3]"); not a safetensors file?`);
  });

  it('a header length over safetensors\' 100 MB limit → header-out-of-range before reading it', () => {
    const big = new Uint8Array(8 + 100_000_001);
    new DataView(big.buffer).setBigUint64(0, 100_000_001n, true);
    const e = expectFileError(() => parseSafetensors(big, FILE), 'header-out-of-range', FILE);
    expect(e.message).toBe('weights-under-test.safetensors: header length 100000001 is more than the 100000000 bytes safetensors allows; not a safetensors file?');
  });
});
