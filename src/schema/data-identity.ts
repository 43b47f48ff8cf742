/**
 * What a run trained on, in a form runs can be compared by: the data's source and file name, its
 * token count and a hash of its text. Two runs trained on the same data have equal `key`s; their
 * learning and forgetting numbers are comparable only then (and, for forgetting, with the same probe).
 */

export interface DataIdentity {
  /** A built-in demo, or text the user gave (pasted or a file). */
  source: 'demo' | 'text';
  /** The demo's file name, "pasted.txt" / "pasted.jsonl" for pasted text, or the uploaded file's name. */
  fileName: string;
  /** Tokens over all examples, BOS and EOS included (null: unknown, for runs saved before it was kept). */
  tokens: number | null;
  /** textHash of the text. */
  hash: string;
}

/** 64-bit hash of `text` (two FNV-1a lanes over its UTF-16 code units) as 16 hex digits: an identity, not a secret. */
export function textHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** The identity of `text` read from `fileName`. */
export function dataIdentity(d: { fileName: string; text: string; source: 'demo' | 'text' }, tokens: number | null): DataIdentity {
  return { source: d.source, fileName: d.fileName, tokens, hash: textHash(d.text) };
}

/** Equal for the same text, whatever it was called (the token count follows from the text). */
export const identityKey = (d: DataIdentity): string => d.hash;

/** Whether `fileName` is what the data panel names pasted text. */
export const isPasted = (d: Pick<DataIdentity, 'source' | 'fileName'>): boolean => d.source === 'text' && /^pasted\.(txt|jsonl)$/.test(d.fileName);
