/**
 * 16-bit tensors to float32 on the GPU: for the ops that read a frozen BF16/F16 weight as f32 (SVDs,
 * DoRA's row norm, ΔW spectra) and for a weight that becomes trainable or is rewritten (full
 * fine-tuning, merging, PiSSA's residual), which keeps an f32 master.
 */
import code from '../../shaders/cast.f32.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation } from '../gpu/kernel.ts';
import { isPacked16, numel, type Tensor } from '../gpu/tensor.ts';

export const castF32Kernel = defineKernel({
  name: 'cast.f32',
  code,
  uniforms: { n: 'u32' },
  inputs: ['x'],
  outputs: ['out'],
  packed16: ['x'],
  workgroupSize: 256,
  dispatch: perInvocation((u) => Math.ceil(u.n / 2)),
});

/** Record out (f32, same shape) = x decoded, exactly. x must be a 16-bit tensor. */
export function castToF32(gpu: Gpu, x: Tensor, out: Tensor): void {
  if (!isPacked16(x)) throw new Error(`castToF32: ${x.label} is already f32`);
  if (numel(out.shape) !== numel(x.shape) || (out.dtype ?? 'f32') !== 'f32') {
    throw new Error(`castToF32: out ${out.label} must be f32 with ${numel(x.shape)} elements like ${x.label}`);
  }
  gpu.dispatch(castF32Kernel, { uniforms: { n: numel(x.shape) }, bindings: { x, out }, constants: { X_F16: x.dtype === 'f16' ? 1 : 0 } });
}

/** `t` itself when f32, else a new f32 copy (the caller releases it when it is not `t`). */
export function toF32(gpu: Gpu, t: Tensor, label = `${t.label}.f32`): Tensor {
  if (!isPacked16(t)) return t;
  const out = gpu.tensor(label, t.shape);
  castToF32(gpu, t, out);
  return out;
}

/** Run `f` on an f32 view of `t` (a temporary copy when `t` is 16-bit, released once `f` has settled). */
export async function withF32<R>(gpu: Gpu, t: Tensor, f: (t32: Tensor) => Promise<R>): Promise<R> {
  const t32 = toF32(gpu, t);
  try {
    return await f(t32);
  } finally {
    if (t32 !== t) gpu.release(t32);
  }
}
