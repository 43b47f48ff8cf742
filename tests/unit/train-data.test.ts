import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Tokenizer } from '../../src/io/tokenizer.ts';
import { HfTokenizer } from '../../src/io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { CUT_MARGIN, DataError, MAX_LISTED_PROBLEMS, MAX_LISTED_WARNINGS, prepareData, tokenizeData } from '../../src/train/data.ts';
import {
  BatchIterator,
  orderedBatches,
  packExamples,
  splitWindows,
  type Example,
  type PackedWindow,
} from '../../src/train/packing.ts';

/** One token per UTF-8 byte: id = byte + 3; 0 unk, 1 BOS, 2 EOS. 'a' (97) → 100. */
class ByteTokenizer implements Tokenizer {
  readonly bosId = 1;
  readonly eosId = 2;
  constructor(readonly vocabSize = 259) {}
  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const ids = Array.from(new TextEncoder().encode(text), (b) => b + 3);
    return [...(opts.bos ? [1] : []), ...ids, ...(opts.eos ? [2] : [])];
  }
  decode(ids: readonly number[]): string {
    return new TextDecoder().decode(new Uint8Array(ids.filter((i) => i >= 3).map((i) => i - 3)));
  }
}
const tok = new ByteTokenizer();
const c = (ch: string): number => ch.charCodeAt(0) + 3; // id of an ASCII character

const rows = (ws: readonly PackedWindow[]) => ws.map((w) => ({ inputs: [...w.inputs], targets: [...w.targets] }));

/** The error `fn` throws, which must be a DataError. */
function dataError(fn: () => unknown): DataError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError');
}

describe('plain text', () => {
  it('paragraphs are documents: BOS + bytes + EOS, loss on all but BOS', () => {
    const t = tokenizeData('d.txt', '\nab\n\n\n  \ncd\nef\n', tok, { seqLen: 8 });
    expect(t.format).toBe('text');
    expect(t.examples).toEqual([
      { ids: [1, c('a'), c('b'), 2], mask: [0, 1, 1, 1], line: 2 },
      { ids: [1, c('c'), c('d'), c('\n'), c('e'), c('f'), 2], mask: [0, 1, 1, 1, 1, 1, 1], line: 6 },
    ]);
  });

  it('<|endoftext|> lines, when present, are the only separators', () => {
    const t = tokenizeData('d.txt', 'a\r\n\r\nb\r\n<|endoftext|>\r\nc', tok, { seqLen: 8 });
    expect(t.examples.map((e) => [tok.decode(e.ids), e.line])).toEqual([
      ['a\n\nb', 1],
      ['c', 5],
    ]);
  });

  it('stream packing: windows of T+1 overlapping by one token, BOS never a target, last window padded', () => {
    // stream: 1 a b 2 | 1 c d 2 (mask 0 1 1 1 0 1 1 1), T = 3
    const p = prepareData('d.txt', 'ab\n\ncd', tok, { seqLen: 3, evalFraction: 0 });
    expect(p.stats.packing).toBe('stream');
    expect(rows(p.train)).toEqual([
      { inputs: [1, c('a'), c('b')], targets: [c('a'), c('b'), 2] },
      { inputs: [2, 1, c('c')], targets: [-1, c('c'), c('d')] },
      { inputs: [c('d'), 2, 2], targets: [2, -1, -1] }, // padded with EOS ids, ignored targets
    ]);
    expect(p.stats).toMatchObject({ records: 2, tokens: 8, lossTokens: 6, trainWindows: 3, evalWindows: 0 });
  });

  it('a document longer than a window is split across windows, with a counted warning', () => {
    const p = prepareData('d.txt', 'abcdefgh\n\nxy', tok, { seqLen: 4, evalFraction: 0 });
    expect(p.warningCounts).toEqual({ truncated: 0, split: 1, skipped: 0, boundary: 0 });
    expect(p.warnings).toEqual([
      { kind: 'split', line: 1, message: 'document of 10 tokens is longer than a window (5); split across 3 windows' },
    ]);
    // stream 1 a b c d e f g h 2 1 x y 2 (14 tokens) → 13 targets, 2 of them BOS (ignored) → 4 windows
    expect(p.stats.lossTokens).toBe(12);
    expect(rows(p.train)[2]).toEqual({ inputs: [c('h'), 2, 1, c('x')], targets: [2, -1, c('x'), c('y')] });
    expect(p.train).toHaveLength(4);
  });
});

describe('JSONL', () => {
  it('"text" records, blank lines skipped, line numbers of the source', () => {
    const t = tokenizeData('d.jsonl', '{"text":"hi"}\n\n  \n{"text":"a","extra":[1]}\n', tok, { seqLen: 8 });
    expect(t.examples).toEqual([
      { ids: [1, c('h'), c('i'), 2], mask: [0, 1, 1, 1], line: 1 },
      { ids: [1, c('a'), 2], mask: [0, 1, 1], line: 4 },
    ]);
    expect(t.hasCompletions).toBe(false);
  });

  it('prompt/completion: loss only on the completion and its EOS', () => {
    const t = tokenizeData('d.jsonl', '{"prompt":"Q:","completion":" ab"}\n{"prompt":"","completion":"z"}', tok, { seqLen: 8 });
    expect(t.examples).toEqual([
      { ids: [1, c('Q'), c(':'), c(' '), c('a'), c('b'), 2], mask: [0, 0, 0, 1, 1, 1, 1], line: 1 },
      { ids: [1, c('z'), 2], mask: [0, 1, 1], line: 2 },
    ]);
    expect(t.hasCompletions).toBe(true);
  });

  it('prompt/completion packs whole examples by default; targets of the prompt are -1', () => {
    const text = '{"prompt":"ab","completion":"c"}\n{"prompt":"d","completion":"ef"}\n';
    // examples: 1 a b c 2 (mask 0 0 0 1 1) and 1 d e f 2 (mask 0 0 1 1 1), 5 tokens each; T = 6 fits one
    const p = prepareData('d.jsonl', text, tok, { seqLen: 6, evalFraction: 0 });
    expect(p.stats.packing).toBe('whole');
    expect(rows(p.train)).toEqual([
      { inputs: [1, c('a'), c('b'), c('c'), 2, 2], targets: [-1, -1, c('c'), 2, -1, -1] },
      { inputs: [1, c('d'), c('e'), c('f'), 2, 2], targets: [-1, c('e'), c('f'), 2, -1, -1] },
    ]);
    expect(p.stats.lossTokens).toBe(5);
    // forced stream packing runs the second example into the first window
    const s = prepareData('d.jsonl', text, tok, { seqLen: 6, evalFraction: 0, packing: 'stream' });
    expect(rows(s.train)).toEqual([
      { inputs: [1, c('a'), c('b'), c('c'), 2, 1], targets: [-1, -1, c('c'), 2, -1, -1] },
      { inputs: [c('d'), c('e'), c('f'), 2, 2, 2], targets: [c('e'), c('f'), 2, -1, -1, -1] },
    ]);
  });

  it('long records are truncated to one window, prompt-only leftovers and empty texts skipped, all counted', () => {
    const lines = [
      '{"text":"abcdefgh"}', // 10 tokens → 5
      '{"prompt":"abcdefgh","completion":"x"}', // prompt fills the window → skipped
      '{"text":""}', // skipped
      '{"prompt":"ab","completion":"cdefgh"}', // 10 tokens → 5, loss on c d
      '{"text":"xy"}',
    ];
    const p = prepareData('d.jsonl', lines.join('\n'), tok, { seqLen: 4, evalFraction: 0 });
    expect(p.warningCounts).toEqual({ truncated: 3, split: 0, skipped: 2, boundary: 0 });
    expect(p.warnings.map((w) => [w.kind, w.line])).toEqual([
      ['truncated', 1],
      ['truncated', 2],
      ['skipped', 2],
      ['skipped', 3],
      ['truncated', 4],
    ]);
    expect(p.warnings[0].message).toBe('record of 10 tokens truncated to one window (5 tokens)');
    expect(p.stats.records).toBe(3);
    expect(p.stats.tokens).toBe(5 + 5 + 4);
    expect(rows(p.train)[1]).toEqual({ inputs: [1, c('a'), c('b'), c('c')], targets: [-1, -1, c('c'), c('d')] });
  });

  it('lists at most MAX_LISTED_WARNINGS warnings but counts them all', () => {
    const text = Array.from({ length: 25 }, () => '{"text":"abcdefgh"}').join('\n');
    const p = prepareData('d.jsonl', text, tok, { seqLen: 4 });
    expect(p.warningCounts.truncated).toBe(25);
    expect(p.warnings).toHaveLength(MAX_LISTED_WARNINGS);
    expect(p.warnings[19].line).toBe(20);
  });
});

describe('bad data', () => {
  it('an empty file', () => {
    for (const text of ['', '  \n\n \r\n', '\ufeff']) {
      expect(dataError(() => prepareData('d.txt', text, tok, { seqLen: 4 })).message).toBe('d.txt is empty');
      expect(dataError(() => prepareData('x.jsonl', text, tok, { seqLen: 4 })).message).toBe('x.jsonl is empty');
    }
  });

  it('invalid JSON names the file, the 1-based line (blank lines counted) and the parser message', () => {
    let parserMessage = '';
    try {
      JSON.parse('{"text": }');
    } catch (e) {
      parserMessage = (e as Error).message;
    }
    const e = dataError(() => tokenizeData('d.jsonl', '{"text":"a"}\n\n{"text": }\n{"text":"b"}', tok, { seqLen: 4 }));
    expect(e.message).toBe(`d.jsonl, line 3: invalid JSON: ${parserMessage}`);
    expect([e.file, e.line, e.field]).toEqual(['d.jsonl', 3, undefined]);
    expect(dataError(() => tokenizeData('d.json', '[\n{"text":"a"}', tok, { seqLen: 4 })).message).toMatch(
      /^d\.json, line 1: invalid JSON: .*\(a JSON array\? expected one JSON object per line\)$/,
    );
  });

  it('records that are not objects or miss fields name the line and the field', () => {
    const err = (line: string) => dataError(() => tokenizeData('d.jsonl', `{"text":"ok"}\n${line}`, tok, { seqLen: 4 }));
    expect(err('[1, 2]').message).toBe('d.jsonl, line 2: expected a JSON object with "text" or "prompt" and "completion", got an array');
    expect(err('"hi"').message).toBe('d.jsonl, line 2: expected a JSON object with "text" or "prompt" and "completion", got a string');
    expect(err('null').message).toMatch(/line 2: .* got null$/);
    const missing = err('{"txt":"a"}');
    expect(missing.message).toBe('d.jsonl, line 2: missing field "text" (or "prompt" and "completion")');
    expect(missing.field).toBe('text');
    const noCompletion = err('{"prompt":"a"}');
    expect(noCompletion.message).toBe('d.jsonl, line 2: missing field "completion"');
    expect([noCompletion.line, noCompletion.field]).toEqual([2, 'completion']);
    expect(err('{"completion":"a"}').message).toBe('d.jsonl, line 2: missing field "prompt"');
    const notString = err('{"text": 5}');
    expect(notString.message).toBe('d.jsonl, line 2: field "text" must be a string, got number');
    expect(notString.field).toBe('text');
    expect(err('{"prompt":"a","completion":null}').message).toBe('d.jsonl, line 2: field "completion" must be a string, got null');
  });

  it('token ids outside the vocabulary name the line', () => {
    const small = new ByteTokenizer(100); // 'a' (id 100) is out of range, 'W' (id 90) is in
    const e = dataError(() => tokenizeData('d.txt', 'WW\n\n\nWa', small, { seqLen: 8 }));
    expect(e.message).toBe('d.txt, line 4: token id 100 from the tokenizer is outside the vocabulary [0, 100)');
    expect(e.line).toBe(4);
    const j = dataError(() => tokenizeData('d.jsonl', '{"text":"W"}\n{"prompt":"a","completion":"W"}', small, { seqLen: 8 }));
    expect(j.message).toMatch(/^d\.jsonl, line 2: token id 100 /);
  });

  it('a file with nothing left to train on', () => {
    expect(dataError(() => prepareData('d.jsonl', '{"text":""}', tok, { seqLen: 4 })).message).toBe(
      'd.jsonl: no tokens to train on (every record is too short or has no completion)',
    );
  });
});

describe('every bad line', () => {
  const parserMessage = (src: string): string => {
    try {
      JSON.parse(src);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error(`${src} parses`);
  };

  it('a file with several bad lines lists each with its line, field and what is wrong', () => {
    const text = ['{"text":"ok"}', '{"text": oops}', '{"text":"fine"}', '{"prompt":"a"}', '{"text": 5}', '', '[1]'].join('\n');
    const e = dataError(() => tokenizeData('d.jsonl', text, tok, { seqLen: 4 }));
    expect(e.message).toBe(
      [
        'd.jsonl has 4 bad lines:',
        `line 2: invalid JSON: ${parserMessage('{"text": oops}')}`,
        'line 4: missing field "completion"',
        'line 5: field "text" must be a string, got number',
        'line 7: expected a JSON object with "text" or "prompt" and "completion", got an array',
      ].join('\n'),
    );
    expect(e.problems).toEqual([
      { line: 2, message: `invalid JSON: ${parserMessage('{"text": oops}')}` },
      { line: 4, field: 'completion', message: 'missing field "completion"' },
      { line: 5, field: 'text', message: 'field "text" must be a string, got number' },
      { line: 7, message: 'expected a JSON object with "text" or "prompt" and "completion", got an array' },
    ]);
    expect([e.file, e.line, e.field, e.unlisted]).toEqual(['d.jsonl', 2, undefined, 0]);
  });

  it(`lists the first ${MAX_LISTED_PROBLEMS} bad lines and counts the others`, () => {
    // 45 lines, every third one good: 30 bad lines.
    const text = Array.from({ length: 45 }, (_, i) => (i % 3 === 0 ? '{"text":"ok"}' : `{"txt":"${i}"}`)).join('\n');
    const e = dataError(() => prepareData('many.jsonl', text, tok, { seqLen: 4 }));
    const lines = e.message.split('\n');
    expect(lines).toHaveLength(1 + MAX_LISTED_PROBLEMS + 1);
    expect(lines[0]).toBe('many.jsonl has 30 bad lines:');
    expect(lines[1]).toBe('line 2: missing field "text" (or "prompt" and "completion")');
    expect(lines[20]).toBe('line 30: missing field "text" (or "prompt" and "completion")');
    expect(lines[21]).toBe('… and 10 more bad lines');
    expect(e.problems.map((p) => p.line)).toEqual([2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 23, 24, 26, 27, 29, 30]);
    expect(e.unlisted).toBe(10);
  });

  it('plain-text documents with token ids outside the vocabulary are each listed', () => {
    const small = new ByteTokenizer(100); // 'a' (id 100) is out of range, 'W' (id 90) is in
    const e = dataError(() => tokenizeData('d.txt', 'Wa\n\nWW\n\nWWa', small, { seqLen: 8 }));
    expect(e.message).toBe(
      [
        'd.txt has 2 bad lines:',
        'line 1: token id 100 from the tokenizer is outside the vocabulary [0, 100)',
        'line 5: token id 100 from the tokenizer is outside the vocabulary [0, 100)',
      ].join('\n'),
    );
    expect(e.problems.map((p) => p.line)).toEqual([1, 5]);
  });
});

/** `tok` that records the length of every text it is asked to encode. */
function countingTokenizer(inner: Tokenizer): Tokenizer & { encoded: number[] } {
  const encoded: number[] = [];
  return {
    vocabSize: inner.vocabSize,
    bosId: inner.bosId,
    eosId: inner.eosId,
    encoded,
    encode: (text, opts) => {
      encoded.push(text.length);
      return inner.encode(text, opts);
    },
    decode: (ids) => inner.decode(ids),
  };
}

describe('huge records', () => {
  const MB = 1 << 20;

  it('a record of megabytes is cut before tokenising: only a prefix the window can use is encoded', () => {
    const counting = countingTokenizer(tok);
    const text = `{"text":"${'a'.repeat(5 * MB)}"}\n{"text":"xy"}`;
    const p = prepareData('huge.jsonl', text, counting, { seqLen: 8, evalFraction: 0 });
    // window 9: (9 + CUT_MARGIN 64) × 8 characters, then the 2 of line 2
    expect(CUT_MARGIN).toBe(64);
    expect(counting.encoded).toEqual([584, 2]);
    expect(p.warnings).toEqual([
      {
        kind: 'truncated',
        line: 1,
        message: `record of ${5 * MB} characters truncated to one window (9 tokens): only its first 584 characters were tokenised, the other ${5 * MB - 584} dropped`,
      },
    ]);
    expect(rows(p.train)[0]).toEqual({ inputs: [1, ...Array(7).fill(c('a'))], targets: Array(8).fill(c('a')) });
    expect(p.stats.tokens).toBe(9 + 4);
  });

  it('a prefix that gives too few tokens is doubled until it covers the window', () => {
    // 16 characters per token, window 257: the first prefix, (257 + 64) × 8 = 2568 characters, gives
    // 1 + 161 tokens, short of 257 + 64; doubled, 5136 characters give 1 + 321.
    const sixteen: Tokenizer = {
      vocabSize: 10,
      bosId: 1,
      eosId: 2,
      encode: (t, o = {}) => [...(o.bos ? [1] : []), ...Array.from({ length: Math.ceil(t.length / 16) }, () => 3), ...(o.eos ? [2] : [])],
      decode: () => '',
    };
    const counting = countingTokenizer(sixteen);
    const p = prepareData('long.jsonl', JSON.stringify({ prompt: 'Q', completion: 'b'.repeat(MB) }), counting, { seqLen: 256, evalFraction: 0 });
    expect(counting.encoded).toEqual([1, 2568, 5136]);
    expect(p.warnings[0].message).toBe(
      `record of ${MB + 1} characters truncated to one window (257 tokens): only its first 5136 characters were tokenised, the other ${MB + 1 - 5136} dropped`,
    );
    expect(p.stats.tokens).toBe(257);
  });

  it('a huge prompt leaves no completion in the window: skipped, after tokenising prefixes only', () => {
    const counting = countingTokenizer(tok);
    const p = prepareData('p.jsonl', `${JSON.stringify({ prompt: 'p'.repeat(MB), completion: 'c' })}\n{"text":"ok"}`, counting, { seqLen: 8 });
    expect(counting.encoded).toEqual([584, 584, 2]);
    expect(p.warnings.map((w) => [w.kind, w.line])).toEqual([
      ['truncated', 1],
      ['skipped', 1],
    ]);
    expect(p.warningCounts.boundary).toBe(0);
  });
});

describe('packing, split and batches', () => {
  const ex = (ids: number[], mask: number[]): Example => ({ ids, mask, line: 1 });

  it('whole packing puts an over-long example in fresh windows that overlap by one token', () => {
    const { windows, dropped } = packExamples(
      [ex([1, 5, 6], [0, 1, 1]), ex([1, 7, 8, 9, 10, 11], [0, 1, 1, 1, 1, 1]), ex([1, 12], [0, 1])],
      3,
      { mode: 'whole', padId: 0 },
    );
    expect(dropped).toBe(0);
    expect(rows(windows)).toEqual([
      { inputs: [1, 5, 6], targets: [5, 6, -1] },
      { inputs: [1, 7, 8], targets: [7, 8, 9] },
      { inputs: [9, 10, 11], targets: [10, 11, -1] }, // [1, 12] does not fit after 9 10 11
      { inputs: [1, 12, 0], targets: [12, -1, -1] },
    ]);
  });

  it('windows without any loss target are dropped and counted', () => {
    // windows 1 5 6 | 6 7 8 | 8 9: only the last has a target with loss
    const { windows, dropped } = packExamples([ex([1, 5, 6, 7, 8, 9], [0, 0, 0, 0, 0, 1])], 2);
    expect(rows(windows)).toEqual([{ inputs: [8, 9], targets: [9, -1] }]);
    expect(dropped).toBe(2);
  });

  it('split sizes: round(n·fraction) clamped to [1, n-1], deterministic in the seed', () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => i);
    const size = (n: number, f?: number) => {
      const s = splitWindows(ids(n), f, 7);
      return [s.train.length, s.eval.length];
    };
    expect(size(25)).toEqual([22, 3]);
    expect(size(100)).toEqual([90, 10]);
    expect(size(5)).toEqual([4, 1]);
    expect(size(2)).toEqual([1, 1]);
    expect(size(1)).toEqual([1, 0]);
    expect(size(0)).toEqual([0, 0]);
    expect(size(3, 0.9)).toEqual([1, 2]);
    expect(size(10, 0)).toEqual([10, 0]);
    const a = splitWindows(ids(50), 0.2, 1);
    expect(splitWindows(ids(50), 0.2, 1)).toEqual(a);
    expect([...a.train, ...a.eval].sort((x, y) => x - y)).toEqual(ids(50));
    expect(a.train).toEqual([...a.train].sort((x, y) => x - y)); // original order kept
    expect(splitWindows(ids(50), 0.2, 2).eval).not.toEqual(a.eval);
  });

  it('prepareData splits windows by evalFraction and seed', () => {
    const text = Array.from({ length: 40 }, (_, i) => `{"text":"${'abcdefgh'.slice(0, 1 + (i % 8))}"}`).join('\n');
    const p = prepareData('d.jsonl', text, tok, { seqLen: 4, evalFraction: 0.25, seed: 3 });
    const n = p.stats.trainWindows + p.stats.evalWindows;
    expect(p.stats.evalWindows).toBe(Math.round(n * 0.25));
    expect(p.eval).toHaveLength(p.stats.evalWindows);
    const again = prepareData('d.jsonl', text, tok, { seqLen: 4, evalFraction: 0.25, seed: 3 });
    expect(rows(again.eval)).toEqual(rows(p.eval));
  });

  /** Window i has inputs [i, i, ...] so a batch row says which window it is. */
  const numbered = (n: number, T: number): PackedWindow[] =>
    Array.from({ length: n }, (_, i) => ({ inputs: new Uint32Array(T).fill(i), targets: new Int32Array(T).fill(i + 100) }));
  const rowIds = (it: BatchIterator, batches: number) =>
    Array.from({ length: batches }, () => {
      const b = it.next();
      return Array.from({ length: b.batchSize }, (_, r) => b.inputs[r * b.seqLen]);
    }).flat();

  it('the batch iterator cycles through shuffled epochs, deterministically in the seed', () => {
    const ws = numbered(5, 4);
    const order = rowIds(new BatchIterator(ws, 3, 11), 10); // 30 rows = 6 epochs of 5
    expect(rowIds(new BatchIterator(ws, 3, 11), 10)).toEqual(order);
    expect(rowIds(new BatchIterator(ws, 3, 12), 10)).not.toEqual(order);
    const epochs = Array.from({ length: 6 }, (_, e) => order.slice(5 * e, 5 * e + 5));
    for (const ep of epochs) expect([...ep].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(epochs.map((ep) => ep.join())).size).toBeGreaterThan(1); // reshuffled per epoch

    const it2 = new BatchIterator(ws, 3, 11);
    const b = it2.next();
    expect(b.inputs).toHaveLength(12);
    expect(b.epoch).toBeCloseTo(0.6, 12);
    for (let r = 0; r < 3; r++) {
      const w = b.inputs[r * 4];
      expect([...b.targets.subarray(r * 4, r * 4 + 4)]).toEqual([w + 100, w + 100, w + 100, w + 100]);
    }
    expect(it2.next().epoch).toBeCloseTo(1.2, 12);
    expect(() => new BatchIterator([], 2)).toThrow(/no training windows/);
  });

  it('ordered batches keep the order and pad the last batch with ignored rows', () => {
    const bs = [...orderedBatches(numbered(5, 2), 2, 0)];
    expect(bs.map((b) => [...b.inputs])).toEqual([[0, 0, 1, 1], [2, 2, 3, 3], [4, 4, 0, 0]]);
    expect([...bs[2].targets]).toEqual([104, 104, -1, -1]);
    expect(bs.map((b) => b.epoch)).toEqual([0.4, 0.8, 1]);
  });
});

describe('stats', () => {
  it('counts records, tokens, loss tokens, windows, and shows the first examples', () => {
    const text = '{"prompt":"Q","completion":"A"}\n{"text":"hi"}\n{"text":"yo"}\n{"text":"ok"}';
    const p = prepareData('d.jsonl', text, tok, { seqLen: 4, evalFraction: 0.5, sampleCount: 2 });
    expect(p.stats).toMatchObject({
      file: 'd.jsonl',
      format: 'jsonl',
      packing: 'whole',
      records: 4,
      tokens: 16,
      lossTokens: 2 + 3 * 3, // A EOS; 3 × (2 letters + EOS)
      trainWindows: 2,
      evalWindows: 2,
      droppedWindows: 0,
    });
    expect(p.stats.samples).toEqual([
      { line: 1, ids: [1, c('Q'), c('A'), 2], pieces: ['<bos>', 'Q', 'A', '<eos>'], mask: [0, 0, 1, 1] },
      { line: 2, ids: [1, c('h'), c('i'), 2], pieces: ['<bos>', 'h', 'i', '<eos>'], mask: [0, 1, 1, 1] },
    ]);
  });
});

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tokPath = path.resolve(repoRoot, '../shared/fixtures/stories260K/tok512.bin');

/** Long texts of words (a story, started at different words so that the cut falls everywhere). */
function longTexts(story: string): string[] {
  const words = story.split(' ');
  return [0, 1, 2, 3, 5, 8, 13].map((k) => {
    let s = words.slice(k).join(' ');
    while (s.length < 6_000) s += ` ${story}`;
    return s;
  });
}

/** The window a huge record keeps is the one tokenising the whole record would keep, on real tokenizers. */
function expectCutLikeWhole(tokenizer: Tokenizer, story: string): void {
  for (const [i, text] of longTexts(story).entries()) {
    const whole = tokenizer.encode(text, { bos: true, eos: true }).slice(0, 257);
    const t = tokenizeData('long.jsonl', JSON.stringify({ text }), tokenizer, { seqLen: 256 });
    expect(t.examples[0].ids, `text ${i}`).toEqual(whole);
    expect(t.warnings[0].message, `text ${i}`).toMatch(/^record of \d+ characters truncated to one window \(257 tokens\): only its first \d+ characters were tokenised/);
    const completion = tokenizeData('long.jsonl', JSON.stringify({ prompt: 'Q: tell a story.\nA:', completion: text }), tokenizer, { seqLen: 256 });
    expect(completion.examples[0].ids, `completion ${i}`).toEqual(tokenizer.encode(`Q: tell a story.\nA:${text}`, { bos: true }).slice(0, 257));
  }
}

describe('huge records on the built-in model\'s tokenizers', () => {
  const dir = path.resolve(repoRoot, 'public/models/tinyworld');
  const story = 'One cold morning, Lily woke up early in the sunny beach. She found a green kite on the ground. The sunny beach is where Rosa lives. Lily and Rosa are best friends. Rosa is 6 years old.';

  it('tokenizer.bin (llama2.c BPE): the kept window is the whole record\'s first window', () => {
    expectCutLikeWhole(Llama2cTokenizer.fromBytes(readFileSync(path.join(dir, 'tokenizer.bin')), 'tokenizer.bin'), story);
  });

  it('tokenizer.json (Hugging Face): the kept window is the whole record\'s first window', async () => {
    const hf = await HfTokenizer.fromText(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'), readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
    expectCutLikeWhole(hf, story);
  });
});

describe.skipIf(!existsSync(tokPath))('with the stories260K tokenizer', () => {
  const llama = Llama2cTokenizer.fromBytes(readFileSync(tokPath), 'tok512.bin');

  it('prompt/completion on real BPE: the completion tokens decode to the completion', () => {
    const t = tokenizeData(
      'd.jsonl',
      JSON.stringify({ prompt: 'Once upon a time,', completion: ' there was a little girl named Lily.' }),
      llama,
      { seqLen: 64 },
    );
    const [e] = t.examples;
    // the published greedy sample starts 1, 403, 407, 261, 378, 432, 383, 286, ... ("Once upon a time, there was")
    expect(e.ids.slice(0, 8)).toEqual([1, 403, 407, 261, 378, 432, 383, 286]);
    expect(e.mask.indexOf(1)).toBe(6); // 6 prompt tokens: BOS " Once" " upon" " a" " time" ","
    const loss = e.ids.filter((_, i) => e.mask[i] === 1);
    expect(loss.at(-1)).toBe(llama.eosId);
    expect(llama.decode(loss.slice(0, -1))).toBe(' there was a little girl named Lily.');
    expect(t.warningCounts.boundary).toBe(0);
  });

  it('a join inside a merged token starts the loss at the first changed token, with a warning', () => {
    const t = tokenizeData('d.jsonl', '{"prompt":"Q: the ca","completion":"t sat"}', llama, { seqLen: 64 });
    const promptIds = llama.encode('Q: the ca', { bos: true });
    const [e] = t.examples;
    expect(e.ids).toEqual(llama.encode('Q: the cat sat', { bos: true, eos: true }));
    let common = 0;
    while (promptIds[common] === e.ids[common]) common++;
    expect(common).toBeLessThan(promptIds.length); // the fixture really merges across the join
    expect(e.mask.indexOf(1)).toBe(common);
    expect(t.warningCounts.boundary).toBe(1);
    expect(t.warnings[0]).toEqual({ kind: 'boundary', line: 1, message: `prompt and completion share a token at the join; loss starts at token ${common}` });
  });

  it('a huge record keeps the whole record\'s first window', () => {
    expectCutLikeWhole(llama, 'Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. One day, she saw a big, red ball in the park.');
  });

  it('plain text stories: every token after BOS is a target once', () => {
    const stories = 'Once upon a time, there was a cat.\nThe cat was happy.\n\nLily saw a big dog. She ran to the park.';
    const p = prepareData('s.txt', stories, llama, { seqLen: 8, evalFraction: 0.2, seed: 1 });
    const docs = stories.split('\n\n').map((d) => llama.encode(d, { bos: true, eos: true }));
    const n = docs.reduce((s, d) => s + d.length, 0);
    expect(p.stats.tokens).toBe(n);
    expect(p.stats.lossTokens).toBe(n - docs.length); // all but the BOS of each document
    const windows = Math.ceil((n - 1) / 8); // stride T = 8, last one padded
    expect(p.stats.trainWindows + p.stats.evalWindows).toBe(windows);
    expect(p.stats.evalWindows).toBe(Math.max(1, Math.round(windows * 0.2)));
    expect(p.stats.droppedWindows).toBe(0);
  });
});
