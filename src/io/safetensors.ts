/**
 * safetensors reader and writer. Layout: u64 little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}, then the
 * data; offsets count from the end of the header. Tensors come back as float32 whatever their dtype.
 */
import type { HostTensor } from '../schema/tensors.ts';
import { bf16ToF32, f16ToF32, toHalfBits } from '../gpu/half.ts';
import type { ByteSource } from './byte-source.ts';
import { ModelFileError } from './errors.ts';

/** Bytes per element of every dtype the format defines; only FLOAT_DTYPES can be decoded. */
const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1,
};
const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16']);

/** One header entry, checked: offsets are absolute byte positions in the file. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** Absolute [begin, end) byte range of the tensor in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

export interface SafetensorsFile {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
}

/** The largest header the huggingface/safetensors library accepts (MAX_HEADER_SIZE). */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Read and check the header without decoding data, by the huggingface/safetensors rules: a JSON object
 * (starting with '{') of at most 100 MB naming each tensor once, known dtypes, byte counts that match
 * the shapes, and data offsets that tile the data exactly: contiguous from 0 to the end of the file,
 * no gaps, no overlaps, nothing after the last tensor.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, file = 'model.safetensors'): SafetensorsHeader {
  return parseHeaderJson(bytes.subarray(0, 8 + headerLength(bytes, bytes.length, file)), bytes.length, file);
}

/**
 * The header of a file of `fileSize` bytes read through `src` — its first 8 bytes, then the JSON —
 * checked as parseSafetensorsHeader does, without reading any tensor data.
 */
export async function readSafetensorsHeader(src: ByteSource): Promise<SafetensorsHeader> {
  const n = headerLength(await src.read(0, Math.min(8, src.size)), src.size, src.name);
  return parseHeaderJson(await src.read(0, 8 + n), src.size, src.name);
}

/** The JSON header's length from the first 8 bytes of a file of `fileSize` bytes, checked against it. */
function headerLength(first: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || first.length < 8) {
    throw new ModelFileError(file, `truncated: ${fileSize} bytes, a safetensors file needs at least 8`, 'truncated');
  }
  const n = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    throw new ModelFileError(
      file,
      `header length ${n} runs past the end of the file (${fileSize} bytes); not a safetensors file or truncated`,
      'header-out-of-range',
    );
  }
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new ModelFileError(file, `header length ${n} is more than the ${MAX_HEADER_BYTES} bytes safetensors allows; not a safetensors file?`, 'header-out-of-range');
  }
  return Number(n);
}

/** Parse and check the header in `bytes` (the u64 length and the JSON, nothing more needed) of a file of `fileSize` bytes. */
function parseHeaderJson(bytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const headerLen = bytes.length - 8;
  const dataStart = 8 + headerLen;
  const dataLen = fileSize - dataStart;

  let text: string;
  let json: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart));
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(file, `header is not valid JSON (${(e as Error).message})`, 'json');
  }
  if (!text.startsWith('{')) {
    throw new ModelFileError(file, `header does not start with '{' (it starts with ${JSON.stringify(text.slice(0, 16))}); not a safetensors file?`, 'json');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelFileError(file, 'header JSON is not an object', 'json');
  }
  const dup = firstDuplicateKey(text);
  if (dup !== undefined) {
    throw new ModelFileError(file, `header names ${dup === '__metadata__' ? '' : 'tensor '}"${dup}" twice; each tensor must appear once (JSON.parse would keep only the last)`, 'json');
  }

  const metadata: Record<string, string> = {};
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        throw new ModelFileError(file, '__metadata__ is not an object of strings', 'json');
      }
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
      continue;
    }
    entries.set(name, checkEntry(file, name, raw, dataStart, dataLen));
  }

  checkTiling(entries, dataStart, dataLen, file);
  return { entries, metadata };
}

/**
 * The entries, sorted by offset, must tile [0, dataLen) exactly (zero-length tensors may share a
 * position): an overlap or a gap is 'offsets', bytes after the last tensor are 'format'.
 */
function checkTiling(entries: Map<string, SafetensorsEntry>, dataStart: number, dataLen: number, file: string): void {
  const sorted = [...entries].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  const range = (e: SafetensorsEntry): string => `[${e.begin - dataStart}, ${e.end - dataStart})`;
  let end = 0;
  let last = '';
  for (const [name, cur] of sorted) {
    const begin = cur.begin - dataStart;
    if (begin < end) {
      throw new ModelFileError(file, `tensor "${name}" data ${range(cur)} overlaps "${last}" [${entries.get(last)!.begin - dataStart}, ${end})`, 'offsets');
    }
    if (begin > end) {
      const before = last ? `"${last}" ends at byte ${end}` : 'the data starts at byte 0';
      throw new ModelFileError(
        file,
        `tensor "${name}" data ${range(cur)} starts at byte ${begin} but ${before}: ${begin - end} bytes belong to no tensor (safetensors data must be contiguous)`,
        'offsets',
      );
    }
    end = cur.end - dataStart;
    last = name;
  }
  if (end < dataLen) {
    const after = last ? `after the last tensor "${last}" (its data ends at byte ${end} of ${dataLen})` : 'of data, but the header lists no tensors';
    throw new ModelFileError(file, `${dataLen - end} bytes ${after}: the file is longer than its header describes`, 'format');
  }
}

/**
 * The first key that appears twice at the top level of `text`, a valid JSON object (JSON.parse keeps the
 * last silently). A single pass: strings are skipped by their escapes, nesting by bracket depth.
 */
function firstDuplicateKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
    } else if (ch === '{' || ch === '[') {
      depth++;
      expectKey = depth === 1;
    } else if (ch === '}' || ch === ']') {
      depth--;
    } else if (ch === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return undefined;
}

function checkEntry(file: string, name: string, raw: unknown, dataStart: number, dataLen: number): SafetensorsEntry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ModelFileError(file, `header entry "${name}" is not an object`, 'json');
  }
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    throw new ModelFileError(file, `tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}`, 'dtype');
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ModelFileError(file, `tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`, 'json');
  }
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
  ) {
    throw new ModelFileError(file, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`, 'offsets');
  }
  const [b, e] = offsets as [number, number];
  if (e > dataLen) {
    throw new ModelFileError(
      file,
      `tensor "${name}" data_offsets [${b}, ${e}] run past the end of the data (${dataLen} bytes); file truncated?`,
      'offsets',
    );
  }
  const count = (shape as number[]).reduce((a, d) => a * d, 1);
  const want = count * DTYPE_BYTES[dtype]!;
  if (e - b !== want) {
    throw new ModelFileError(
      file,
      `tensor "${name}" ${dtype}[${(shape as number[]).join(', ')}] needs ${want} bytes but data_offsets give ${e - b}`,
      'byte-count',
    );
  }
  return { dtype, shape: [...(shape as number[])], begin: dataStart + b, end: dataStart + e };
}

/**
 * Parse a whole safetensors file into float32 tensors. `only` limits decoding to some names
 * (the others are still checked). Throws ModelFileError naming `file`.
 */
export function parseSafetensors(
  bytes: Uint8Array,
  file = 'model.safetensors',
  only?: (name: string) => boolean,
): SafetensorsFile {
  const { entries, metadata } = parseSafetensorsHeader(bytes, file);
  const tensors = new Map<string, HostTensor>();
  for (const [name, entry] of entries) {
    if (only && !only(name)) continue;
    tensors.set(name, decodeEntry(bytes, entry, file, name));
  }
  return { tensors, metadata };
}

/** Decode one checked entry to float32. */
export function decodeEntry(bytes: Uint8Array, entry: SafetensorsEntry, file: string, name: string): HostTensor {
  if (!FLOAT_DTYPES.has(entry.dtype)) {
    throw new ModelFileError(file, `tensor "${name}" has dtype ${entry.dtype}; only F32, F16, BF16 and F64 can be loaded`, 'dtype');
  }
  // slice() copies into a fresh, aligned buffer whatever the file's alignment.
  const raw = bytes.slice(entry.begin, entry.end).buffer;
  let data: Float32Array;
  switch (entry.dtype) {
    case 'F32': data = LITTLE_ENDIAN ? new Float32Array(raw) : readLE(raw, 4, (dv, o) => dv.getFloat32(o, true)); break;
    case 'F64': data = Float32Array.from(LITTLE_ENDIAN ? new Float64Array(raw) : readLE(raw, 8, (dv, o) => dv.getFloat64(o, true))); break;
    case 'F16': data = f16ToF32(LITTLE_ENDIAN ? new Uint16Array(raw) : u16LE(raw)); break;
    default: data = bf16ToF32(LITTLE_ENDIAN ? new Uint16Array(raw) : u16LE(raw)); break;
  }
  return { shape: entry.shape, data };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function readLE(raw: ArrayBuffer, size: number, get: (dv: DataView, o: number) => number): Float32Array {
  const dv = new DataView(raw);
  const out = new Float32Array(raw.byteLength / size);
  for (let i = 0; i < out.length; i++) out[i] = get(dv, i * size);
  return out;
}

function u16LE(raw: ArrayBuffer): Uint16Array {
  const dv = new DataView(raw);
  const out = new Uint16Array(raw.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = dv.getUint16(i * 2, true);
  return out;
}

/** The element types a file can be written in; 16-bit ones are rounded to nearest even. */
export type WritableDtype = 'F32' | 'BF16' | 'F16';

/** One tensor of a file to write: its data follow the previous tensor's. */
export interface TensorSpec {
  name: string;
  dtype: WritableDtype;
  shape: readonly number[];
}

/**
 * The first bytes of a safetensors file holding `specs` back to back in their order: the u64 length and
 * the JSON header, padded with spaces to a multiple of 8 bytes so the data is aligned. The JSON is
 * assembled by hand: a JS object would reorder integer-like keys.
 */
export function safetensorsHeaderBytes(specs: readonly TensorSpec[], metadata?: Record<string, string>): Uint8Array {
  const parts: string[] = [];
  if (metadata) {
    const meta = Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(String(v))}`);
    parts.push(`"__metadata__":{${meta.join(',')}}`);
  }
  let offset = 0;
  for (const { name, dtype, shape } of specs) {
    const bytes = shape.reduce((a, d) => a * d, 1) * (dtype === 'F32' ? 4 : 2);
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[${offset},${offset + bytes}]}`);
    offset += bytes;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** A tensor's values as little-endian bytes of `dtype`. */
export function encodeTensor(data: Float32Array, dtype: WritableDtype): Uint8Array {
  if (dtype === 'F32') {
    if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const out = new Uint8Array(data.length * 4);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < data.length; i++) dv.setFloat32(i * 4, data[i]!, true);
    return out;
  }
  const bits = toHalfBits(data, dtype === 'BF16' ? 'bf16' : 'f16');
  if (LITTLE_ENDIAN) return new Uint8Array(bits.buffer);
  const out = new Uint8Array(bits.length * 2);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < bits.length; i++) dv.setUint16(i * 2, bits[i]!, true);
  return out;
}

/**
 * Serialise tensors as a safetensors file, keys in the map's order; each in `dtype(name)` (F32 by
 * default; BF16 and F16 round to nearest even).
 */
export function writeSafetensors(
  tensors: Map<string, HostTensor>, metadata?: Record<string, string>, dtype: (name: string) => WritableDtype = () => 'F32',
): Uint8Array {
  const specs: TensorSpec[] = [];
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((a, d) => a * d, 1);
    if (count !== t.data.length) {
      throw new ModelFileError('model.safetensors', `tensor "${name}" shape [${t.shape.join(', ')}] does not match its ${t.data.length} values`, 'byte-count');
    }
    specs.push({ name, dtype: dtype(name), shape: t.shape });
  }
  const header = safetensorsHeaderBytes(specs, metadata);
  const dataBytes = specs.reduce((a, s) => a + s.shape.reduce((x, d) => x * d, 1) * (s.dtype === 'F32' ? 4 : 2), 0);
  const out = new Uint8Array(header.length + dataBytes);
  out.set(header);
  let pos = header.length;
  let i = 0;
  for (const t of tensors.values()) {
    const bytes = encodeTensor(t.data, specs[i++]!.dtype);
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}
