import { describe, expect, it } from 'vitest';
import { castToF32, toF32 } from '../../src/kernels/cast.ts';
import { embedding } from '../../src/kernels/embedding.ts';
import { bf16ToF32, f16ToF32, f32ToBf16Bits, f32ToF16Bits } from '../../src/gpu/half.ts';
import { embeddingRef } from '../../src/reference/llama-ops.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';
import { upload16 } from '../helpers/half.ts';

describe('16-bit host conversions', () => {
  it('every finite F16 value round-trips through float32 bit-exactly; halfway cases round to even', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const f = f16ToF32(all);
    for (let h = 0; h < 65536; h++) {
      if (Number.isNaN(f[h])) continue;
      if (f32ToF16Bits(f[h]!) !== h) throw new Error(`half 0x${h.toString(16)} (${f[h]}) came back as 0x${f32ToF16Bits(f[h]!).toString(16)}`);
    }
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and 1 + 2^-10: to even (1)
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway, odd below: up
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds past the largest half (65504): inf
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // half the smallest subnormal: to even (0)
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(2); // 1.5 subnormal steps: to even (2)
    expect(Number.isNaN(f16ToF32(Uint16Array.of(f32ToF16Bits(NaN)))[0])).toBe(true);
  });

  it('BF16 rounding is to nearest even on the dropped 16 bits, NaN stays NaN', () => {
    const bits = new Uint32Array(1), f = new Float32Array(bits.buffer);
    const bf = (u: number) => ((bits[0] = u), f32ToBf16Bits(f[0]!));
    expect(bf(0x3f808000)).toBe(0x3f80); // exactly halfway, even below: down
    expect(bf(0x3f818000)).toBe(0x3f82); // halfway, odd below: up
    expect(bf(0x3f808001)).toBe(0x3f81); // past halfway: up
    expect(bf(0x7f7fffff)).toBe(0x7f80); // the largest f32 rounds to inf
    expect(Number.isNaN(bf16ToF32(Uint16Array.of(bf(0x7fc00001)))[0])).toBe(true);
  });
});

describe('16-bit tensors on the GPU', () => {
  for (const dtype of ['bf16', 'f16'] as const) {
    for (const n of [1, 7, 33, 1000]) {
      it(`${dtype} n=${n}: read decodes exactly (whole and a range at an odd offset); castToF32 matches`, async () => {
        const gpu = await testGpu();
        const { t, values } = upload16(gpu, 'x', [n], randn(n, n, 3), dtype);
        expect(Array.from(await gpu.read(t))).toEqual(Array.from(values));
        if (n > 3) expect(Array.from(await gpu.read(t, 1, n - 2))).toEqual(Array.from(values.subarray(1, n - 1)));
        const out = gpu.upload('out', [n], new Float32Array(n).fill(7));
        castToF32(gpu, t, out);
        expect(Array.from(await gpu.read(out))).toEqual(Array.from(values)); // decoding is exact
        gpu.release(t, out);
      });
    }
  }

  it('toF32 returns an f32 tensor itself; castToF32 refuses an f32 input', async () => {
    const gpu = await testGpu();
    const x = gpu.upload('x', [4], randn(4, 1));
    expect(toF32(gpu, x)).toBe(x);
    expect(() => castToF32(gpu, x, x)).toThrow(/x is already f32/);
    gpu.release(x);
  });

  // A lookup copies values: exact (atol 0, rtol 0) against the reference on the decoded table.
  for (const dtype of ['bf16', 'f16'] as const) {
    for (const [R, V, D] of [[1, 1, 1], [7, 5, 7], [33, 17, 33], [64, 512, 65]] as const) {
      it(`embedding from a ${dtype} table R=${R} V=${V} D=${D}, ids ≥ V give zero rows`, async () => {
        const gpu = await testGpu();
        const ids = Uint32Array.from(randn(R, R + V), (x, i) => (i === R - 1 && R > 1 ? V + 3 : Math.floor(((x + 1) / 2) * V) % V));
        const I = gpu.upload('ids', [R], ids);
        const { t: W, values } = upload16(gpu, 'table', [V, D], randn(V * D, D), dtype);
        const out = gpu.upload('out', [R, D], new Float32Array(R * D).fill(7));
        embedding(gpu, I, W, out);
        expectClose(await gpu.read(out), embeddingRef(ids, values, V, D), 0, 0, 'out');
        gpu.release(I, W, out);
      });
    }
  }
});
