import { afterAll, describe, expect, it } from 'vitest';
import { MoraAdapter } from '../../src/adapters/mora.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { moraBackward, moraDelta, moraForward } from '../../src/kernels/mora.ts';
import { Rng } from '../../src/model/sampling.ts';
import { moraBackwardRef, moraCompressRef, moraDeltaRef, moraForwardRef } from '../../src/reference/mora.ts';
import { moraGeometry, moraRotationTable, type MoraGeometry, type MoraType } from '../../src/schema/mora.ts';
import { matmulRef } from '../../src/reference/ops.ts';
import { dotLoss, expectGradClose, finiteDiffGrad } from '../helpers/finite-diff.ts';
import { closeness, expectClose, randn, testGpu } from '../helpers/gpu.ts';

// Tolerances (f32 GPU vs float64 reference, O(1) data):
//   compress, fold, expand, ΔW: sums of ≤ ~10 terms → elementwise-like, atol 1e-5 / rtol 1e-5;
//   anything through M (dot products of length r̂ ≤ 43): f32 matmul, atol 1e-4 / rtol 1e-3.
const SUM_TOL = [1e-5, 1e-5] as const;
const MM_TOL = [1e-4, 1e-3] as const;

/** [in, out, r̂]: in, out not multiples of r̂; in > out and in < out; padding P > in; stories260K shapes. */
const SHAPES: Record<MoraType, [number, number, number][]> = {
  1: [[10, 7, 4], [7, 17, 3], [5, 6, 4], [3, 9, 8], [64, 172, 43], [172, 64, 43], [64, 32, 28]],
  6: [[10, 7, 4], [7, 17, 4], [13, 11, 6], [33, 9, 4], [3, 9, 8], [64, 172, 42], [172, 64, 42], [64, 32, 28]],
};

/** Worst max |gpu − ref| / max |ref| per quantity over all shapes, printed at the end. */
const worst = new Map<string, number>();
function track(gpu: ArrayLike<number>, ref: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  expectClose(gpu, ref, atol, rtol, what);
  let scale = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]!));
  worst.set(what, Math.max(worst.get(what) ?? 0, closeness(gpu, ref, 1, 0).maxAbs / Math.max(scale, 1e-30)));
}
afterAll(() => {
  if (worst.size) console.log(`MoRA kernels, worst max|diff|/max|ref|: ${[...worst].map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
});

const geomName = (g: MoraGeometry) => `type ${g.type} in=${g.inF} out=${g.out} r̂=${g.rHat} (nB=${g.nB}, nU=${g.nU})`;

/**
 * ΔW as the official get_delta_weight builds it (written from its description, for shapes where it
 * runs: P ≤ in, and n_b ≥ 2 for type 6). Type 1: w (r̂, in), w[:, p mod in] += M[:, p mod r̂] for
 * p < in + P, rows tiled to out. Type 6: block-diagonal blocks M·R_i on the padded square
 * (in + P, in), the last block's first r̂ − P columns at its place and its last P at columns 0..P−1,
 * rows tiled when in < out, else truncated.
 */
function officialDelta(M: Float64Array, g: MoraGeometry): Float64Array {
  const { inF, out, rHat: n } = g;
  const P = (n - (inF % n)) % n;
  const dW = new Float64Array(out * inF);
  if (g.type === 1) {
    const w = new Float64Array(n * inF);
    for (let p = 0; p < inF + P; p++) for (let k = 0; k < n; k++) w[k * inF + (p % inF)] += M[k * n + (p % n)]!;
    for (let j = 0; j < out; j++) for (let q = 0; q < inF; q++) dW[j * inF + q] = w[(j % n) * inF + q]!;
    return dW;
  }
  const nB = Math.ceil(inF / n), h = n / 2, rows = inF + P;
  const rot = moraRotationTable(n, nB);
  const w = new Float64Array(rows * inF);
  for (let i = 0; i < nB; i++) {
    for (let k = 0; k < n; k++) {
      for (let l = 0; l < n; l++) {
        const m = l % h, cos = rot[i * n + m]!, sin = rot[i * n + h + m]!;
        // (M R_i)[k, l]: aw·cos + cat(aw[:, h:], −aw[:, :h])·sin
        const v = M[k * n + l]! * cos + (l < h ? M[k * n + l + h]! : -M[k * n + l - h]!) * sin;
        const col = i * n + l;
        w[(i * n + k) * inF + (col < inF ? col : col - inF)] = v; // the last block's tail wraps to 0..P−1
      }
    }
  }
  for (let j = 0; j < out; j++) for (let q = 0; q < inF; q++) dW[j * inF + q] = w[(inF < out ? j % rows : j) * inF + q]!;
  return dW;
}

const f64 = (a: Float32Array) => Float64Array.from(a);

describe('MoRA float64 reference', () => {
  for (const type of [1, 6] as const) {
    for (const [inF, out, n] of SHAPES[type]) {
      const g = moraGeometry(inF, out, n, type);
      it(`${geomName(g)}: ΔW = forward(identity) = official dense formula; forward(x) = x·ΔWᵀ; gradients = finite differences`, () => {
        const M = f64(randn(n * n, 3 + n)), rows = 5;
        const dW = moraDeltaRef(M, g);
        const P = (n - (inF % n)) % n;
        if (P <= inF && (type === 1 || g.nB >= 2)) expectClose(dW, officialDelta(M, g), 1e-12, 0, 'ΔW vs official formula');
        const x = f64(randn(rows * inF, 7 + inF));
        expectClose(moraForwardRef(x, M, rows, g), matmulRef(x, dW, rows, out, inF), 1e-12, 1e-12, 'forward vs x·ΔWᵀ');
        if (type === 6 && g.nU * n < inF) {
          // in > out: only the first ⌈out/r̂⌉·r̂ input channels reach the output.
          for (let j = 0; j < out; j++) for (let q = g.nU * n; q < inF; q++) expect(dW[j * inF + q]).toBe(0);
        }
        // Gradients of L = Σ dy ⊙ forward(x, M) against central differences. L is linear in x and in M,
        // so the truncation error is 0 and a large step keeps the rounding error (~1e-16·|L|/h) tiny.
        const dy = f64(randn(rows * out, 9 + out));
        const { dM, dx } = moraBackwardRef(x, M, dy, rows, g);
        const loss = () => dotLoss(dy, moraForwardRef(x, M, rows, g));
        expectGradClose(dx, finiteDiffGrad(loss, x, { h: 1e-2 }), 1e-9, 1e-7, 'dx');
        expectGradClose(dM, finiteDiffGrad(loss, M, { h: 1e-2 }), 1e-9, 1e-7, 'dM');
      });
    }
  }

  it('r̂ and the geometry follow the official code', () => {
    expect(moraGeometry(10, 7, 4, 6)).toMatchObject({ nB: 3, nU: 2, width: 8, span: 8 }); // chunk 2 truncated away
    expect(moraGeometry(7, 17, 4, 6)).toMatchObject({ nB: 2, nU: 2, width: 8, span: 8 }); // 8 < 17: tiled
    expect(moraGeometry(10, 7, 4, 1)).toMatchObject({ nB: 3, nU: 1, width: 4, span: 12 });
    expect(() => moraGeometry(10, 7, 5, 6)).toThrow(/even/);
  });
});

describe('MoRA kernels vs float64 reference', () => {
  const upload = async (label: string, d: ArrayLike<number>) => (await testGpu()).upload(label, [d.length], Float32Array.from(d));
  for (const type of [1, 6] as const) {
    for (const [inF, out, n] of SHAPES[type]) {
      const g = moraGeometry(inF, out, n, type);
      for (const rows of [1, 7, 33]) {
        it(`${geomName(g)} rows=${rows}: forward, backward, ΔW`, async () => {
          const gpu = await testGpu();
          const m = randn(n * n, 21 + n, 0.5), x = randn(rows * inF, 22 + rows), dy = randn(rows * out, 23 + rows);
          const y0 = randn(rows * out, 24), dx0 = randn(rows * inF, 25), dM0 = randn(n * n, 26);
          const rot = type === 6 ? await upload('rot', moraRotationTable(n, g.nU)) : null;
          const M = await upload('M', m), X = await upload('x', x), DY = await upload('dy', dy);
          const u = gpu.tensor('u', [rows * g.nU, n]);
          const Y = await upload('y', y0), DX = await upload('dx', dx0), DM = await upload('dM', dM0);
          const dW = gpu.tensor('dW', [out, inF]);
          moraForward(gpu, g, X, M, rot, Y, u, rows, true);
          moraBackward(gpu, g, M, rot, u, DY, DM, DX, rows, 'test');
          moraDelta(gpu, g, M, rot, dW);

          const uRef = moraCompressRef(x, rows, g);
          track(await gpu.read(u), uRef, ...SUM_TOL, 'u');
          const yRef = moraForwardRef(x, m, rows, g);
          for (let i = 0; i < yRef.length; i++) yRef[i] += y0[i]!;
          track(await gpu.read(Y), yRef, ...MM_TOL, 'y = y0 + forward');
          const dWRef = moraDeltaRef(m, g);
          const dWGpu = await gpu.read(dW);
          track(dWGpu, dWRef, ...SUM_TOL, 'ΔW');
          // forward(x) = x·ΔWᵀ with the GPU's own ΔW
          const viaDelta = matmulRef(x, dWGpu, rows, out, inF, { C0: y0 });
          track(await gpu.read(Y), viaDelta, ...MM_TOL, 'forward vs x·ΔWᵀ (GPU ΔW)');
          const { dM, dx } = moraBackwardRef(x, m, dy, rows, g);
          for (let i = 0; i < dx.length; i++) dx[i] += dx0[i]!;
          for (let i = 0; i < dM.length; i++) dM[i] += dM0[i]!;
          track(await gpu.read(DX), dx, ...MM_TOL, 'dx');
          track(await gpu.read(DM), dM, ...MM_TOL, 'dM');
          gpu.release(M, X, DY, u, Y, DX, DM, dW, rot);
        });
      }
    }
  }

  it('overwriting (accumulate = false) covers every output element exactly once', async () => {
    const gpu = await testGpu();
    for (const type of [1, 6] as const) {
      const g = moraGeometry(13, 29, 6, type), rows = 3;
      const m = randn(36, 1), x = randn(rows * 13, 2);
      const rot = type === 6 ? await upload('rot', moraRotationTable(6, g.nU)) : null;
      const M = await upload('M', m), X = await upload('x', x), u = gpu.tensor('u', [rows * g.nU, 6]);
      const Y = await upload('y', new Float32Array(rows * 29).fill(Number.NaN));
      moraForward(gpu, g, X, M, rot, Y, u, rows, false);
      expectClose(await gpu.read(Y), moraForwardRef(x, m, rows, g), ...MM_TOL, `type ${type} y`);
      gpu.release(M, X, u, Y, rot);
    }
  });
});

describe('MoraAdapter', () => {
  for (const type of [1, 6] as const) {
    it(`type ${type}: y = x·(W + ΔW)ᵀ, dx = dy·(W + ΔW), dM as the reference; fresh M = 0 leaves y = x·Wᵀ`, async () => {
      const gpu = await testGpu();
      const out = 23, inF = 37, rows = 9, r = 2;
      const w = randn(out * inF, 31), x = randn(rows * inF, 32), dy = randn(rows * out, 33);
      const W = gpu.upload('W', [out, inF], w), X = gpu.upload('x', [rows, inF], x), DY = gpu.upload('dy', [rows, out], dy);
      const a = MoraAdapter.create(gpu, 'test.q_proj', out, inF, { rank: r, type, dropout: 0 }, new Rng(1));
      const n = a.rHat;
      expect(n).toBe(type === 1 ? 11 : 10); // floor(√(60·2) + 0.5) = 11; type 6 rounds down to even
      expect(a.params.map((p) => p.value.shape)).toEqual([[n, n]]);
      const fresh = a.forward(gpu, W, X, rows, null);
      expectClose(await gpu.read(fresh), matmulRef(x, w, rows, out, inF), ...MM_TOL, 'fresh');
      expect([...(await gpu.read(a.deltaWeight(gpu, W)))].every((v) => v === 0)).toBe(true);
      const m = randn(n * n, 34, 0.3);
      gpu.write(a.M, m);
      const saved = { tensors: [] as Tensor[] };
      const y = a.forward(gpu, W, X, rows, saved);
      const dx = gpu.tensor('dx', [rows, inF]);
      a.backward(gpu, W, X, DY, rows, saved, dx, false);
      const g = a.geometry;
      const weff = Float64Array.from(w);
      const dW = moraDeltaRef(m, g);
      for (let i = 0; i < weff.length; i++) weff[i] += dW[i]!;
      expectClose(await gpu.read(y), matmulRef(x, weff, rows, out, inF), ...MM_TOL, 'y');
      expectClose(await gpu.read(dx), matmulRef(dy, weff, rows, inF, out, { bKN: true }), ...MM_TOL, 'dx');
      expectClose(await gpu.read(a.params[0]!.grad), moraBackwardRef(x, m, dy, rows, g).dM, ...MM_TOL, 'dM');
      const delta = a.deltaWeight(gpu, W);
      expectClose(await gpu.read(delta), dW, ...SUM_TOL, 'ΔW');
      gpu.release(W, X, DY, fresh, y, dx, delta, ...saved.tensors);
      a.dispose(gpu);
    });
  }

  it('dropout: backward goes through the same mask as the forward', async () => {
    const gpu = await testGpu();
    const out = 12, inF = 20, rows = 6;
    const w = randn(out * inF, 41), x = randn(rows * inF, 42), dy = randn(rows * out, 43);
    const W = gpu.upload('W', [out, inF], w), X = gpu.upload('x', [rows, inF], x), DY = gpu.upload('dy', [rows, out], dy);
    const a = MoraAdapter.create(gpu, 'test.v_proj', out, inF, { rank: 2, type: 6, dropout: 0.3 }, new Rng(2));
    const n = a.rHat, m = randn(n * n, 44, 0.3);
    gpu.write(a.M, m);
    const saved = { tensors: [] as Tensor[] };
    const y = a.forward(gpu, W, X, rows, saved);
    const dx = gpu.tensor('dx', [rows, inF]);
    a.backward(gpu, W, X, DY, rows, saved, dx, false);
    const xd = await gpu.read(saved.tensors[0]!); // drop(x), as the forward used it
    const kept = xd.filter((v) => v !== 0).length;
    expect(kept).toBeGreaterThan(0.5 * xd.length);
    expect(kept).toBeLessThan(0.9 * xd.length);
    const g = a.geometry;
    const y64 = matmulRef(x, w, rows, out, inF);
    const branch = moraForwardRef(xd, m, rows, g);
    for (let i = 0; i < y64.length; i++) y64[i] += branch[i]!;
    expectClose(await gpu.read(y), y64, ...MM_TOL, 'y');
    // dx = dy·W + mask/(1−p) ⊙ Cᵀ(…): the branch gradient is zero exactly where x was dropped
    const ref = moraBackwardRef(xd, m, dy, rows, g);
    const base = matmulRef(dy, w, rows, inF, out, { bKN: true });
    for (let i = 0; i < base.length; i++) base[i] += xd[i] === 0 ? 0 : ref.dx[i]! / 0.7;
    expectClose(await gpu.read(dx), base, ...MM_TOL, 'dx');
    expectClose(await gpu.read(a.params[0]!.grad), ref.dM, ...MM_TOL, 'dM');
    console.log(`dropout: kept ${kept}/${xd.length}; max |dx − ref| = ${closeness(await gpu.read(dx), base, 1, 0).maxAbs.toExponential(2)}`);
    gpu.release(W, X, DY, y, dx, ...saved.tensors);
    a.dispose(gpu);
  });
});
