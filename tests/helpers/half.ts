/** 16-bit test tensors: values rounded to BF16/F16 on the host, uploaded packed two per u32. */
import type { Gpu } from '../../src/gpu/gpu.ts';
import { fromHalfBits, toHalfBits } from '../../src/gpu/half.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';

export type Half = 'bf16' | 'f16';

/** `data` rounded to `dtype`: the 16-bit tensor on the GPU and its exact float32 values on the host. */
export function upload16(gpu: Gpu, label: string, shape: readonly number[], data: Float32Array, dtype: Half): { t: Tensor; values: Float32Array } {
  const bits = toHalfBits(data, dtype);
  return { t: gpu.uploadBytes(label, shape, dtype, new Uint8Array(bits.buffer)), values: fromHalfBits(bits, dtype) };
}
