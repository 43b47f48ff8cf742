import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/model/sampling.ts';
import { DataError } from '../../src/train/data.ts';
import { decodeDataText, findUtf8Fault } from '../../src/train/utf8.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const concat = (...parts: (Uint8Array | number[])[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

/** The DataError decoding `bytes` as `file` throws. */
function refusal(file: string, bytes: Uint8Array): DataError {
  try {
    decodeDataText(file, bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error(`expected ${file} to be refused`);
}

describe('training data must be UTF-8', () => {
  it('binary data is refused with the offset and line of the first invalid byte', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]);
    const e = refusal('photo.txt', png);
    expect(e.message).toBe('photo.txt is not UTF-8 text: invalid byte 0x89 at offset 0 (line 1)');
    expect([e.file, e.line]).toEqual(['photo.txt', 1]);
    // Seeded random bytes: the reported offset is where the fatal decoder first fails.
    const rng = new Rng(7);
    const noise = Uint8Array.from({ length: 4096 }, () => Math.floor(rng.next() * 256));
    const f = findUtf8Fault(noise)!;
    expect(f).not.toBeNull();
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(noise.subarray(0, f.start))).not.toThrow();
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(noise.subarray(0, f.offset + 1))).toThrow();
  });

  it('a lone invalid byte in the middle names its offset and line', () => {
    const head = utf8('line one\nline two, café\n'); // é is two bytes: offsets count bytes, not characters
    expect(head.length).toBe(25);
    const e = refusal('notes.txt', concat(head, [0xff], utf8(' and more\n')));
    expect(e.message).toBe('notes.txt is not UTF-8 text: invalid byte 0xFF at offset 25 (line 3)');
    expect(e.line).toBe(3);
  });

  it('a broken multi-byte character names the byte that breaks it and where the character starts', () => {
    expect(refusal('a.jsonl', concat(utf8('ab'), [0xc3, 0x28])).message).toBe(
      'a.jsonl is not UTF-8 text: invalid byte 0x28 at offset 3 (line 1); 0xC3 at offset 2 starts a 2-byte character',
    );
    expect(refusal('a.txt', concat(utf8('ab\n'), [0xe2, 0x82])).message).toBe(
      'a.txt is not UTF-8 text: it ends inside a character (0xE2 at offset 3 starts a 3-byte character)',
    );
  });

  it('overlong forms, surrogates and code points past U+10FFFF are refused, as the fatal decoder does', () => {
    expect(refusal('x.txt', Uint8Array.from([0x41, 0xc0, 0x80])).message).toBe('x.txt is not UTF-8 text: invalid byte 0xC0 at offset 1 (line 1)');
    expect(refusal('x.txt', Uint8Array.from([0xe0, 0x80, 0x80])).message).toBe(
      'x.txt is not UTF-8 text: invalid byte 0x80 at offset 1 (line 1); 0xE0 at offset 0 starts a 3-byte character',
    );
    expect(refusal('x.txt', Uint8Array.from([0xed, 0xa0, 0x80])).message).toBe(
      'x.txt is not UTF-8 text: invalid byte 0xA0 at offset 1 (line 1); 0xED at offset 0 starts a 3-byte character',
    );
    expect(refusal('x.txt', Uint8Array.from([0xf4, 0x90, 0x80, 0x80])).message).toBe(
      'x.txt is not UTF-8 text: invalid byte 0x90 at offset 1 (line 1); 0xF4 at offset 0 starts a 4-byte character',
    );
    expect(refusal('x.txt', Uint8Array.from([0xf5, 0x80, 0x80, 0x80])).message).toBe('x.txt is not UTF-8 text: invalid byte 0xF5 at offset 0 (line 1)');
  });

  it('the validator agrees with the fatal decoder on 3000 random short byte strings', () => {
    const rng = new Rng(3);
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let valid = 0;
    for (let n = 0; n < 3000; n++) {
      // Bytes biased towards UTF-8 lead and continuation bytes, so that both outcomes are common.
      const pick = [0x41, 0x80, 0xbf, 0x9f, 0xa0, 0x8f, 0x90, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xc0];
      const bytes = Uint8Array.from({ length: 1 + Math.floor(rng.next() * 6) }, () => pick[Math.floor(rng.next() * pick.length)]);
      let decodes = true;
      try {
        decoder.decode(bytes);
      } catch {
        decodes = false;
      }
      expect(findUtf8Fault(bytes) === null, [...bytes].map((b) => b.toString(16)).join(' ')).toBe(decodes);
      if (decodes) valid++;
    }
    expect(valid).toBe(83); // the seeded sample has both kinds
  });

  it('UTF-16 with a byte-order mark is refused with the advice to save it as UTF-8', () => {
    const le = concat([0xff, 0xfe], [...'hello'].flatMap((ch) => [ch.charCodeAt(0), 0]));
    expect(refusal('notes.txt', le).message).toBe(
      'notes.txt looks like UTF-16 text (little-endian, byte-order mark 0xFF 0xFE), not UTF-8: save it as UTF-8 and load it again',
    );
    const be = concat([0xfe, 0xff], [...'hello'].flatMap((ch) => [0, ch.charCodeAt(0)]));
    expect(refusal('data.jsonl', be).message).toBe(
      'data.jsonl looks like UTF-16 text (big-endian, byte-order mark 0xFE 0xFF), not UTF-8: save it as UTF-8 and load it again',
    );
  });

  it('a UTF-8 byte-order mark is accepted and dropped; valid text of every width decodes as it was', () => {
    expect(decodeDataText('bom.txt', concat([0xef, 0xbb, 0xbf], utf8('hi')))).toBe('hi');
    const text = 'A é € 𝄞 {"text": "ok"}\n';
    expect(decodeDataText('t.jsonl', utf8(text))).toBe(text);
    expect(decodeDataText('empty.txt', new Uint8Array(0))).toBe('');
  });
});
