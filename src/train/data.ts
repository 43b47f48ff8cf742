/**
 * Training data: a text or JSONL file → tokenised examples with a loss mask → packed windows → a
 * deterministic train/eval split, with stats, counted warnings and precise errors. Runs in the
 * browser and in Node (input is the file's text and its name, used only in messages).
 *
 * Format: by extension (.jsonl, .ndjson, .json → JSONL; anything else → plain text) unless `format`.
 * A leading byte-order mark is dropped and "\r\n" read as "\n". Lines are numbered from 1.
 *
 * Plain text: if some line is exactly "<|endoftext|>", those lines separate the documents; otherwise
 *   a document is a paragraph: lines separated from the next paragraph by one or more blank
 *   (whitespace-only) lines. Each document → BOS + encode(document) + EOS, loss on every token but
 *   BOS. A document longer than one window (seqLen+1 tokens) is split across consecutive windows
 *   (warning 'split').
 * JSONL: one JSON object per line; whitespace-only lines are skipped; other fields are ignored.
 *   {"text": t}                      → BOS + encode(t) + EOS, loss on every token but BOS.
 *   {"prompt": p, "completion": c}   → encode(p + c) between BOS and EOS (joined with nothing in
 *     between: put the space or newline in p or c yourself), loss only on the completion tokens
 *     and the EOS. The completion starts at the first token where encode(p + c) leaves encode(p),
 *     exact unless the tokenizer merges across the join (warning 'boundary').
 *   "text" wins when a record has both forms. A record longer than one window (seqLen+1 tokens) is
 *   cut to its first seqLen+1 tokens (warning 'truncated'); a record left with no loss token (an
 *   empty "text", or a prompt that fills the window) is skipped (warning 'skipped').
 *   A long record is never tokenised whole: only a prefix of its text that gives the window and
 *   CUT_MARGIN tokens more (see encodePrefix), so a record of megabytes costs what one window does.
 *
 * Errors (DataError: file, line, field; nothing is returned):
 *   - "<file> is empty" — nothing but whitespace;
 *   - bad lines (every one is found; a file with one says "<file>, line N: <what>", a file with
 *     several "<file> has K bad lines:" then "line N: <what>" for the first MAX_LISTED_PROBLEMS and
 *     "… and M more bad lines"; DataError.problems lists them):
 *     "invalid JSON: <parser message>";
 *     "expected a JSON object with "text" or "prompt" and "completion", got <kind>";
 *     "missing field "text" (or "prompt" and "completion")" / missing "prompt" / missing
 *     "completion" / field "x" must be a string, got <type>;
 *     "token id X from the tokenizer is outside the vocabulary [0, V)" (also for text documents);
 *   - "<file>: no tokens to train on ..." — every window came out empty.
 * Warnings: counted per kind in `warningCounts`; the first MAX_LISTED_WARNINGS are listed with lines.
 * Bytes → text (fatal UTF-8, the offset of the first invalid byte): see utf8.ts.
 *
 * Packing, split and batches: see packing.ts. Packing 'auto' keeps whole examples together
 * ('whole') when the file has prompt/completion records, else streams them ('stream').
 */
import type { Tokenizer } from '../io/tokenizer.ts';
import type { DataFormat, DataProblem, DataStats, DataWarning, DataWarningKind } from '../schema/data.ts';
import { countTargets, packExamples, splitWindows, type Example, type PackedWindow } from './packing.ts';
import { type PackingMode } from '../schema/data.ts';

/**
 * A data file that cannot be used; the message names the file, the 1-based line and the field.
 * `problems` lists its bad lines (the first MAX_LISTED_PROBLEMS; `unlisted` counts the rest), and
 * `line`/`field` are the first one's.
 */
export class DataError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly line?: number,
    readonly field?: string,
    readonly problems: readonly DataProblem[] = [],
    readonly unlisted = 0,
  ) {
    super(message);
    this.name = 'DataError';
  }
}

/** The error for a file's bad lines: `problems` (all of them, in line order). */
export function badLinesError(file: string, problems: readonly DataProblem[]): DataError {
  const [first] = problems;
  if (problems.length === 1) return new DataError(file, `${file}, line ${first.line}: ${first.message}`, first.line, first.field, problems);
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS);
  const unlisted = problems.length - listed.length;
  const message = [
    `${file} has ${problems.length} bad lines:`,
    ...listed.map((p) => `line ${p.line}: ${p.message}`),
    ...(unlisted > 0 ? [`… and ${unlisted} more bad lines`] : []),
  ].join('\n');
  return new DataError(file, message, first.line, first.field, listed, unlisted);
}

export interface DataOptions {
  /** T: inputs (= targets) per window. */
  seqLen: number;
  /** Fraction of windows held out for evaluation; default 0.1. */
  evalFraction?: number;
  /** Seed of the window shuffle that picks the eval windows; default 0. */
  seed?: number;
  /** Default 'auto' (by extension). */
  format?: DataFormat | 'auto';
  /** Default 'auto' ('whole' when there are prompt/completion records, else 'stream'). */
  packing?: PackingMode | 'auto';
  /** Examples to keep for display; default 3. */
  sampleCount?: number;
}

export interface TokenizedData {
  format: DataFormat;
  examples: Example[];
  /** True when some record is a prompt/completion pair. */
  hasCompletions: boolean;
  warnings: DataWarning[];
  warningCounts: Record<DataWarningKind, number>;
}

export interface PreparedData {
  train: PackedWindow[];
  eval: PackedWindow[];
  stats: DataStats;
  warnings: DataWarning[];
  warningCounts: Record<DataWarningKind, number>;
}

export const MAX_LISTED_WARNINGS = 20;
/** Bad lines a DataError lists; the others are counted. */
export const MAX_LISTED_PROBLEMS = 20;
/** Characters per token first assumed when a long record is cut before tokenising (doubled until enough). */
const CHARS_PER_TOKEN_GUESS = 8;
/** Tokens past the window a prefix must give, so that the window's tokens do not depend on where the text was cut. */
export const CUT_MARGIN = 64;
const END_OF_TEXT = '<|endoftext|>';

/** Format of `file` from its extension. */
export function formatOf(file: string): DataFormat {
  return /\.(jsonl|ndjson|json)$/i.test(file) ? 'jsonl' : 'text';
}

/** Reads, tokenises, packs and splits a data file (see the module comment for the rules). */
export function prepareData(file: string, text: string, tokenizer: Tokenizer, opts: DataOptions): PreparedData {
  const T = opts.seqLen;
  const tok = tokenizeData(file, text, tokenizer, opts);
  const packing = opts.packing && opts.packing !== 'auto' ? opts.packing : tok.hasCompletions ? 'whole' : 'stream';
  const { windows, dropped } = packExamples(tok.examples, T, { mode: packing, padId: tokenizer.eosId });
  const lossTokens = countTargets(windows);
  if (lossTokens === 0) {
    throw new DataError(file, `${file}: no tokens to train on (every record is too short or has no completion)`);
  }
  const { train, eval: evalWindows } = splitWindows(windows, opts.evalFraction ?? 0.1, opts.seed ?? 0);
  const samples = tok.examples.slice(0, opts.sampleCount ?? 3).map((ex) => ({
    line: ex.line,
    ids: ex.ids.slice(),
    pieces: ex.ids.map((id) => (id === tokenizer.bosId ? '<bos>' : id === tokenizer.eosId ? '<eos>' : tokenizer.decode([id]))),
    mask: ex.mask.slice(),
  }));
  return {
    train,
    eval: evalWindows,
    stats: {
      file,
      format: tok.format,
      packing,
      records: tok.examples.length,
      tokens: tok.examples.reduce((s, ex) => s + ex.ids.length, 0),
      lossTokens,
      trainWindows: train.length,
      evalWindows: evalWindows.length,
      droppedWindows: dropped,
      samples,
    },
    warnings: tok.warnings,
    warningCounts: tok.warningCounts,
  };
}

/** The examples of a data file, before packing. */
export function tokenizeData(
  file: string,
  text: string,
  tokenizer: Tokenizer,
  opts: Pick<DataOptions, 'seqLen' | 'format'>,
): TokenizedData {
  const T = opts.seqLen;
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`seqLen must be an integer ≥ 1, got ${T}`);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new DataError(file, `${file} is empty`);
  const format = opts.format && opts.format !== 'auto' ? opts.format : formatOf(file);
  const lines = text.replace(/\r\n?/g, '\n').split('\n');

  const warnings: DataWarning[] = [];
  const warningCounts: Record<DataWarningKind, number> = { truncated: 0, split: 0, skipped: 0, boundary: 0 };
  const warn = (kind: DataWarningKind, line: number, message: string): void => {
    warningCounts[kind]++;
    if (warnings.length < MAX_LISTED_WARNINGS) warnings.push({ kind, line, message });
  };
  /** Bad lines, all of them: the file is refused at the end, with the list. */
  const problems: DataProblem[] = [];
  const encode = (s: string, line: number, o: { bos?: boolean; eos?: boolean }): number[] => {
    const ids = tokenizer.encode(s, o);
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= tokenizer.vocabSize) {
        throw new LineProblem({ line, message: `token id ${id} from the tokenizer is outside the vocabulary [0, ${tokenizer.vocabSize})` });
      }
    }
    return ids;
  };
  const window = T + 1;
  /**
   * The tokens of `s`, or of a prefix of it that gives at least `window` + CUT_MARGIN tokens: the
   * first CHARS_PER_TOKEN_GUESS characters per token, doubled until the prefix covers the window
   * (a cut changes only the tokens next to it, which the margin keeps out of the window). A prefix
   * has no EOS: that belongs after the whole text.
   */
  const encodePrefix = (s: string, line: number, o: { bos?: boolean; eos?: boolean }): { ids: number[]; chars: number } => {
    for (let chars = (window + CUT_MARGIN) * CHARS_PER_TOKEN_GUESS; ; chars *= 2) {
      if (chars >= s.length) return { ids: encode(s, line, o), chars: s.length };
      const cut = isHighSurrogate(s.charCodeAt(chars - 1)) ? chars - 1 : chars; // never half a character
      const ids = encode(s.slice(0, cut), line, { bos: o.bos });
      if (ids.length >= window + CUT_MARGIN) return { ids, chars: cut };
    }
  };
  const examples: Example[] = [];
  let hasCompletions = false;

  if (format === 'text') {
    for (const doc of splitDocuments(lines)) {
      let ids: number[];
      try {
        ids = encode(doc.text, doc.line, { bos: true, eos: true });
      } catch (e) {
        if (!(e instanceof LineProblem)) throw e;
        problems.push(e.problem);
        continue;
      }
      if (ids.length > window) {
        const parts = Math.ceil((ids.length - 1) / T);
        warn('split', doc.line, `document of ${ids.length} tokens is longer than a window (${window}); split across ${parts} windows`);
      }
      examples.push({ ids, mask: ids.map((_, i) => (i === 0 ? 0 : 1)), line: doc.line });
    }
    if (problems.length > 0) throw badLinesError(file, problems);
    return { format, examples, hasCompletions, warnings, warningCounts };
  }

  /** The example of JSONL record `src` at `line`, or null when it is skipped; throws LineProblem when the line is bad. */
  const record = (src: string, line: number): Example | null => {
    let rec: unknown;
    try {
      rec = JSON.parse(src);
    } catch (e) {
      const hint = line === 1 && src.trim().startsWith('[') ? ' (a JSON array? expected one JSON object per line)' : '';
      throw new LineProblem({ line, message: `invalid JSON: ${(e as Error).message}${hint}` });
    }
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
      const kind = rec === null ? 'null' : Array.isArray(rec) ? 'an array' : `a ${typeof rec}`;
      throw new LineProblem({ line, message: `expected a JSON object with "text" or "prompt" and "completion", got ${kind}` });
    }
    const r = rec as Record<string, unknown>;
    const field = (name: string): string => {
      const v = r[name];
      if (typeof v !== 'string') {
        const got = v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
        throw new LineProblem({ line, field: name, message: `field "${name}" must be a string, got ${got}` });
      }
      return v;
    };

    let ids: number[];
    let mask: number[];
    let cut: { chars: number; of: number } | undefined; // set when only a prefix of the record was tokenised
    if ('text' in r) {
      const t = field('text');
      if (t === '') {
        warn('skipped', line, 'empty "text"; record skipped');
        return null;
      }
      const enc = encodePrefix(t, line, { bos: true, eos: true });
      if (enc.chars < t.length) cut = { chars: enc.chars, of: t.length };
      ids = enc.ids;
      mask = ids.map((_, k) => (k === 0 ? 0 : 1));
    } else if ('prompt' in r || 'completion' in r) {
      if (!('prompt' in r)) throw new LineProblem({ line, field: 'prompt', message: 'missing field "prompt"' });
      if (!('completion' in r)) throw new LineProblem({ line, field: 'completion', message: 'missing field "completion"' });
      const p = field('prompt');
      const c = field('completion');
      hasCompletions = true;
      const promptIds = encodePrefix(p, line, { bos: true }).ids;
      const enc = encodePrefix(p + c, line, { bos: true, eos: true });
      if (enc.chars < p.length + c.length) cut = { chars: enc.chars, of: p.length + c.length };
      ids = enc.ids;
      let start = 0;
      while (start < promptIds.length && start < ids.length - 1 && promptIds[start] === ids[start]) start++;
      // A join past the window changes nothing the record trains on (it is skipped below).
      if (start < promptIds.length && start < window) {
        warn('boundary', line, `prompt and completion share a token at the join; loss starts at token ${start}`);
      }
      mask = ids.map((_, k) => (k >= start ? 1 : 0));
    } else {
      throw new LineProblem({ line, field: 'text', message: 'missing field "text" (or "prompt" and "completion")' });
    }

    if (cut) {
      warn(
        'truncated',
        line,
        `record of ${cut.of} characters truncated to one window (${window} tokens): only its first ${cut.chars} characters were tokenised, the other ${cut.of - cut.chars} dropped`,
      );
    } else if (ids.length > window) {
      warn('truncated', line, `record of ${ids.length} tokens truncated to one window (${window} tokens)`);
    }
    if (ids.length > window) {
      ids = ids.slice(0, window);
      mask = mask.slice(0, window);
    }
    if (!mask.some((m) => m === 1)) {
      warn('skipped', line, `the prompt fills the window (${window} tokens), no completion token left; record skipped`);
      return null;
    }
    return { ids, mask, line };
  };

  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    try {
      const ex = record(lines[i], i + 1);
      if (ex) examples.push(ex);
    } catch (e) {
      if (!(e instanceof LineProblem)) throw e;
      problems.push(e.problem);
    }
  }
  if (problems.length > 0) throw badLinesError(file, problems);
  return { format, examples, hasCompletions, warnings, warningCounts };
}

/** A bad line, thrown inside tokenizeData and collected there (never escapes it). */
class LineProblem extends Error {
  constructor(readonly problem: DataProblem) {
    super(problem.message);
  }
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/** Documents of a plain-text file with their first line (see the module comment). */
function splitDocuments(lines: readonly string[]): { text: string; line: number }[] {
  const byMarker = lines.some((l) => l.trim() === END_OF_TEXT);
  const isSeparator = byMarker ? (l: string) => l.trim() === END_OF_TEXT : (l: string) => l.trim() === '';
  const docs: { text: string; line: number }[] = [];
  let cur: string[] = [];
  let first = 0;
  const close = (): void => {
    // Drop blank lines at either end; keep the document's inner lines as they are.
    while (cur.length && cur[cur.length - 1].trim() === '') cur.pop();
    let lead = 0;
    while (lead < cur.length && cur[lead].trim() === '') lead++;
    if (lead < cur.length) docs.push({ text: cur.slice(lead).join('\n'), line: first + lead + 1 });
    cur = [];
  };
  lines.forEach((l, i) => {
    if (isSeparator(l)) return close();
    if (cur.length === 0) first = i;
    cur.push(l);
  });
  close();
  return docs;
}
