import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelFileError } from '../../src/io/errors.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { expectFileError } from '../helpers/errors.ts';

const TOK = new URL('../../../shared/fixtures/stories260K/tok512.bin', import.meta.url);
const bytes = new Uint8Array(readFileSync(TOK));
const FILE = 'tok512.bin';
const tok = Llama2cTokenizer.fromBytes(bytes, FILE, 512);

/** The fixture README's golden greedy sample and its first 20 ids (BOS included). */
const GOLDEN =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n' +
  'Lily\'s mom said, "Lily, let\'s go to the park." Lily was sad and didn\'t know what to do. She said, "I want to play with your ball, but I can\'t find it."';
const GOLDEN_IDS = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267];

/** run.c's encode() transcribed literally (O(n²) scan), the reference for the heap version. */
function runcEncode(t: Llama2cTokenizer, text: string): number[] {
  const b = new TextEncoder().encode(text);
  const lookup = (s: Uint8Array): number => t.pieceBytes.findIndex((p) => p.length === s.length && p.every((x, i) => x === s[i]));
  const toks: number[] = [];
  if (b.length) toks.push(lookup(new Uint8Array([0x20])));
  for (let i = 0; i < b.length;) {
    let j = i + 1;
    while (j < b.length && (b[j]! & 0xc0) === 0x80 && j - i < 4) j++;
    const id = lookup(b.subarray(i, j));
    if (id >= 0) toks.push(id);
    else for (let k = i; k < j; k++) toks.push(b[k]! + 3);
    i = j;
  }
  for (;;) {
    let best = -1e10, bestId = -1, bestIdx = -1;
    for (let i = 0; i < toks.length - 1; i++) {
      const a = t.pieceBytes[toks[i]!]!, c = t.pieceBytes[toks[i + 1]!]!;
      const cat = new Uint8Array(a.length + c.length);
      cat.set(a);
      cat.set(c, a.length);
      const id = lookup(cat);
      if (id !== -1 && t.scores[id]! > best) { best = t.scores[id]!; bestId = id; bestIdx = i; }
    }
    if (bestIdx === -1) break;
    toks.splice(bestIdx, 2, bestId);
  }
  return toks;
}

function randomTexts(n: number, seed: number): string[] {
  const alphabet = [...'abcdefghijklmnopqrstuvwxyz   ETLSO.,!?"\'\n-0123456789', 'é', '☃', '日', '😀', 'ñ', '—', '  ', ' the', ' Lily', 'ing', ' was'];
  let s = seed;
  const rnd = (k: number): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % k;
  return Array.from({ length: n }, () => Array.from({ length: rnd(40) }, () => alphabet[rnd(alphabet.length)]).join(''));
}

describe('llama2.c tokenizer.bin (tok512)', () => {
  it('parses the vocabulary: ids 0-2 special, 3-258 bytes, merges with descending scores', () => {
    expect(tok.vocabSize).toBe(512);
    expect(tok.maxTokenLength).toBe(7);
    expect(tok.pieces.slice(0, 4)).toEqual(['<unk>', '\n<s>\n', '\n</s>\n', '<0x00>']);
    expect(tok.pieces[258]).toBe('<0xFF>');
    expect(tok.pieces.slice(259, 262)).toEqual([' t', 'he', ' a']);
    expect(Array.from(tok.scores.subarray(259, 262))).toEqual([-0, -1, -2]);
    expect([tok.bosId, tok.eosId]).toEqual([1, 2]);
  });

  it('reads all tokens to the end when the vocabulary size is not given', () => {
    expect(Llama2cTokenizer.fromBytes(bytes, FILE).vocabSize).toBe(512);
  });

  it('encodes the golden text with BOS to ids starting with the README golden 20', () => {
    const ids = tok.encode(GOLDEN, { bos: true });
    expect(ids.slice(0, 20)).toEqual(GOLDEN_IDS);
    expect(tok.decode(ids)).toBe(GOLDEN);
  });

  it('matches a literal transcription of run.c encode() on the golden text and 300 random texts', () => {
    expect(tok.encode(GOLDEN)).toEqual(runcEncode(tok, GOLDEN));
    for (const t of randomTexts(300, 42)) expect(tok.encode(t), JSON.stringify(t)).toEqual(runcEncode(tok, t));
  });

  it('handles empty text, BOS/EOS, the dummy space prefix and byte fallback', () => {
    const space = tok.pieceId(' ');
    expect(space).toBeGreaterThan(258);
    expect(tok.encode('')).toEqual([]);
    expect(tok.encode('', { bos: true, eos: true })).toEqual([1, 2]);
    expect(tok.encode('a')).toEqual([261]); // " a"
    expect(tok.encode('☃')).toEqual([space, 0xe2 + 3, 0x98 + 3, 0x83 + 3]);
    expect(tok.encode('\n')).toEqual([space, 13]);
    expect(tok.encode('é')).toEqual([space, tok.pieceId('é')]); // a code-point piece, no fallback
  });

  it('decodes as run.c: leading space dropped only after BOS, byte pieces assembled as UTF-8', () => {
    expect(tok.decode([1, 261])).toBe('a');
    expect(tok.decode([261])).toBe(' a'); // a continuation keeps its space
    expect(tok.decode([1, 403, 2])).toBe('Once');
    expect(tok.decode([1, tok.pieceId(' '), 0xe2 + 3, 0x98 + 3, 0x83 + 3])).toBe('☃');
    expect(tok.decode([5 + 3, 13, 0x41 + 3])).toBe('\x05\nA');
  });

  it('decodeStep / stepBytes stream like run.c decode(prev, token)', () => {
    expect(tok.decodeStep(1, 403)).toBe('Once');
    expect(tok.decodeStep(403, 407)).toBe(' upon');
    expect(tok.decodeStep(7, 13)).toBe('\n');
    expect(tok.decodeStep(0, 1)).toBe('');
    const td = new TextDecoder();
    let s = '';
    for (const [p, id] of [[1, 0xe2 + 3], [0xe2 + 3, 0x98 + 3], [0x98 + 3, 0x83 + 3]] as const) s += td.decode(tok.stepBytes(p, id), { stream: true });
    expect(s + td.decode()).toBe('☃');
  });

  it('round-trips varied texts through encode/decode', () => {
    for (const t of ['café ☃', 'x\n\ny', '  two  spaces ', '123 + 456 = 579', 'Lily said, "Hi!"', '日本語 😀']) {
      expect(tok.decode(tok.encode(t, { bos: true }))).toBe(t);
    }
  });

  it('encodes a long text quickly (heap merge, not quadratic)', () => {
    const long = GOLDEN.repeat(200); // ~70k characters
    const t0 = performance.now();
    const ids = tok.encode(long, { bos: true });
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(tok.decode(ids)).toBe(long);
  });
});

describe('llama2.c tokenizer bad files', () => {
  it('truncated in the middle of a token → truncated', () => {
    expectFileError(() => Llama2cTokenizer.fromBytes(bytes.subarray(0, 3000), FILE), 'truncated', FILE);
  });

  it('fewer tokens than the model vocabulary → truncated, saying how many were expected', () => {
    const e = expectFileError(() => Llama2cTokenizer.fromBytes(bytes, FILE, 600), 'truncated', FILE);
    expect(e.message).toContain('600');
  });

  it('more bytes than the vocabulary needs → byte-count', () => {
    expectFileError(() => Llama2cTokenizer.fromBytes(bytes, FILE, 500), 'byte-count', FILE);
  });

  it('empty or 3-byte file → truncated', () => {
    expectFileError(() => Llama2cTokenizer.fromBytes(new Uint8Array(0), FILE), 'truncated', FILE);
    expectFileError(() => Llama2cTokenizer.fromBytes(new Uint8Array(3), FILE), 'truncated', FILE);
  });

  it('max_token_length of 0 or absurd → format', () => {
    expectFileError(() => Llama2cTokenizer.fromBytes(new Uint8Array(16), FILE), 'format', FILE);
    expectFileError(() => Llama2cTokenizer.fromBytes(Uint8Array.of(0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0), FILE), 'format', FILE);
  });

  it('a piece longer than max_token_length → format', () => {
    const b = bytes.slice();
    new DataView(b.buffer).setUint32(0, 3, true); // real pieces are up to 7 bytes
    expect(expectFileError(() => Llama2cTokenizer.fromBytes(b, FILE), 'format', FILE).message).toContain('max_token_length 3');
  });

  it('random garbage → ModelFileError, never a crash or hang', () => {
    let s = 7;
    for (let k = 0; k < 50; k++) {
      const b = Uint8Array.from({ length: 100 + k * 13 }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24));
      expect(() => Llama2cTokenizer.fromBytes(b, FILE)).toThrow(ModelFileError);
    }
  });

  it('a llama2.c model file given as a tokenizer → ModelFileError', () => {
    const model = new Uint8Array(readFileSync(new URL('../../../shared/fixtures/stories260K/stories260K.bin', import.meta.url)));
    expect(() => Llama2cTokenizer.fromBytes(model, FILE, 512)).toThrow(ModelFileError);
  });
});
