/**
 * How a tensor's elements are stored: 'f32' one per 4 bytes; 'bf16' and 'f16' packed two per u32
 * (element 2i in the low 16 bits, 2i + 1 in the high ones — the bytes of a little-endian 16-bit file).
 */
export type TensorDtype = 'f32' | 'bf16' | 'f16';

/** A tensor living in a GPU storage buffer. Row-major; the last dimension is contiguous. */
export interface Tensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly label: string;
  /** Element storage; absent means 'f32' (u32 and i32 data share that layout). */
  readonly dtype?: TensorDtype;
}

/** The tensor's element storage ('f32' when unset). */
export function dtypeOf(t: Tensor): TensorDtype {
  return t.dtype ?? 'f32';
}

/** Whether the tensor holds 16-bit elements packed two per u32. */
export function isPacked16(t: Tensor): boolean {
  return t.dtype === 'bf16' || t.dtype === 'f16';
}

/** Bytes `count` elements take in `dtype` (16-bit storage rounded up to whole u32s). */
export function storageBytes(count: number, dtype: TensorDtype): number {
  return dtype === 'f32' ? count * 4 : Math.ceil(count / 2) * 4;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function shapeString(shape: readonly number[]): string {
  return `(${shape.join(', ')})`;
}

/** Throw unless `t` has exactly `shape` (use -1 for "any"). `what` names the argument. */
export function expectShape(t: Tensor, shape: readonly number[], what: string): void {
  const ok = t.shape.length === shape.length && shape.every((d, i) => d === -1 || d === t.shape[i]);
  if (!ok) throw new Error(`${what} (${t.label}) has shape ${shapeString(t.shape)}, expected ${shapeString(shape)}`);
}
