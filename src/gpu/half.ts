/**
 * 16-bit floats on the host: bfloat16 and IEEE half to and from float32, bit-exact. The GPU keeps
 * frozen 16-bit weights packed two per u32 (tensor.ts); these decode its readbacks and encode files.
 */

/** bfloat16 → float32: the 16 bits are the top half of the float32. */
export function bf16ToF32(src: Uint16Array): Float32Array {
  const out = new Uint32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
  return new Float32Array(out.buffer);
}

let f16Table: Float32Array | undefined;

/** IEEE half → float32, exact for every value (subnormals, ±inf, NaN), via a 64K-entry table. */
export function f16ToF32(src: Uint16Array): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    const bits = new Uint32Array(f16Table.buffer);
    for (let h = 0; h < 65536; h++) {
      const sign = (h & 0x8000) << 16;
      const exp = (h >> 10) & 0x1f;
      const man = h & 0x3ff;
      if (exp === 0) {
        // zero or subnormal: man × 2^-24, exactly representable in f32
        f16Table[h] = (sign ? -1 : 1) * man * 2 ** -24;
      } else if (exp === 31) {
        bits[h] = sign | 0x7f800000 | (man << 13); // inf, or NaN keeping its payload
      } else {
        bits[h] = sign | ((exp - 15 + 127) << 23) | (man << 13);
      }
    }
  }
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f16Table[src[i]!]!;
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → bfloat16 bits, round to nearest even (NaN stays a quiet NaN), as torch's .to(bfloat16). */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 → IEEE half bits, round to nearest even; overflow gives ±inf, tiny values subnormals or ±0. */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const man = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // subnormal: the implicit 1 joins the mantissa, shifted right by 14 − e, rounded to nearest even
    const m = man | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (man >>> 13);
  const rest = man & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // a carry into the exponent is still right (up to inf)
  return sign | h;
}

/** Round every value to `dtype` and return its bits. */
export function toHalfBits(data: ArrayLike<number>, dtype: 'bf16' | 'f16'): Uint16Array {
  const out = new Uint16Array(data.length);
  const enc = dtype === 'bf16' ? f32ToBf16Bits : f32ToF16Bits;
  for (let i = 0; i < data.length; i++) out[i] = enc(data[i]!);
  return out;
}

/** 16-bit bits of `dtype` back to float32. */
export function fromHalfBits(bits: Uint16Array, dtype: 'bf16' | 'f16'): Float32Array {
  return dtype === 'bf16' ? bf16ToF32(bits) : f16ToF32(bits);
}
