import { afterAll, describe, expect, it } from 'vitest';
import { DoraAdapter } from '../../src/adapters/dora.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { doraBackward, doraDelta, doraNorm, doraScale } from '../../src/kernels/dora.ts';
import { matmul } from '../../src/kernels/matmul.ts';
import { Rng } from '../../src/model/sampling.ts';
import {
  doraBackwardRef, doraDeltaRef, doraForwardRef, doraNormRef, type DoraParams, type DoraShape,
} from '../../src/reference/dora.ts';
import { dropoutKeepRef, matmulRef } from '../../src/reference/ops.ts';
import { dotLoss, expectGradClose, finiteDiffGrad } from '../helpers/finite-diff.ts';
import { closeness, expectClose, randn, testGpu } from '../helpers/gpu.ts';

// Tolerances (f32 GPU vs float64 reference, O(1) data):
//   norms (a reduction of ≤ 172 squares): 1e-5 / 1e-4; scale (elementwise): 1e-6 / 1e-5;
//   anything through a matmul (z, y, dx, dA, dB, dm, ΔW): f32 matmul, 1e-4 / 1e-3.
const RED_TOL = [1e-5, 1e-4] as const;
const EW_TOL = [1e-6, 1e-5] as const;
const MM_TOL = [1e-4, 1e-3] as const;

/** [rows, in, out, r]: ones, odd sizes, non-multiples of the 4×4 / 32 tiles, one stories260K shape. */
const SHAPES: [number, number, number, number][] = [[1, 7, 5, 1], [7, 33, 9, 3], [33, 12, 17, 4], [16, 64, 172, 8]];

const worst = new Map<string, number>();
function track(gpu: ArrayLike<number>, ref: ArrayLike<number>, tol: readonly [number, number], what: string): void {
  expectClose(gpu, ref, tol[0], tol[1], what);
  let scale = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]!));
  const key = what.replace(/ .*/, '');
  worst.set(key, Math.max(worst.get(key) ?? 0, closeness(gpu, ref, 1, 0).maxAbs / Math.max(scale, 1e-30)));
}
afterAll(() => {
  if (worst.size) console.log(`DoRA, worst max|diff|/max|ref|: ${[...worst].map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
});

/** Random module: W, A, B O(1)/√in-ish, m around the row norms (so g = m/n is not 1). */
function module(rows: number, inF: number, out: number, r: number, seed: number) {
  const W = randn(out * inF, seed, 0.5), A = randn(r * inF, seed + 1, 0.5), B = randn(out * r, seed + 2, 0.5);
  const m = Float32Array.from(randn(out, seed + 3, 0.5), (v, j) => 1 + v + 0.01 * j);
  const x = randn(rows * inF, seed + 4), dy = randn(rows * out, seed + 5);
  return { W, A, B, m, x, dy };
}

describe('DoRA float64 reference', () => {
  for (const [rows, inF, out, r] of [[1, 7, 5, 1], [3, 6, 4, 2], [5, 9, 7, 3]] as const) {
    for (const p of [0, 0.4]) {
      it(`rows=${rows} in=${inF} out=${out} r=${r} dropout=${p}: gradients = finite differences with n frozen`, () => {
        const d: DoraShape = { rows, out, inF, r, s: 1.7 };
        const t = module(rows, inF, out, r, 10 * rows + inF);
        const keep = p > 0 ? dropoutKeepRef(rows * inF, p, 99) : null;
        const P = { W: Float64Array.from(t.W), A: Float64Array.from(t.A), B: Float64Array.from(t.B), m: Float64Array.from(t.m), keep, p };
        const n = doraNormRef(P.W, P.A, P.B, out, inF, r, d.s); // frozen at the current value
        const x = Float64Array.from(t.x);
        const loss = () => dotLoss(t.dy, doraForwardRef(x, { ...P, n }, d).y);
        const g = doraBackwardRef(x, t.dy, { ...P, n }, d);
        expectGradClose(g.dx, finiteDiffGrad(loss, x), 1e-8, 1e-6, 'dx');
        expectGradClose(g.dA, finiteDiffGrad(loss, P.A), 1e-8, 1e-6, 'dA');
        expectGradClose(g.dB, finiteDiffGrad(loss, P.B), 1e-8, 1e-6, 'dB');
        expectGradClose(g.dm, finiteDiffGrad(loss, P.m), 1e-8, 1e-6, 'dm');
        // The detach matters: with n live, dB differs (so the test above checks the frozen-n rule).
        const live = () => dotLoss(t.dy, doraForwardRef(x, P, d).y);
        const fdLive = finiteDiffGrad(live, P.B);
        expect(closeness(g.dB, fdLive, 1e-6, 1e-4).ratio).toBeGreaterThan(1);
        // Merge identity: without dropout y = x·(W + ΔW)ᵀ.
        const dW = doraDeltaRef(P, out, inF, r, d.s);
        const weff = Float64Array.from(P.W, (w, i) => w + dW[i]!);
        const yNoDrop = doraForwardRef(x, { ...P, keep: null }, d).y;
        expect(closeness(yNoDrop, matmulRef(x, weff, rows, out, inF), 1e-12, 1e-10).ratio).toBeLessThanOrEqual(1);
      });
    }
  }
});

describe('DoRA kernels', () => {
  for (const [rows, inF, out, r] of SHAPES) {
    it(`rows=${rows} in=${inF} out=${out} r=${r}: norm, scale, backward and ΔW match the reference`, async () => {
      const gpu = await testGpu();
      const s = 0.75;
      const t = module(rows, inF, out, r, rows + inF + out);
      const W = gpu.upload('W', [out, inF], t.W), A = gpu.upload('A', [r, inF], t.A), B = gpu.upload('B', [out, r], t.B);
      const M = gpu.upload('m', [out], t.m), N = gpu.tensor('n', [out]);
      doraNorm(gpu, W, A, B, s, N);
      const nRef = doraNormRef(t.W, t.A, t.B, out, inF, r, s);
      track(await gpu.read(N), nRef, RED_TOL, `norm ${rows}×${inF}×${out}`);
      // scale: z arbitrary, y = g ⊙ z and y += g ⊙ z
      const z = randn(rows * out, 5), y0 = randn(rows * out, 6);
      const Z = gpu.upload('z', [rows, out], z), Y = gpu.upload('y', [rows, out], new Float32Array(rows * out).fill(Number.NaN));
      const nGpu = await gpu.read(N); // scale and backward are checked on the kernel's own n
      const g = Float64Array.from(t.m, (m, j) => m / nGpu[j]!);
      doraScale(gpu, Z, M, N, Y, rows);
      track(await gpu.read(Y), Float64Array.from(z, (v, e) => g[e % out]! * v), EW_TOL, 'scale');
      gpu.write(Y, y0);
      doraScale(gpu, Z, M, N, Y, rows, true);
      track(await gpu.read(Y), Float64Array.from(z, (v, e) => y0[e]! + g[e % out]! * v), EW_TOL, 'scale+acc');
      // backward: dz = g ⊙ dy, dm += Σ dy ⊙ z / n (onto a non-zero dm)
      const dm0 = randn(out, 7);
      const DY = gpu.upload('dy', [rows, out], t.dy), DZ = gpu.tensor('dz', [rows, out]), DM = gpu.upload('dm', [out], dm0);
      doraBackward(gpu, DY, Z, M, N, DZ, DM, rows);
      track(await gpu.read(DZ), Float64Array.from(t.dy, (v, e) => g[e % out]! * v), EW_TOL, 'dz');
      const dm = Float64Array.from(dm0);
      for (let e = 0; e < rows * out; e++) dm[e % out] += (t.dy[e]! * z[e]!) / nGpu[e % out]!;
      track(await gpu.read(DM), dm, MM_TOL, 'dm');
      // ΔW
      const D = gpu.tensor('dW', [out, inF]);
      doraDelta(gpu, W, A, B, M, N, s, D);
      track(await gpu.read(D), doraDeltaRef({ ...t, n: nGpu }, out, inF, r, s), MM_TOL, 'ΔW');
      gpu.release(W, A, B, M, N, Z, Y, DY, DZ, DM, D);
    });
  }
});

describe('DoraAdapter', () => {
  async function setup(rows: number, inF: number, out: number, r: number, dropout: number, seed: number) {
    const gpu = await testGpu();
    const t = module(rows, inF, out, r, seed);
    const W = gpu.upload('W', [out, inF], t.W), X = gpu.upload('x', [rows, inF], t.x), DY = gpu.upload('dy', [rows, out], t.dy);
    const a = DoraAdapter.create(gpu, 'test.q_proj', W, { rank: r, alpha: 2 * r, rslora: false, dropout, init: 'kaiming' }, new Rng(seed));
    return { gpu, t, W, X, DY, a };
  }

  it('a fresh adapter: m = ‖W‖ per row, and the output equals x·Wᵀ (m/n = 1)', async () => {
    const [rows, inF, out, r] = [9, 64, 172, 4];
    const { gpu, t, W, X, DY, a } = await setup(rows, inF, out, r, 0, 3);
    expect(a.params.map((p) => [p.name, p.value.shape])).toEqual([
      ['test.q_proj.lora_A.weight', [r, inF]], ['test.q_proj.lora_B.weight', [out, r]], ['test.q_proj.lora_magnitude_vector', [out]],
    ]);
    track(await gpu.read(a.magnitude), doraNormRef(t.W, new Float64Array(r * inF), new Float64Array(out * r), out, inF, r, 1), RED_TOL, 'm-init');
    const y = a.forward(gpu, W, X, rows, null);
    const base = gpu.tensor('base', [rows, out]);
    matmul(gpu, X, W, base, rows, out, inF);
    const diff = closeness(await gpu.read(y), await gpu.read(base), 0, 0).maxAbs;
    console.log(`fresh DoRA vs base output: max |diff| = ${diff}`);
    expect(diff).toBe(0);
    const delta = a.deltaWeight(gpu, W);
    expect(closeness(await gpu.read(delta), new Float32Array(out * inF), 0, 0).maxAbs).toBe(0);
    gpu.release(W, X, DY, y, base, delta);
    a.dispose(gpu);
  });

  for (const dropout of [0, 0.3]) {
    for (const [rows, inF, out, r] of [[7, 33, 9, 3], [16, 64, 172, 8]] as const) {
      it(`dropout=${dropout} rows=${rows} in=${inF} out=${out} r=${r}: forward, dx, dA, dB, dm and ΔW match the reference`, async () => {
        const { gpu, t, W, X, DY, a } = await setup(rows, inF, out, r, dropout, rows + out);
        gpu.write(a.B, t.B);
        gpu.write(a.A, t.A);
        gpu.write(a.magnitude, t.m);
        const saved = { tensors: [] as Tensor[] } as { tensors: Tensor[]; seed?: number };
        const y = a.forward(gpu, W, X, rows, saved);
        const dx = gpu.tensor('dx', [rows, inF]);
        gpu.write(dx, new Float32Array(rows * inF).fill(0.5));
        a.backward(gpu, W, X, DY, rows, saved, dx, true);
        const d: DoraShape = { rows, out, inF, r, s: a.scale };
        const keep = dropout > 0 ? dropoutKeepRef(rows * inF, dropout, saved.seed!) : null;
        if (keep) expect(saved.seed).toBeDefined();
        const P: DoraParams = { W: t.W, A: t.A, B: t.B, m: t.m, keep, p: dropout };
        const f = doraForwardRef(t.x, P, d), g = doraBackwardRef(t.x, t.dy, P, d);
        track(await gpu.read(y), f.y, MM_TOL, 'adapter-y');
        track(await gpu.read(dx), Float64Array.from(g.dx, (v) => v + 0.5), MM_TOL, 'adapter-dx');
        track(await gpu.read(a.params[0]!.grad), g.dA, MM_TOL, 'adapter-dA');
        track(await gpu.read(a.params[1]!.grad), g.dB, MM_TOL, 'adapter-dB');
        track(await gpu.read(a.params[2]!.grad), g.dm, MM_TOL, 'adapter-dm');
        const delta = a.deltaWeight(gpu, W);
        track(await gpu.read(delta), doraDeltaRef(P, out, inF, r, a.scale), MM_TOL, 'adapter-ΔW');
        if (keep) {
          const kept = keep.reduce((s, k) => s + k, 0);
          expect(kept).toBeGreaterThan(0.5 * keep.length);
          expect(kept).toBeLessThan(0.9 * keep.length);
        }
        gpu.release(W, X, DY, y, dx, delta, ...saved.tensors);
        a.dispose(gpu);
      });
    }
  }
});
