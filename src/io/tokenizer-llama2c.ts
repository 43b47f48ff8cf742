/**
 * llama2.c tokenizer.bin: uint32 max_token_length, then per token float32 score, uint32 byte
 * length, bytes. Encoding and decoding follow run.c exactly (see the stories260K fixture README).
 */
import { ModelFileError } from './errors.ts';
import type { Tokenizer } from './tokenizer.ts';

/** Longest piece we accept: run.c allocates buffers from max_token_length, real files use < 100. */
const MAX_PIECE_BYTES = 4096;
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** A binary string (one char per byte) keys byte sequences exactly, whatever their UTF-8 validity. */
const bin = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
};

export class Llama2cTokenizer implements Tokenizer {
  readonly bosId = 1;
  readonly eosId = 2;
  readonly unkId = 0;
  /** Pieces as text (UTF-8 decoded); ids 1 and 2 are stored as "\n<s>\n" and "\n</s>\n" in llama2.c files. */
  readonly pieces: readonly string[];
  /** Pieces as raw bytes, exactly as stored. */
  readonly pieceBytes: readonly Uint8Array[];
  readonly scores: Float32Array;
  readonly maxTokenLength: number;
  /** Piece bytes (binary string) → id; the first id wins for duplicates. */
  private readonly lookup = new Map<string, number>();
  /** Piece bytes as binary strings, for merging. */
  private readonly binPieces: string[];

  private constructor(pieceBytes: Uint8Array[], scores: Float32Array, maxTokenLength: number) {
    this.pieceBytes = pieceBytes;
    this.scores = scores;
    this.maxTokenLength = maxTokenLength;
    const dec = new TextDecoder();
    this.pieces = pieceBytes.map((b) => dec.decode(b));
    this.binPieces = pieceBytes.map(bin);
    this.binPieces.forEach((p, i) => { if (!this.lookup.has(p)) this.lookup.set(p, i); });
  }

  get vocabSize(): number {
    return this.pieceBytes.length;
  }

  /**
   * Parse tokenizer.bin. The file does not store the vocabulary size (run.c takes it from the
   * model): with `vocabSize` exactly that many tokens are read, otherwise tokens up to the end.
   */
  static fromBytes(bytes: Uint8Array, file = 'tokenizer.bin', vocabSize?: number): Llama2cTokenizer {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 4) throw new ModelFileError(file, `truncated: ${bytes.length} bytes, no max_token_length`, 'truncated');
    const maxLen = dv.getUint32(0, true);
    if (maxLen === 0 || maxLen > MAX_PIECE_BYTES) {
      throw new ModelFileError(file, `max_token_length ${maxLen} is implausible; not a llama2.c tokenizer.bin?`, 'format');
    }
    const pieces: Uint8Array[] = [];
    const scores: number[] = [];
    let pos = 4;
    while (vocabSize === undefined ? pos < bytes.length : pieces.length < vocabSize) {
      const id = pieces.length;
      if (pos + 8 > bytes.length) {
        throw new ModelFileError(file, `truncated: token ${id} header needs bytes ${pos}..${pos + 8}, file has ${bytes.length}${vocabSize ? ` (expected ${vocabSize} tokens)` : ''}`, 'truncated');
      }
      const score = dv.getFloat32(pos, true);
      const len = dv.getUint32(pos + 4, true);
      pos += 8;
      if (!Number.isFinite(score)) throw new ModelFileError(file, `token ${id} has score ${score}; not a llama2.c tokenizer.bin?`, 'format');
      if (len > maxLen) {
        throw new ModelFileError(file, `token ${id} is ${len} bytes long, more than max_token_length ${maxLen}; not a llama2.c tokenizer.bin?`, 'format');
      }
      if (pos + len > bytes.length) {
        throw new ModelFileError(file, `truncated: token ${id} needs bytes ${pos}..${pos + len}, file has ${bytes.length}`, 'truncated');
      }
      pieces.push(bytes.slice(pos, pos + len));
      scores.push(score);
      pos += len;
    }
    if (pieces.length < 3) throw new ModelFileError(file, `only ${pieces.length} tokens; expected <unk>, <s>, </s> and more`, 'format');
    if (pos !== bytes.length) {
      throw new ModelFileError(file, `${bytes.length - pos} bytes left after ${pieces.length} tokens; vocabulary size mismatch?`, 'byte-count');
    }
    return new Llama2cTokenizer(pieces, Float32Array.from(scores), maxLen);
  }

  /** Id of a piece given as text, or -1 (run.c's str_lookup). */
  pieceId(piece: string): number {
    return this.lookup.get(bin(new TextEncoder().encode(piece))) ?? -1;
  }

  /** run.c encode(): BOS, dummy " " prefix, code points or byte fallback, highest-score merges. */
  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const bytes = new TextEncoder().encode(text);
    const toks: number[] = [];
    if (bytes.length > 0) {
      const space = this.lookup.get(' ');
      if (space !== undefined) toks.push(space);
    }
    // UTF-8 code points (a lead byte and up to 3 continuation bytes) looked up as pieces.
    for (let i = 0; i < bytes.length;) {
      let j = i + 1;
      while (j < bytes.length && (bytes[j]! & 0xc0) === 0x80 && j - i < 4) j++;
      const id = this.lookup.get(bin(bytes.subarray(i, j)));
      if (id !== undefined) toks.push(id);
      else for (let k = i; k < j; k++) toks.push(bytes[k]! + 3);
      i = j;
    }
    const merged = this.merge(toks);
    if (opts.bos) merged.unshift(this.bosId);
    if (opts.eos) merged.push(this.eosId);
    return merged;
  }

  /**
   * Repeatedly merge the adjacent pair whose concatenation is a piece of highest score (ties: the
   * leftmost pair), as run.c's scan does, but with a heap so long texts stay O(n log n).
   */
  private merge(toks: number[]): number[] {
    const n = toks.length;
    if (n < 2) return toks;
    const id = Int32Array.from(toks);
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const alive = new Uint8Array(n).fill(1);
    // heap entries: [score, left index, left id, right id]; stale entries are skipped on pop
    const heap: [number, number, number, number][] = [];
    const better = (a: [number, number, number, number], b: [number, number, number, number]): boolean =>
      a[0] > b[0] || (a[0] === b[0] && a[1] < b[1]);
    const push = (e: [number, number, number, number]): void => {
      heap.push(e);
      for (let i = heap.length - 1; i > 0;) {
        const p = (i - 1) >> 1;
        if (!better(heap[i]!, heap[p]!)) break;
        [heap[i], heap[p]] = [heap[p]!, heap[i]!];
        i = p;
      }
    };
    const pop = (): [number, number, number, number] => {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        for (let i = 0; ;) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < heap.length && better(heap[l]!, heap[m]!)) m = l;
          if (r < heap.length && better(heap[r]!, heap[m]!)) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m]!, heap[i]!];
          i = m;
        }
      }
      return top;
    };
    const consider = (i: number): void => {
      const j = next[i]!;
      if (j < 0) return;
      const m = this.lookup.get(this.binPieces[id[i]!]! + this.binPieces[id[j]!]!);
      // run.c starts from best_score = -1e10 and only takes strictly greater scores
      if (m !== undefined && this.scores[m]! > -1e10) push([this.scores[m]!, i, id[i]!, id[j]!]);
    };
    for (let i = 0; i < n - 1; i++) consider(i);
    while (heap.length > 0) {
      const [, i, a, b] = pop();
      const j = next[i]!;
      if (!alive[i] || j < 0 || id[i] !== a || id[j] !== b) continue; // stale
      id[i] = this.lookup.get(this.binPieces[a]! + this.binPieces[b]!)!;
      alive[j] = 0;
      next[i] = next[j]!;
      if (next[j]! >= 0) prev[next[j]!] = i;
      if (prev[i]! >= 0) consider(prev[i]!);
      consider(i);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(id[i]!);
    return out;
  }

  /** Bytes run.c's decode(prev, id) prints: byte pieces as raw bytes, leading space dropped after BOS. */
  stepBytes(prevId: number, id: number): Uint8Array {
    const piece = this.pieceBytes[id];
    if (!piece) return new Uint8Array(0);
    const text = this.binPieces[id]!;
    const m = BYTE_PIECE.exec(text);
    if (m) return Uint8Array.of(parseInt(m[1]!, 16));
    return prevId === this.bosId && piece[0] === 0x20 ? piece.subarray(1) : piece;
  }

  /**
   * Text run.c's decode(prev, id) prints for one generated token. A byte piece that is part of a
   * multi-byte character comes out as U+FFFD here: stream stepBytes through a TextDecoder instead.
   */
  decodeStep(prevId: number, id: number): string {
    if (id === this.bosId || id === this.eosId) return '';
    return new TextDecoder().decode(this.stepBytes(prevId, id));
  }

  /** Text of `ids` as run.c prints them one by one (BOS/EOS dropped, space after BOS dropped), assembled as UTF-8. */
  decode(ids: readonly number[]): string {
    const chunks: Uint8Array[] = [];
    let prev = -1;
    for (const id of ids) {
      if (id !== this.bosId && id !== this.eosId) chunks.push(this.stepBytes(prev, id));
      prev = id;
    }
    const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of chunks) { all.set(c, o); o += c.length; }
    return new TextDecoder().decode(all);
  }
}
