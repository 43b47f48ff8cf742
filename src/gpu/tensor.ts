/** A float32 tensor living in a GPU storage buffer. Row-major; the last dimension is contiguous. */
export interface Tensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly label: string;
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
