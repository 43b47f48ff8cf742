/**
 * Training-data files as text: bytes → string with a fatal UTF-8 decoder, and when that fails, a
 * message with the offset (and line) of the first invalid byte. A UTF-8 byte-order mark is dropped;
 * a UTF-16 one is refused with the advice to save the file as UTF-8.
 */
import { DataError } from './data.ts';

/** Where and why `bytes` stops being well-formed UTF-8 (Unicode 15, table 3-7). */
export interface Utf8Fault {
  /** Byte offset of the first byte that cannot be part of well-formed UTF-8 (bytes.length: the file ends mid-character). */
  offset: number;
  /** Offset of the character the byte was meant to continue, when it is a continuation. */
  start: number;
  /** Bytes that character's lead byte announces (1 when the byte cannot start a character). */
  length: number;
}

/** The first fault in `bytes`, or null when they are well-formed UTF-8. */
export function findUtf8Fault(bytes: Uint8Array): Utf8Fault | null {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // Length and the allowed range of the second byte, by lead byte (overlongs, surrogates and > U+10FFFF excluded).
    let len: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return { offset: i, start: i, length: 1 };
    for (let k = 1; k < len; k++) {
      if (i + k >= n) return { offset: n, start: i, length: len };
      const c = bytes[i + k];
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return { offset: i + k, start: i, length: len };
    }
    i += len;
  }
  return null;
}

const hex = (b: number): string => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`;

/** 1-based line of byte `offset` (newlines before it + 1). */
function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/** Why `bytes` is not UTF-8 text, as the user reads it (the file named by `file`). */
export function utf8FaultMessage(file: string, bytes: Uint8Array, fault: Utf8Fault): string {
  const lead = `${file} is not UTF-8 text`;
  const where = `${hex(bytes[fault.start])} at offset ${fault.start} starts a ${fault.length}-byte character`;
  if (fault.offset >= bytes.length) return `${lead}: it ends inside a character (${where})`;
  const at = `invalid byte ${hex(bytes[fault.offset])} at offset ${fault.offset} (line ${lineAt(bytes, fault.offset)})`;
  return fault.offset === fault.start ? `${lead}: ${at}` : `${lead}: ${at}; ${where}`;
}

/** The text of a data file's bytes; DataError naming `file` when they are not UTF-8 (see the module comment). */
export function decodeDataText(file: string, bytes: Uint8Array): string {
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    const order = bytes[0] === 0xff ? 'little-endian, byte-order mark 0xFF 0xFE' : 'big-endian, byte-order mark 0xFE 0xFF';
    throw new DataError(file, `${file} looks like UTF-16 text (${order}), not UTF-8: save it as UTF-8 and load it again`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes); // drops a UTF-8 byte-order mark
  } catch {
    const fault = findUtf8Fault(bytes);
    const line = fault && fault.offset < bytes.length ? lineAt(bytes, fault.offset) : undefined;
    throw new DataError(file, fault ? utf8FaultMessage(file, bytes, fault) : `${file} is not UTF-8 text`, line);
  }
}
