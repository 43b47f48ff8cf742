/** Rotary position embedding (Hugging Face rotate-half layout), in place. */
import code from '../../shaders/rope.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation } from '../gpu/kernel.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';

export const ropeKernel = defineKernel({
  name: 'rope',
  code,
  uniforms: { rows: 'u32', T: 'u32', nHeads: 'u32', half: 'u32', pos0: 'u32', sgn: 'f32' },
  inputs: ['cs'],
  outputs: ['x'],
  workgroupSize: 256,
  dispatch: perInvocation((u) => u.rows * u.nHeads * u.half),
});

export interface RopeOptions {
  B: number;
  T: number;
  nHeads: number;
  headDim: number;
  /** Position of token t = 0, the same for every batch row. */
  pos0: number;
  theta: number;
  /** Rotate by −angle (backward). */
  inverse?: boolean;
}

/**
 * (cos a, sin a) for positions 0..P−1 and pairs i < hd/2, (P, hd/2, 2), in llama2.c's float32
 * arithmetic: θ_i = 1.0f / powf(theta, (float)(2i) / (float)hd), a = (float)pos · θ_i, cosf/sinf.
 * (float64 Math.pow/cos/sin rounded to float32 give the correctly rounded float32 results.)
 */
export function ropeTable(P: number, headDim: number, theta: number): Float32Array {
  const f32 = Math.fround;
  const half = headDim / 2;
  const freq = Array.from({ length: half }, (_, i) => f32(1 / f32(Math.pow(f32(theta), f32((2 * i) / headDim)))));
  const out = new Float32Array(P * half * 2);
  for (let pos = 0; pos < P; pos++) {
    for (let i = 0; i < half; i++) {
      const a = f32(pos * freq[i]!);
      out[(pos * half + i) * 2] = Math.cos(a);
      out[(pos * half + i) * 2 + 1] = Math.sin(a);
    }
  }
  return out;
}

/** Per device: one table per (hd, theta), grown by doubling when a later position needs it. */
const tables = new WeakMap<Gpu, Map<string, { tensor: Tensor; positions: number }>>();

function tableFor(gpu: Gpu, positions: number, headDim: number, theta: number): Tensor {
  let byKey = tables.get(gpu);
  if (!byKey) tables.set(gpu, (byKey = new Map()));
  const key = `${headDim}:${theta}`;
  const have = byKey.get(key);
  if (have && have.positions >= positions) return have.tensor;
  let P = 256;
  while (P < positions) P *= 2;
  // gpu.upload submits the work recorded so far first, so earlier dispatches still see the old table.
  const tensor = gpu.upload(`rope.cos-sin hd=${headDim} theta=${theta}`, [P, headDim / 2, 2], ropeTable(P, headDim, theta));
  if (have) gpu.release(have.tensor);
  byKey.set(key, { tensor, positions: P });
  return tensor;
}

/** Record the rotation of x (B·T, nHeads·hd) in place; token t sits at position pos0 + t. */
export function ropeInPlace(gpu: Gpu, x: Tensor, opts: RopeOptions): void {
  const { B, T, nHeads, headDim, pos0, theta } = opts;
  if (headDim % 2 !== 0) throw new Error(`rope: head dim ${headDim} is odd`);
  if (numel(x.shape) !== B * T * nHeads * headDim) {
    throw new Error(`rope: ${x.label} (${x.shape}) is not (${B}·${T}, ${nHeads}·${headDim})`);
  }
  const cs = tableFor(gpu, pos0 + T, headDim, theta);
  const half = headDim / 2;
  gpu.dispatch(ropeKernel, {
    uniforms: { rows: B * T, T, nHeads, half, pos0, sgn: opts.inverse ? -1 : 1 },
    bindings: { cs, x },
  });
}
