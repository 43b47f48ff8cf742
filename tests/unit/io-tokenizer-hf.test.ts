import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelFileError } from '../../src/io/errors.ts';
import { HfTokenizer, llama2cToTokenizerJson, llama2cTokenizerConfig } from '../../src/io/tokenizer-hf.ts';
import { expectFileErrorAsync } from '../helpers/errors.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';

const TOK = new URL('../../../shared/fixtures/stories260K/tok512.bin', import.meta.url);
const ref = Llama2cTokenizer.fromBytes(new Uint8Array(readFileSync(TOK)), 'tok512.bin', 512);
const tokJson = llama2cToTokenizerJson(ref);
const tokCfg = llama2cTokenizerConfig({ modelMaxLength: 512 });

const GOLDEN =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n' +
  'Lily\'s mom said, "Lily, let\'s go to the park." Lily was sad and didn\'t know what to do. She said, "I want to play with your ball, but I can\'t find it."';

const SAMPLES = [
  GOLDEN,
  'café ☃',
  '',
  ' ',
  'The year 2024 had 366 days; 3.14159 ≈ π.',
  'Wait... what?! "Yes," she said — (really) [ok] {fine} <tag> 50% & more.',
  'two  spaces,   three spaces,    four',
  'line one\nline two\n\nafter a blank line\n',
  '\ttab\tseparated\t',
  ' leading space and trailing ',
  '日本語のテキスト 😀 emoji ñandú',
  "Tim's dog didn't want to play. They're happy!",
  'aaaaaaaaaaaaaaaa bbbbbbbbb the the the',
];

function randomTexts(n: number, seed: number): string[] {
  const alphabet = [...'abcdefghijklmnopqrstuvwxyz   ETLSO.,!?"\'\n\t-0123456789', 'é', '☃', '日', '😀', 'ñ', '—', '  ', ' the', ' Lily', 'ing', ' was'];
  let s = seed;
  const rnd = (k: number): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % k;
  return Array.from({ length: n }, () => Array.from({ length: 1 + rnd(40) }, () => alphabet[rnd(alphabet.length)]).join(''));
}

let hf: HfTokenizer;
beforeAll(async () => {
  // Round-trip through JSON text, as the files would be written and read back.
  hf = await HfTokenizer.fromText(JSON.stringify(tokJson), JSON.stringify(tokCfg));
});

describe('llama2.c vocabulary exported as tokenizer.json', () => {
  it('is a byte-fallback BPE with ▁ for spaces, standard special tokens and score-ordered merges', () => {
    const model = tokJson.model as { type: string; byte_fallback: boolean; vocab: Record<string, number>; merges: [string, string][] };
    expect(model.type).toBe('BPE');
    expect(model.byte_fallback).toBe(true);
    expect(Object.keys(model.vocab).length).toBe(512);
    expect([model.vocab['<unk>'], model.vocab['<s>'], model.vocab['</s>'], model.vocab['<0x0A>'], model.vocab['▁t'], model.vocab['▁']]).toEqual([0, 1, 2, 13, 259, ref.pieceId(' ')]);
    expect(model.merges.slice(0, 3)).toEqual([['▁', 't'], ['h', 'e'], ['▁', 'a']]);
    // merged-piece scores never increase along the list, and every split of every piece is listed
    const score = (m: [string, string]): number => ref.scores[model.vocab[m.join('')]!]!;
    for (let i = 1; i < model.merges.length; i++) expect(score(model.merges[i]!)).toBeLessThanOrEqual(score(model.merges[i - 1]!));
    const listed = new Set(model.merges.map((m) => m.join('\u0000')));
    let splits = 0;
    for (const piece of Object.keys(model.vocab).filter((p) => model.vocab[p]! > 258)) {
      const cs = Array.from(piece);
      for (let k = 1; k < cs.length; k++) {
        const l = cs.slice(0, k).join(''), r = cs.slice(k).join('');
        if (model.vocab[l]! > 258 && model.vocab[r]! > 258) {
          splits++;
          expect(listed.has(`${l}\u0000${r}`), `${l}+${r}`).toBe(true);
        }
      }
    }
    expect(model.merges.length).toBe(splits);
    expect(model.merges.filter((m) => m.join('') === '▁the')).toEqual([['▁t', 'he'], ['▁th', 'e']]);
    expect((tokJson.added_tokens as { content: string }[]).map((t) => t.content)).toEqual(['<unk>', '<s>', '</s>']);
    expect(tokCfg).toMatchObject({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', add_bos_token: true, tokenizer_class: 'LlamaTokenizer' });
  });

  it('HfTokenizer reports the vocabulary size and special ids', () => {
    expect([hf.vocabSize, hf.bosId, hf.eosId]).toEqual([512, 1, 2]);
  });

  it(`encodes ${SAMPLES.length} varied samples to exactly the llama2.c ids, with and without BOS/EOS`, () => {
    for (const s of SAMPLES) {
      expect(hf.encode(s, { bos: true }), JSON.stringify(s)).toEqual(ref.encode(s, { bos: true }));
      expect(hf.encode(s), JSON.stringify(s)).toEqual(ref.encode(s));
      expect(hf.encode(s, { bos: true, eos: true }), JSON.stringify(s)).toEqual(ref.encode(s, { bos: true, eos: true }));
    }
    expect(hf.encode(GOLDEN, { bos: true }).slice(0, 5)).toEqual([1, 403, 407, 261, 378]);
  });

  it('decodes the samples back identically (after BOS, and as continuations without BOS)', () => {
    for (const s of SAMPLES) {
      const ids = ref.encode(s, { bos: true });
      expect(hf.decode(ids), JSON.stringify(s)).toBe(ref.decode(ids));
      expect(hf.decode(ids), JSON.stringify(s)).toBe(s);
      expect(hf.decode(ids.slice(1)), JSON.stringify(s)).toBe(ref.decode(ids.slice(1)));
    }
    expect(hf.decode([])).toBe('');
    expect(hf.decode([261, 13])).toBe(' a\n');
  });

  it('matches llama2.c on 300 random texts', () => {
    for (const s of randomTexts(300, 2024)) {
      const ids = ref.encode(s, { bos: true });
      expect(hf.encode(s, { bos: true }), JSON.stringify(s)).toEqual(ids);
      expect(hf.decode(ids), JSON.stringify(s)).toBe(s);
    }
  });

  it('builds from the objects directly too (no files, no network)', async () => {
    const t = await HfTokenizer.fromJson(tokJson, tokCfg);
    expect(t.encode('Lily', { bos: true })).toEqual(ref.encode('Lily', { bos: true }));
  });

  it('bad tokenizer.json text → ModelFileError json naming tokenizer.json', async () => {
    const err = await HfTokenizer.fromText('{not json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as ModelFileError).code).toBe('json');
    expect((err as ModelFileError).message.startsWith('tokenizer.json: ')).toBe(true);
  });

  it('a tokenizer.json the library cannot build → ModelFileError format', async () => {
    const err = await HfTokenizer.fromJson({ model: { type: 'NoSuchModel' } }, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as ModelFileError).code).toBe('format');
  });
});

describe('tokenizer.json models the project cannot run', () => {
  const withModel = (model: unknown): Record<string, unknown> => ({ ...tokJson, model });
  const bpe = tokJson.model as Record<string, unknown>;

  it('an unsupported model type (WordLevel, a made-up one, none) → format naming the file and the supported types', async () => {
    for (const [type, shown] of [['WordLevel', '"WordLevel"'], ['NoSuchModel', '"NoSuchModel"'], [undefined, 'undefined']] as const) {
      const e = await expectFileErrorAsync(HfTokenizer.fromJson(withModel({ ...bpe, type }), tokCfg, undefined, 'dir/tokenizer.json'), 'format', 'dir/tokenizer.json');
      expect(e.message).toBe(`dir/tokenizer.json: model type ${shown} is not supported (supported: BPE, Unigram, WordPiece)`);
    }
    const none = await expectFileErrorAsync(HfTokenizer.fromJson({ version: '1.0' }, {}), 'format', 'tokenizer.json');
    expect(none.message).toBe('tokenizer.json: "model" must be an object with a "type" and a "vocab", got undefined');
  });

  it('an empty vocabulary (BPE {}, Unigram []) → format naming the file', async () => {
    const e = await expectFileErrorAsync(HfTokenizer.fromJson({ ...withModel({ ...bpe, vocab: {}, merges: [] }), added_tokens: [] }, tokCfg), 'format', 'tokenizer.json');
    expect(e.message).toBe('tokenizer.json: the vocabulary ("model.vocab") is empty');
    const u = await expectFileErrorAsync(HfTokenizer.fromJson({ model: { type: 'Unigram', unk_id: 0, vocab: [] }, added_tokens: [] }, {}), 'format', 'tokenizer.json');
    expect(u.message).toBe('tokenizer.json: the vocabulary ("model.vocab") is empty');
  });

  it('a vocabulary id that is not a non-negative integer → format naming the piece', async () => {
    const vocab = { ...(bpe.vocab as Record<string, number>), '▁Lily': -4 };
    const e = await expectFileErrorAsync(HfTokenizer.fromJson(withModel({ ...bpe, vocab }), tokCfg), 'format', 'tokenizer.json');
    expect(e.message).toBe('tokenizer.json: "model.vocab" gives "▁Lily" the id -4; ids are non-negative integers');
  });

  it('vocabSize is the id space: one more than the highest vocabulary or added-token id', async () => {
    expect(hf.vocabSize).toBe(512);
    const added = [...(tokJson.added_tokens as unknown[]), { id: 700, content: '<extra>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }];
    const t = await HfTokenizer.fromJson({ ...tokJson, added_tokens: added }, tokCfg);
    expect(t.vocabSize).toBe(701);
    expect(t.encode('<extra>')).toEqual([700]);
  });
});
