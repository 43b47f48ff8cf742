/**
 * A BPE tokenizer builder in the llama2.c / SentencePiece layout that Llama2cTokenizer reads:
 *   ids 0, 1, 2      <unk>, <s>, </s> (stored as "<unk>", "\n<s>\n", "\n</s>\n")
 *   ids 3..258       byte pieces <0x00>..<0xFF> (the fallback for characters not in the vocabulary)
 *   ids 259..        single characters of the corpus, most frequent first
 *   then             merged pieces, score = −(merge index), so higher score = learned earlier.
 * Llama2cTokenizer encodes " " + text as code points, then repeatedly merges the adjacent pair whose
 * concatenation is the highest-scoring piece. Training counts pairs over distinct words (" word",
 * "\n", " ") with their frequencies and after each merge re-segments, with that same greedy rule,
 * only the words that contained the merged string; so the segmentation tracked during training is
 * exactly what Llama2cTokenizer produces. No piece spans a word boundary: a space only ever leads
 * a piece, and "\n" is a piece of its own.
 */
import type { Rng } from './rng.ts';

export const SPECIAL_PIECES: readonly string[] = ['<unk>', '\n<s>\n', '\n</s>\n'];
export const BYTE_PIECE_OFFSET = 3;
/** First id after the specials and the 256 byte pieces. */
export const FIRST_LEARNED_ID = BYTE_PIECE_OFFSET + 256;
/** run.c merges only pieces scoring above this. */
const NO_MERGE = -1e10;

/** Word pieces as the trainer and the encoder see them: " word", "\n", or a lone " ". */
const WORD = / ?[^ \n]+|\n| /g;

/** Splits text (already carrying its leading " ") into words; joined, they are the text. */
export function splitWords(text: string): string[] {
  return text.match(WORD) ?? [];
}

export interface BpeOptions {
  /** Total vocabulary size V, specials and byte pieces included; default 512. */
  vocabSize?: number;
  /** Characters to give a piece even if the corpus lacks them (e.g. a demo's alphabet). */
  extraChars?: string;
}

/** A trained vocabulary; encode() gives exactly the ids Llama2cTokenizer gives for the same pieces. */
export class BpeModel {
  /** id → piece text. */
  readonly pieces: readonly string[];
  readonly scores: Float32Array;
  readonly charCount: number;
  readonly mergeCount: number;
  private readonly lookup: Map<string, number>;
  /** Segmentation of every training word, as tracked by the trainer. */
  private readonly wordIds: Map<string, number[]>;

  constructor(pieces: string[], scores: Float32Array, charCount: number, wordIds: Map<string, number[]>) {
    this.pieces = pieces;
    this.scores = scores;
    this.charCount = charCount;
    this.mergeCount = pieces.length - FIRST_LEARNED_ID - charCount;
    this.lookup = pieceLookup(pieces);
    this.wordIds = wordIds;
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  /** The segmentation the trainer ended with for a training word (undefined for unseen words). */
  trainedSegmentation(word: string): readonly number[] | undefined {
    return this.wordIds.get(word);
  }

  /** Token ids of `text` (dummy " " prefix, like Llama2cTokenizer), BOS/EOS when asked. */
  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const ids: number[] = opts.bos ? [1] : [];
    if (text.length > 0) {
      for (const w of splitWords(' ' + text)) {
        const known = this.wordIds.get(w);
        ids.push(...(known ?? greedySegment(charIds(w, this.lookup), this.pieces, this.scores, this.lookup)));
      }
    }
    if (opts.eos) ids.push(2);
    return ids;
  }
}

/**
 * BPE-dropout (Provilkov et al., 2020) in run.c's greedy form: at every merge step each candidate
 * merge is skipped with probability p, and the word stops merging when all are skipped. The text
 * decodes the same; the segmentations vary, so pretraining on them trains every piece's embedding
 * (plain encoding never produces intermediate pieces such as " mounta", nor "3" after a space).
 */
export function encodeWithDropout(model: BpeModel, text: string, p: number, rng: Rng, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
  const ids: number[] = opts.bos ? [1] : [];
  if (text.length > 0) {
    const lookup = pieceLookup(model.pieces);
    for (const w of splitWords(' ' + text)) {
      const seg = charIds(w, lookup);
      for (;;) {
        let best = NO_MERGE, at = -1, into = -1, candidates = 0;
        for (let i = 0; i + 1 < seg.length; i++) {
          const id = lookup.get(model.pieces[seg[i]!]! + model.pieces[seg[i + 1]!]!);
          if (id === undefined || !(model.scores[id]! > NO_MERGE)) continue;
          candidates++;
          if (rng.chance(p)) continue;
          if (model.scores[id]! > best) { best = model.scores[id]!; at = i; into = id; }
        }
        if (candidates === 0 || at < 0) break;
        seg.splice(at, 2, into);
      }
      ids.push(...seg);
    }
  }
  if (opts.eos) ids.push(2);
  return ids;
}

/** Piece text → id, the first id winning for duplicates (as in Llama2cTokenizer). */
function pieceLookup(pieces: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  pieces.forEach((p, i) => { if (!m.has(p)) m.set(p, i); });
  return m;
}

/** Code points of a word as piece ids, unknown characters as their UTF-8 byte pieces. */
function charIds(word: string, lookup: Map<string, number>): number[] {
  const ids: number[] = [];
  for (const ch of word) {
    const id = lookup.get(ch);
    if (id !== undefined) ids.push(id);
    else for (const b of new TextEncoder().encode(ch)) ids.push(BYTE_PIECE_OFFSET + b);
  }
  return ids;
}

/** run.c's merge loop: merge the leftmost adjacent pair whose concatenation scores highest, until none. */
function greedySegment(ids: number[], pieces: readonly string[], scores: Float32Array | number[], lookup: Map<string, number>): number[] {
  for (;;) {
    let best = NO_MERGE, at = -1, into = -1;
    for (let i = 0; i + 1 < ids.length; i++) {
      const id = lookup.get(pieces[ids[i]!]! + pieces[ids[i + 1]!]!);
      if (id !== undefined && scores[id]! > best) { best = scores[id]!; at = i; into = id; }
    }
    if (at < 0) return ids;
    ids.splice(at, 2, into);
  }
}

/** Trains a vocabulary of `vocabSize` pieces on `texts` (each encoded as " " + text). */
export function trainBpe(texts: Iterable<string>, opts: BpeOptions = {}): BpeModel {
  const V = opts.vocabSize ?? 512;
  // 1. distinct words with counts, and character frequencies
  const wordCount = new Map<string, number>();
  for (const t of texts) {
    if (t.length === 0) continue;
    for (const w of splitWords(' ' + t)) wordCount.set(w, (wordCount.get(w) ?? 0) + 1);
  }
  const charFreq = new Map<string, number>([[' ', 0]]);
  for (const ch of opts.extraChars ?? '') if (!charFreq.has(ch)) charFreq.set(ch, 0);
  for (const [w, n] of wordCount) for (const ch of w) charFreq.set(ch, (charFreq.get(ch) ?? 0) + n);
  const chars = [...charFreq.keys()].sort((a, b) => charFreq.get(b)! - charFreq.get(a)! || (a < b ? -1 : a > b ? 1 : 0));
  if (FIRST_LEARNED_ID + chars.length > V) {
    throw new Error(`trainBpe: vocabSize ${V} is too small for ${chars.length} distinct characters (need > ${FIRST_LEARNED_ID + chars.length})`);
  }

  // 2. initial vocabulary: specials, bytes, characters
  const pieces: string[] = [...SPECIAL_PIECES];
  for (let b = 0; b < 256; b++) pieces.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  pieces.push(...chars);
  const scores: number[] = pieces.map((_, i) => (i < FIRST_LEARNED_ID ? 0 : -(V + i))); // chars below every merge
  const lookup = pieceLookup(pieces);

  // 3. words, their segmentations, and pair statistics keyed by the concatenated string
  const words = [...wordCount.keys()];
  const freq = words.map((w) => wordCount.get(w)!);
  const seg = words.map((w) => greedySegment(charIds(w, lookup), pieces, scores, lookup));
  const pairCount = new Map<string, number>();
  const pairWords = new Map<string, Set<number>>();
  const addPairs = (w: number, sign: 1 | -1): void => {
    const s = seg[w]!;
    for (let i = 0; i + 1 < s.length; i++) {
      const key = pieces[s[i]!]! + pieces[s[i + 1]!]!;
      const n = (pairCount.get(key) ?? 0) + sign * freq[w]!;
      if (sign > 0) {
        pairCount.set(key, n);
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(w);
      } else if (n <= 0) {
        pairCount.delete(key);
        pairWords.delete(key);
      } else {
        pairCount.set(key, n);
        pairWords.get(key)!.delete(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1);

  // 4. merges: the most frequent concatenation (ties: smallest string) becomes the next piece
  while (pieces.length < V) {
    let best: string | undefined, bestN = 0;
    for (const [key, n] of pairCount) {
      if (lookup.has(key)) continue; // a reserved piece's text (e.g. "<unk>"): never duplicate it
      if (n > bestN || (n === bestN && best !== undefined && key < best)) { best = key; bestN = n; }
    }
    if (best === undefined) {
      throw new Error(`trainBpe: the corpus supports only ${pieces.length} pieces, fewer than vocabSize ${V}`);
    }
    const id = pieces.length;
    pieces.push(best);
    scores.push(-(id - FIRST_LEARNED_ID - chars.length));
    lookup.set(best, id);
    for (const w of [...pairWords.get(best)!]) {
      addPairs(w, -1);
      seg[w] = greedySegment(charIds(words[w]!, lookup), pieces, scores, lookup);
      addPairs(w, 1);
    }
  }
  const wordIds = new Map(words.map((w, i) => [w, seg[i]!]));
  return new BpeModel(pieces, Float32Array.from(scores), chars.length, wordIds);
}

/** The llama2.c tokenizer.bin of a model: uint32 max_token_length, then per piece f32 score, u32 length, bytes. */
export function tokenizerBin(model: BpeModel): Uint8Array {
  const enc = new TextEncoder();
  const bytes = model.pieces.map((p) => enc.encode(p));
  const maxLen = bytes.reduce((m, b) => Math.max(m, b.length), 0);
  const out = new Uint8Array(4 + bytes.reduce((s, b) => s + 8 + b.length, 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, maxLen, true);
  let pos = 4;
  bytes.forEach((b, i) => {
    dv.setFloat32(pos, model.scores[i]!, true);
    dv.setUint32(pos + 4, b.length, true);
    out.set(b, pos + 8);
    pos += 8 + b.length;
  });
  return out;
}

/** Characters per token of `texts` under `model` (no BOS/EOS; the dummy space counts as a character). */
export function charsPerToken(model: BpeModel, texts: Iterable<string>): number {
  let chars = 0, tokens = 0;
  for (const t of texts) {
    chars += t.length + 1;
    tokens += model.encode(t).length;
  }
  return tokens ? chars / tokens : 0;
}
