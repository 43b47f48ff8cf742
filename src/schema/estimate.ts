/**
 * Memory layout numbers the engine and its estimates share (pure arithmetic): the LM-head loss's
 * row chunk, whose logits are bounded whatever B·T·V is.
 */

/** Bytes the logits of one row chunk of the LM-head loss may take (src/model/lm-head-loss.ts). */
export const LOGITS_CHUNK_BYTES = 64 * 1024 * 1024;

/** Rows per chunk of the LM-head loss: as many (V floats each) as fit `chunkBytes`, at least 1, at most `rows`. */
export function logitsChunkRows(rows: number, vocab: number, chunkBytes = LOGITS_CHUNK_BYTES): number {
  if (!(chunkBytes >= 4)) throw new Error(`logits chunk of ${chunkBytes} bytes cannot hold one logit`);
  return Math.max(1, Math.min(rows, Math.floor(chunkBytes / (4 * vocab))));
}
