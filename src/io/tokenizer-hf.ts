/**
 * Hugging Face tokenizers: export a llama2.c vocabulary as tokenizer.json (+ tokenizer_config.json),
 * and HfTokenizer, which runs any tokenizer.json through @huggingface/transformers, offline.
 */
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { ModelFileError } from './errors.ts';
import type { Tokenizer } from './tokenizer.ts';
import type { Llama2cTokenizer } from './tokenizer-llama2c.ts';

/** SentencePiece's visible space, used for " " in HF Llama vocabularies. */
const SPACE = '\u2581';
const SPECIAL_NAMES = ['<unk>', '<s>', '</s>'] as const;

/**
 * tokenizer.json for a llama2.c vocabulary: BPE with byte fallback whose rank-ordered merges
 * reproduce run.c's highest-score-first merging. For each piece, every split into two existing
 * pieces is a merge; merges are ordered by the merged piece's score, descending (ties: by id), and
 * within a piece by the ids of its halves, as transformers' SentencePieceExtractor does. HF then
 * applies the lowest-rank merge present, leftmost first, i.e. the highest-scoring piece, as run.c.
 * Ids 0/1/2 are named <unk>, <s>, </s> whatever the file stores.
 */
export function llama2cToTokenizerJson(tok: Llama2cTokenizer): Record<string, unknown> {
  const n = tok.vocabSize;
  const names = tok.pieces.map((p, i) => (i < 3 ? SPECIAL_NAMES[i]! : p.replaceAll(' ', SPACE)));
  const vocab: Record<string, number> = {};
  const dup: number[] = [];
  names.forEach((p, i) => {
    if (Object.hasOwn(vocab, p)) dup.push(i);
    else vocab[p] = i;
  });
  if (dup.length) {
    throw new ModelFileError('tokenizer.json', `cannot export: duplicate pieces at ids ${dup.slice(0, 5).join(', ')}`, 'format');
  }

  const mergeable = (i: number): boolean => i >= 3 && !/^<0x[0-9A-F]{2}>$/.test(names[i]!);
  const order = Array.from({ length: n }, (_, i) => i).filter(mergeable).sort((a, b) => tok.scores[b]! - tok.scores[a]! || a - b);
  const merges: [string, string][] = [];
  for (const id of order) {
    const chars = Array.from(names[id]!);
    const local: [number, number][] = [];
    for (let k = 1; k < chars.length; k++) {
      const l = vocab[chars.slice(0, k).join('')], r = vocab[chars.slice(k).join('')];
      if (l !== undefined && r !== undefined && mergeable(l) && mergeable(r)) local.push([l, r]);
    }
    local.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (const [l, r] of local) merges.push([names[l]!, names[r]!]);
  }

  const special = (id: number): Record<string, unknown> => ({
    id, content: names[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [0, 1, 2].map(special),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** tokenizer_config.json to go with llama2cToTokenizerJson (LlamaTokenizer, BOS added, no EOS). */
export function llama2cTokenizerConfig(opts: { modelMaxLength?: number } = {}): Record<string, unknown> {
  const added: Record<string, unknown> = {};
  SPECIAL_NAMES.forEach((content, id) => {
    added[String(id)] = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  });
  const cfg: Record<string, unknown> = {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: added,
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    clean_up_tokenization_spaces: false,
    legacy: false,
    sp_model_kwargs: {},
    spaces_between_special_tokens: false,
    tokenizer_class: 'LlamaTokenizer',
    use_default_system_prompt: false,
  };
  if (opts.modelMaxLength !== undefined) cfg.model_max_length = opts.modelMaxLength;
  return cfg;
}

/** The tokenizer.json model types tokenizers.js implements (anything else it guesses at, or refuses). */
const MODEL_TYPES = ['BPE', 'Unigram', 'WordPiece'];

/**
 * Check tokenizer.json's model (a supported type, a non-empty vocabulary of non-negative integer ids)
 * and return the id space it spans: one more than the highest id of its vocabulary and added tokens.
 */
function tokenizerIdSpace(j: Record<string, unknown>, file: string): number {
  const bad = (problem: string): never => { throw new ModelFileError(file, problem, 'format'); };
  const model = j.model;
  if (typeof model !== 'object' || model === null || Array.isArray(model)) return bad(`"model" must be an object with a "type" and a "vocab", got ${JSON.stringify(model)}`);
  const { type, vocab } = model as Record<string, unknown>;
  if (typeof type !== 'string' || !MODEL_TYPES.includes(type)) {
    return bad(`model type ${JSON.stringify(type)} is not supported (supported: ${MODEL_TYPES.join(', ')})`);
  }
  let top = -1;
  if (type === 'Unigram') {
    if (!Array.isArray(vocab)) return bad(`"model.vocab" of a Unigram model must be a list of [piece, score], got ${JSON.stringify(vocab)?.slice(0, 40)}`);
    top = vocab.length - 1;
  } else {
    if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) return bad(`"model.vocab" of a ${type} model must be an object {piece: id}, got ${JSON.stringify(vocab)?.slice(0, 40)}`);
    for (const [piece, id] of Object.entries(vocab)) {
      if (!Number.isSafeInteger(id) || (id as number) < 0) bad(`"model.vocab" gives ${JSON.stringify(piece)} the id ${JSON.stringify(id)}; ids are non-negative integers`);
      top = Math.max(top, id as number);
    }
  }
  if (top < 0) bad('the vocabulary ("model.vocab") is empty');
  const added = Array.isArray(j.added_tokens) ? j.added_tokens : [];
  for (const t of added) {
    const id = (t as Record<string, unknown> | null)?.id;
    if (!Number.isSafeInteger(id) || (id as number) < 0) bad(`"added_tokens" entry ${JSON.stringify(t)} has no non-negative integer "id"`);
    top = Math.max(top, id as number);
  }
  return top + 1;
}

/** Any Hugging Face tokenizer.json, run by @huggingface/transformers with no network access. */
export class HfTokenizer implements Tokenizer {
  /** The id space: one more than the highest id any vocabulary or added token has (every id encode can return is below it). */
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;

  private constructor(private readonly tok: PreTrainedTokenizer, idSpace: number, fallback: { bosId: number; eosId: number }) {
    this.vocabSize = idSpace;
    this.bosId = tok.bos_token_id ?? fallback.bosId;
    this.eosId = tok.eos_token_id ?? fallback.eosId;
  }

  /**
   * Build from the parsed tokenizer.json and tokenizer_config.json objects. `fallback` ids (the
   * model's config) are used when the tokenizer config names no BOS/EOS token.
   */
  static async fromJson(
    tokenizerJson: Record<string, unknown>,
    tokenizerConfig: Record<string, unknown> = {},
    fallback: { bosId: number; eosId: number } = { bosId: 1, eosId: 2 },
    file = 'tokenizer.json',
  ): Promise<HfTokenizer> {
    const idSpace = tokenizerIdSpace(tokenizerJson, file);
    // Loaded on demand: the library is large and only needed for HF tokenizers.
    const lib = await import('@huggingface/transformers');
    const cls = String(tokenizerConfig.tokenizer_class ?? '').replace(/Fast$/, '');
    const Ctor = (cls && (lib as Record<string, unknown>)[cls]) as typeof lib.PreTrainedTokenizer | undefined;
    const Base = typeof Ctor === 'function' && Ctor.prototype instanceof lib.PreTrainedTokenizer ? Ctor : lib.PreTrainedTokenizer;
    try {
      return new HfTokenizer(new Base(tokenizerJson, tokenizerConfig), idSpace, fallback);
    } catch (e) {
      throw new ModelFileError(file, `cannot build the tokenizer: ${(e as Error).message}`, 'format');
    }
  }

  /** Build from the two files' text. */
  static async fromText(tokenizerJson: string, tokenizerConfig?: string, fallback?: { bosId: number; eosId: number }): Promise<HfTokenizer> {
    const parse = (text: string, file: string): Record<string, unknown> => {
      try {
        const j: unknown = JSON.parse(text);
        if (typeof j === 'object' && j !== null && !Array.isArray(j)) return j as Record<string, unknown>;
      } catch (e) {
        throw new ModelFileError(file, `not valid JSON (${(e as Error).message})`, 'json');
      }
      throw new ModelFileError(file, 'not a JSON object', 'json');
    };
    return HfTokenizer.fromJson(
      parse(tokenizerJson, 'tokenizer.json'),
      tokenizerConfig === undefined ? {} : parse(tokenizerConfig, 'tokenizer_config.json'),
      fallback,
    );
  }

  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const ids = this.tok.encode(text, { add_special_tokens: false });
    if (opts.bos) ids.unshift(this.bosId);
    if (opts.eos) ids.push(this.eosId);
    return ids;
  }

  /**
   * Text of `ids` with special tokens dropped. Like run.c, the leading space of the first piece is
   * dropped only after BOS: SentencePiece-style decoders always strip it, so it is put back when
   * `ids` does not start with BOS (a continuation).
   */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    const text = this.tok.decode([...ids], { skip_special_tokens: true, clean_up_tokenization_spaces: false });
    if (ids[0] === this.bosId) return text;
    const pieces = ids.map((id) => this.tok._tokenizer.id_to_token(id) ?? '').join('');
    const lead = pieces.length - pieces.replace(/^\u2581+/, '').length;
    const got = text.length - text.replace(/^ +/, '').length;
    return lead > 0 && got === lead - 1 ? ' ' + text : text;
  }
}
