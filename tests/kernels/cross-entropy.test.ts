import { describe, expect, it } from 'vitest';
import { crossEntropy, crossEntropyVariantFor, type CrossEntropyVariant } from '../../src/kernels/cross-entropy.ts';
import { crossEntropyRef } from '../../src/reference/train-ops.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// Losses (a logsumexp over up to 32000 exps, then a mean over up to 8192 rows, in f32):
// atol 1e-5, rtol 1e-4 — relative, because with |logits| ~ 1e4 a loss is ~1e4 itself.
const LOSS_ATOL = 1e-5;
const LOSS_RTOL = 1e-4;
// dlogits = (p − onehot)·coef, coef = scale/nValid: atol 1e-6·coef (p to 1e-6 absolute), rtol 1e-4.
const GRAD_ATOL = 1e-6;
const GRAD_RTOL = 1e-4;

/** Targets in 0..V−1, with every `ignoreEvery`-th row ignored (−1, −100 or V, in turn). */
function makeTargets(R: number, V: number, seed: number, ignoreEvery = 4): Int32Array {
  const u = randn(R, seed);
  const ignored = [-1, -100, V];
  return Int32Array.from(u, (x, r) => (r % ignoreEvery === ignoreEvery - 1 ? ignored[r % 3] : Math.min(V - 1, Math.floor(((x + 1) / 2) * V))));
}

describe('crossEntropyRef (float64)', () => {
  it('matches a hand-worked case', () => {
    // Row 0: logits (0, 0), target 0 → loss log 2, grad (−½, ½). Row 1 ignored. Mean over 1 row.
    const ref = crossEntropyRef([0, 0, 5, -5], [0, -1], 2, 2, 0.5);
    expect(ref.loss).toBeCloseTo(Math.LN2, 14);
    expect(ref.nValid).toBe(1);
    expect(Array.from(ref.dlogits)).toEqual([-0.25, 0.25, 0, 0]);
  });

  for (const scale of [1, 0.25]) {
    it(`analytic gradient matches central differences (scale ${scale})`, () => {
      const [R, V] = [5, 7];
      const x = Float64Array.from(randn(R * V, 11, 3));
      const t = [3, -1, 0, 7 /* out of range: ignored */, 6];
      const { dlogits } = crossEntropyRef(x, t, R, V, scale);
      const h = 1e-5;
      const fd = new Float64Array(R * V);
      for (let i = 0; i < R * V; i++) {
        const xp = x.slice(), xm = x.slice();
        xp[i] += h;
        xm[i] -= h;
        fd[i] = (scale * (crossEntropyRef(xp, t, R, V).loss - crossEntropyRef(xm, t, R, V).loss)) / (2 * h);
      }
      // Central differences: truncation ~h² and rounding ~1e-16/h; 1e-9 absolute is ample.
      expectClose(dlogits, fd, 1e-9, 1e-7, 'dlogits vs finite differences');
      expect(Math.max(...dlogits.map(Math.abs))).toBeGreaterThan(0.01); // not trivially zero
    });
  }

  it('is shift-invariant at |logits| = 1e4 (stable logsumexp)', () => {
    const [R, V] = [3, 50];
    const x = Float64Array.from(randn(R * V, 12, 3));
    const t = [1, 49, 0];
    const a = crossEntropyRef(x, t, R, V);
    for (const c of [1e4, -1e4]) {
      const b = crossEntropyRef(x.map((v) => v + c), t, R, V);
      expect(Math.abs(b.loss - a.loss)).toBeLessThan(1e-9);
      expectClose(b.dlogits, a.dlogits, 1e-12, 1e-9, `shift ${c}`);
    }
  });
});

type Mode = 'separate' | 'in-place' | 'forward';

/** How to run: a workgroup size (the 'workgroup' variant) and/or an explicit variant; default: the adapter's. */
type Run = { workgroupSize?: number; variant?: CrossEntropyVariant };

async function runCase(R: number, V: number, x: Float32Array, t: Int32Array, mode: Mode, scale = 1, run: Run = {}) {
  const gpu = await testGpu();
  const logits = gpu.upload('logits', [R, V], x);
  const targets = gpu.upload('targets', [R], t);
  const loss = gpu.upload('loss', [1], Float32Array.of(NaN)); // must be overwritten
  const rowLoss = gpu.upload('rowLoss', [R], new Float32Array(R).fill(NaN));
  const dlogits = mode === 'separate' ? gpu.upload('dlogits', [R, V], new Float32Array(R * V).fill(NaN)) : null;
  crossEntropy(gpu, logits, targets, mode === 'in-place' ? logits : dlogits, loss, { rows: R, vocab: V, scale, rowLoss, ...run });
  const got = {
    loss: (await gpu.read(loss))[0],
    rowLoss: await gpu.read(rowLoss),
    dlogits: mode === 'separate' ? await gpu.read(dlogits!) : mode === 'in-place' ? await gpu.read(logits) : null,
    logitsAfter: mode === 'forward' ? await gpu.read(logits) : null,
  };
  gpu.release(logits, targets, loss, rowLoss, dlogits);
  return got;
}

async function checkCase(R: number, V: number, x: Float32Array, t: Int32Array, mode: Mode, scale = 1, run: Run = {}) {
  const ref = crossEntropyRef(x, t, R, V, scale);
  const got = await runCase(R, V, x, t, mode, scale, run);
  expectClose([got.loss], [ref.loss], LOSS_ATOL, LOSS_RTOL, 'mean loss');
  expectClose(got.rowLoss, ref.rowLoss, LOSS_ATOL, LOSS_RTOL, 'rowLoss');
  const coef = ref.nValid > 0 ? scale / ref.nValid : 1;
  if (got.dlogits) expectClose(got.dlogits, ref.dlogits, GRAD_ATOL * coef, GRAD_RTOL, 'dlogits');
  if (got.logitsAfter) expect(got.logitsAfter).toEqual(x); // forward only leaves logits alone
  return { ref, got };
}

for (const variant of ['workgroup', 'row'] as const) describe(`cross-entropy kernel (${variant}) vs float64 reference`, () => {
  const shapes: [R: number, V: number, spread: number][] = [
    [1, 1, 1], [1, 7, 1], [3, 33, 4], [7, 257, 4], [33, 1000, 8], [5, 32000, 4], [64, 512, 2],
  ];
  for (const [R, V, spread] of shapes) {
    it(`R=${R} V=${V} |x|≤${spread}, dlogits separate`, async () => {
      const x = randn(R * V, R * 7 + V, spread);
      const { ref } = await checkCase(R, V, x, makeTargets(R, V, R + V), 'separate', 0.5, { variant });
      if (R > 3) expect(ref.nValid).toBeLessThan(R); // some rows were ignored
    });
  }

  it('R=8192 V=5: the many-row count and mean (one reduction over 8192 rows)', async () => {
    const [R, V] = [8192, 5];
    await checkCase(R, V, randn(R * V, 3, 5), makeTargets(R, V, 4, 3), 'separate', 1, { variant });
  });

  for (const [R, V] of [[7, 257], [33, 1000], [3, 32000]] as const) {
    it(`R=${R} V=${V}: dlogits in place over logits`, async () => {
      await checkCase(R, V, randn(R * V, V, 6), makeTargets(R, V, V + 1), 'in-place', 0.25, { variant });
    });
    it(`R=${R} V=${V}: forward only (dlogits null)`, async () => {
      await checkCase(R, V, randn(R * V, V + 2, 6), makeTargets(R, V, V + 3), 'forward', 1, { variant });
    });
  }

  it('is stable for logits of magnitude 1e4', async () => {
    const [R, V] = [9, 1000];
    const t = makeTargets(R, V, 5);
    const u = randn(R * V, 6, 3);
    const cases: [string, Float32Array][] = [
      ['uniform in ±1e4', randn(R * V, 7, 1e4)],
      ['1e4 + U(±3)', u.map((v) => 1e4 + v)],
      ['−1e4 + U(±3)', u.map((v) => -1e4 + v)],
    ];
    for (const [what, x] of cases) {
      const { got } = await checkCase(R, V, x, t, 'separate', 1, { variant });
      expect(Number.isFinite(got.loss), what).toBe(true);
      expect(got.dlogits!.every(Number.isFinite), what).toBe(true);
    }
    // A shifted row gives the same loss as the unshifted one (up to the f32 rounding of the shift).
    const a = await runCase(R, V, u, t, 'forward', 1, { variant });
    const b = await runCase(R, V, u.map((v) => 1e4 + v), t, 'forward', 1, { variant });
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(2e-3); // |1e4 + u| rounds u to ~5e-4
  });

  it('gives loss 0 and zero gradients when every row is ignored', async () => {
    const [R, V] = [6, 40];
    const t = new Int32Array(R).fill(-1);
    const x = randn(R * V, 8, 3);
    for (const mode of ['separate', 'in-place'] as const) {
      const got = await runCase(R, V, x, t, mode, 1, { variant });
      expect(got.loss).toBe(0);
      expect(got.rowLoss.every((v) => v === 0)).toBe(true);
      expect(got.dlogits!.every((v) => v === 0)).toBe(true);
    }
  });
});

describe('cross-entropy kernel: workgroup sizes, variant choice, validation', () => {
  for (const WG of [32, 64, 128, 256]) {
    it(`workgroupSize ${WG}: V=7 (idle invocations), V=1000, V=4099`, async () => {
      for (const [R, V] of [[3, 7], [5, 1000], [2, 4099]]) {
        await checkCase(R, V, randn(R * V, WG + V, 5), makeTargets(R, V, WG + V + 1, 3), 'separate', 1, { workgroupSize: WG });
        await checkCase(R, V, randn(R * V, WG + V + 2, 5), makeTargets(R, V, WG + V + 3, 3), 'in-place', 1, { workgroupSize: WG });
      }
    });
  }

  it('defaults to this adapter\'s variant (row on SwiftShader), or workgroup when a workgroup size is given', async () => {
    const gpu = await testGpu();
    expect(crossEntropyVariantFor(gpu)).toBe(gpu.adapterInfo.architecture === 'swiftshader' ? 'row' : 'workgroup');
    const [R, V] = [5, 300];
    const x = randn(R * V, 41, 4), t = makeTargets(R, V, 42, 3);
    const auto = await runCase(R, V, x, t, 'separate');
    const explicit = await runCase(R, V, x, t, 'separate', 1, { variant: crossEntropyVariantFor(gpu) });
    expect(Array.from(auto.dlogits!)).toEqual(Array.from(explicit.dlogits!)); // same kernel, same bits
    await checkCase(R, V, x, t, 'separate');
  });

  it('rejects mismatched shapes', async () => {
    const gpu = await testGpu();
    const logits = gpu.tensor('logits', [4, 10]), targets = gpu.tensor('targets', [4]), loss = gpu.tensor('loss', [1]);
    expect(() => crossEntropy(gpu, logits, targets, null, loss, { rows: 4, vocab: 9 })).toThrow(/logits/);
    expect(() => crossEntropy(gpu, logits, targets, null, loss, { rows: 5, vocab: 8 })).toThrow(/targets/);
    expect(() => crossEntropy(gpu, logits, targets, null, loss, { rows: 4, vocab: 10, workgroupSize: 48 })).toThrow(/workgroupSize/);
    expect(() => crossEntropy(gpu, logits, targets, null, logits, { rows: 4, vocab: 10 })).toThrow(/loss/);
    gpu.release(logits, targets, loss);
  });
});
