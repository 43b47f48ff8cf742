import { describe, expect, it } from 'vitest';
import { ropeInPlace, ropeTable } from '../../src/kernels/rope.ts';
import { ropeAngle, ropeRef } from '../../src/reference/llama-ops.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// Against the reference with the kernel's (llama2.c's) float32 angles, elementwise: atol 1e-6, rtol 1e-5
// (measured: max |diff| 1.5e-7, at most 0.09 of the bound).
const ATOL = 1e-6;
const RTOL = 1e-5;
// Against exact float64 angles: the float32 angle pos·θ_i is off by up to ~|a|·2^-23 ≈ 6e-5 rad at
// pos 511, so outputs of size ~1 move by up to ~1e-4 (|x| ≤ 1 here): atol 1e-4 (measured: max |diff| 4.1e-5 at
// positions up to 511, hd 128, theta 5e5).
const ATOL_F64 = 1e-4;

type Case = { B: number; T: number; nHeads: number; headDim: number; pos0: number; theta: number };
const cases: Case[] = [
  { B: 1, T: 1, nHeads: 1, headDim: 2, pos0: 0, theta: 10000 },
  { B: 1, T: 7, nHeads: 1, headDim: 2, pos0: 3, theta: 10000 },
  { B: 2, T: 7, nHeads: 3, headDim: 8, pos0: 5, theta: 10000 },
  { B: 1, T: 33, nHeads: 5, headDim: 14, pos0: 0, theta: 10000 },
  { B: 2, T: 64, nHeads: 6, headDim: 48, pos0: 0, theta: 10000 },
  { B: 1, T: 1, nHeads: 6, headDim: 48, pos0: 511, theta: 10000 },
  { B: 1, T: 64, nHeads: 4, headDim: 128, pos0: 448, theta: 500000 },
  { B: 3, T: 33, nHeads: 2, headDim: 64, pos0: 200, theta: 10000 },
];

describe('rope kernel vs float64 reference', () => {
  for (const c of cases) {
    for (const inverse of [false, true]) {
      it(`B=${c.B} T=${c.T} heads=${c.nHeads} hd=${c.headDim} pos0=${c.pos0} theta=${c.theta}${inverse ? ' inverse' : ''}`, async () => {
        const gpu = await testGpu();
        const n = c.B * c.T * c.nHeads * c.headDim;
        const x = randn(n, n + c.pos0);
        const X = gpu.upload('x', [c.B * c.T, c.nHeads * c.headDim], x);
        ropeInPlace(gpu, X, { ...c, inverse });
        const got = await gpu.read(X);
        expectClose(got, ropeRef(x, { ...c, inverse, angles: 'f32' }), ATOL, RTOL, 'x (f32 angles)');
        expectClose(got, ropeRef(x, { ...c, inverse, angles: 'f64' }), ATOL_F64, 0, 'x (f64 angles)');
        gpu.release(X);
      });
    }
  }

  it('inverse undoes the rotation, and a table grown for later positions agrees', async () => {
    const gpu = await testGpu();
    const o = { B: 2, T: 5, nHeads: 3, headDim: 16, theta: 10000 };
    const n = o.B * o.T * o.nHeads * o.headDim;
    const x = randn(n, 42);
    const X = gpu.upload('x', [n], x);
    ropeInPlace(gpu, X, { ...o, pos0: 10 });
    ropeInPlace(gpu, X, { ...o, pos0: 1500 }); // needs positions up to 1504: the table grows
    ropeInPlace(gpu, X, { ...o, pos0: 1500, inverse: true });
    ropeInPlace(gpu, X, { ...o, pos0: 10, inverse: true });
    expectClose(await gpu.read(X), x, 1e-6, 1e-5, 'x');
    const Y = gpu.upload('y', [n], x);
    ropeInPlace(gpu, Y, { ...o, pos0: 1500 });
    expectClose(await gpu.read(Y), ropeRef(x, { ...o, pos0: 1500 }), ATOL, RTOL, 'y at pos 1500');
    gpu.release(X, Y);
  });

  it('builds its table in llama2.c float32 arithmetic', () => {
    const hd = 8, theta = 10000, P = 512;
    const t = ropeTable(P, hd, theta);
    // llama2.c: freq = 1.0f / powf(10000.0f, head_dim / (float)head_size); val = pos * freq (float).
    for (const [pos, i] of [[0, 0], [1, 1], [511, 0], [511, 3], [300, 2]] as const) {
      const a = ropeAngle(pos, i, hd, theta, 'f32');
      expect(t[(pos * hd / 2 + i) * 2]).toBe(Math.fround(Math.cos(a)));
      expect(t[(pos * hd / 2 + i) * 2 + 1]).toBe(Math.fround(Math.sin(a)));
    }
    expect(ropeAngle(511, 0, hd, theta, 'f32')).toBe(511);
    // the float32 angle differs from the exact one (why the reference offers both)
    const gap = Math.abs(ropeAngle(511, 1, hd, theta, 'f32') - ropeAngle(511, 1, hd, theta, 'f64'));
    expect(gap).toBeGreaterThan(0);
    expect(gap).toBeLessThan(511 * 2 ** -23);
  });

  it('rotates halves, not adjacent pairs (HF layout)', async () => {
    const gpu = await testGpu();
    // one head of dim 4 at position 1: pairs (x0, x2) and (x1, x3)
    const x = Float32Array.from([1, 0, 0, 0]);
    const X = gpu.upload('x', [1, 4], x);
    ropeInPlace(gpu, X, { B: 1, T: 1, nHeads: 1, headDim: 4, pos0: 1, theta: 10000 });
    const got = await gpu.read(X);
    expectClose(got, [Math.cos(1), 0, Math.sin(1), 0], 1e-6, 0, 'x');
    gpu.release(X);
  });
});
