import { describe, expect, it } from 'vitest';
import {
  adamwStep, clipGradNorm, clipScale, sumSquares, sumSquaresVariantFor, sumSquaresWith, type AdamWOptions, type SumSquaresVariant,
} from '../../src/kernels/optimizer.ts';
import { adamwStepRef, clipScaleRef, sumSquaresRef } from '../../src/reference/train-ops.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// Σg² is a reduction (f32 partial sums of up to ~5000 squares, then ≤ 1536 partials; 'strided': ≤ ~300
// squares per partial, then ≤ ~2100 partials in one invocation): rtol 1e-4 (measured: 7.5e-8 'workgroup',
// 2.6e-7 'strided').
const SUMSQ_RTOL = 1e-4;
// The clip multiplier is a few f32 ops on that sum: rtol 1e-4 (inherits the sum's error, halved by sqrt).
const CLIP_RTOL = 1e-4;
// AdamW state after several f32 steps: rtol 1e-5, atol 1e-6·max|ref| (cancellation in β1·m + (1−β1)·g
// and in p·decay − update leaves errors relative to the terms, not to the result).
const ADAM_RTOL = 1e-5;
const ADAM_ATOL_REL = 1e-6;

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

describe('sumSquares / clipScale kernels vs float64 reference', () => {
  const variants: SumSquaresVariant[] = ['workgroup', 'strided'];
  for (const variant of variants) {
    it(`${variant}: Σg² over tensors of sizes 1, 7, 33, 1000, 65537, 300001 (and 64·1024 + 3: a full 1024-partial grid)`, async () => {
      const gpu = await testGpu();
      const sizes = [1, 7, 33, 1000, 65537, 300001, 64 * 1024 + 3];
      const data = sizes.map((n, i) => randn(n, 100 + i, 1 + i));
      const grads = data.map((d, i) => gpu.upload(`g${i}`, [d.length], d));
      const out = gpu.upload('sumsq', [1], Float32Array.of(NaN));
      sumSquaresWith(gpu, grads, out, variant);
      const got = (await gpu.read(out))[0];
      expectClose([got], [sumSquaresRef(data)], 0, SUMSQ_RTOL, 'sumsq');
      // Each tensor alone too (one stage-1 dispatch, then the stage-2 sum of its partials).
      for (const [i, g] of grads.entries()) {
        sumSquaresWith(gpu, [g], out, variant);
        expectClose(await gpu.read(out), [sumSquaresRef([data[i]])], 0, SUMSQ_RTOL, `sumsq of size ${sizes[i]}`);
      }
      // Deterministic: the same bits again.
      sumSquaresWith(gpu, grads, out, variant);
      expect((await gpu.read(out))[0]).toBe(got);
      sumSquaresWith(gpu, [], out, variant);
      expect((await gpu.read(out))[0]).toBe(0);
      expect(() => sumSquaresWith(gpu, [grads[0]!, out], out, variant)).toThrow(/also a gradient/);
      gpu.release(...grads, out);
    });
  }

  it('sumSquares runs this adapter\'s variant (strided on SwiftShader)', async () => {
    const gpu = await testGpu();
    const variant = sumSquaresVariantFor(gpu);
    expect(variant).toBe(gpu.adapterInfo.architecture === 'swiftshader' ? 'strided' : 'workgroup');
    const d = randn(5000, 9, 2);
    const g = gpu.upload('g', [d.length], d), out = gpu.tensor('sumsq', [1]), out2 = gpu.tensor('sumsq2', [1]);
    sumSquares(gpu, [g], out);
    sumSquaresWith(gpu, [g], out2, variant);
    expect((await gpu.read(out))[0]).toBe((await gpu.read(out2))[0]);
    expectClose(await gpu.read(out), [sumSquaresRef([d])], 0, SUMSQ_RTOL, 'sumsq');
    gpu.release(g, out, out2);
  });

  it('clipScale = min(1, maxNorm / (‖g‖ + 1e-6)); 0 and Infinity disable clipping', async () => {
    const gpu = await testGpu();
    const sumsq = gpu.tensor('sumsq', [1]), scale = gpu.tensor('scale', [1]);
    for (const s of [0, 1e-14, 0.25, 4, 1e6]) {
      gpu.write(sumsq, Float32Array.of(s));
      for (const maxNorm of [0, Infinity, 1e-3, 0.5, 1, 2, 1e4]) {
        clipScale(gpu, sumsq, scale, maxNorm);
        const got = (await gpu.read(scale))[0];
        expectClose([got], [clipScaleRef(Math.fround(s), maxNorm)], 0, CLIP_RTOL, `sumsq ${s} maxNorm ${maxNorm}`);
      }
    }
    // Anchors independent of clipScaleRef: ‖g‖ = 2, maxNorm 1 → ½; ‖g‖ = 2, maxNorm 3 → 1.
    gpu.write(sumsq, Float32Array.of(4));
    clipScale(gpu, sumsq, scale, 1);
    expect((await gpu.read(scale))[0]).toBeCloseTo(0.5, 6);
    clipScale(gpu, sumsq, scale, 3);
    expect((await gpu.read(scale))[0]).toBe(1);
    gpu.release(sumsq, scale);
  });
});

describe('adamwStepRef (float64)', () => {
  it('matches two hand-worked torch.optim.AdamW steps', () => {
    // p0 = 1, lr 0.1, wd 0.5, β (0.9, 0.999), eps 1e-8; g = 0.5 then −0.25.
    // Step 1 (m̂ = g, v̂ = g²): p1 = p0·(1 − lr·wd) − lr·g/(|g| + eps) = 0.95 − 0.1·0.5/(0.5 + 1e-8).
    // (Adam with L2 in the gradient would give 0.9: g + wd·p = 0.75 → p0 − lr·1.)
    // Step 2: m = 0.02, v = 3.1225e-4, m̂ = 0.02/0.19, v̂ = 3.1225e-4/0.001999 → p2 = 0.78086629860784...
    const p = Float64Array.of(1), m = new Float64Array(1), v = new Float64Array(1);
    const o = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5 };
    adamwStepRef(p, [0.5], m, v, 1, { ...o, step: 1 });
    expect(p[0]).toBeCloseTo(0.95 - 0.05 / (0.5 + 1e-8), 14);
    adamwStepRef(p, [-0.25], m, v, 1, { ...o, step: 2 });
    expect(m[0]).toBeCloseTo(0.02, 14);
    expect(v[0]).toBeCloseTo(3.1225e-4, 16);
    expect(p[0]).toBeCloseTo(0.7808662986078463, 12);
  });
});

/** Run `steps` AdamW steps on GPU and reference with per-step gradient magnitudes `gradScales`. */
async function runAdamW(n: number, steps: number, gradScales: number[], maxNorm: number | null, o: Omit<AdamWOptions, 'step'>) {
  const gpu = await testGpu();
  const p0 = randn(n, n + 1, 1);
  const P = gpu.upload('p', [n], p0), G = gpu.tensor('g', [n]);
  const M = gpu.tensor('m', [n]), Vt = gpu.tensor('v', [n]);
  gpu.clear(M);
  gpu.clear(Vt);
  const sumsq = gpu.tensor('sumsq', [1]), clip = gpu.tensor('clip', [1]);
  const p = Float64Array.from(p0), m = new Float64Array(n), v = new Float64Array(n);
  const clips: [got: number, ref: number][] = [];
  for (let t = 1; t <= steps; t++) {
    const g = randn(n, 1000 * t + n, gradScales[(t - 1) % gradScales.length]);
    gpu.write(G, g);
    let clipRef = 1;
    if (maxNorm !== null) {
      clipGradNorm(gpu, [G], sumsq, clip, maxNorm);
      clipRef = clipScaleRef(sumSquaresRef([g]), maxNorm);
    }
    adamwStep(gpu, P, G, M, Vt, maxNorm !== null ? clip : null, { ...o, step: t });
    adamwStepRef(p, g, m, v, clipRef, { ...o, step: t });
    if (maxNorm !== null) clips.push([(await gpu.read(clip))[0], clipRef]);
  }
  const got = { p: await gpu.read(P), m: await gpu.read(M), v: await gpu.read(Vt) };
  gpu.release(P, G, M, Vt, sumsq, clip);
  for (const [name, a, b] of [['p', got.p, p], ['m', got.m, m], ['v', got.v, v]] as const) {
    expectClose(a, b, ADAM_ATOL_REL * maxAbs(b), ADAM_RTOL, `${name} after ${steps} steps (n=${n})`);
  }
  for (const [i, [a, b]] of clips.entries()) expectClose([a], [b], 0, CLIP_RTOL, `clip scale at step ${i + 1}`);
  return { clips, p0, p: got.p };
}

describe('adamw kernel vs float64 reference', () => {
  const hp = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };

  for (const n of [1, 7, 33, 1000]) {
    it(`n=${n}: 6 steps with weight decay and GPU-side clipping (maxNorm 1)`, async () => {
      // Gradient magnitudes vary by 100× between steps, so the clip scale changes m and v (Adam's
      // update is invariant to one constant scale, not to one that varies between steps).
      const { clips } = await runAdamW(n, 6, [1, 10, 0.01, 3, 1e-3, 30], 1, hp);
      expect(clips.some(([, r]) => r < 0.5)).toBe(true); // clipping engaged
      expect(clips.some(([, r]) => r === 1)).toBe(true); // and, at least once, did not
    });
  }

  it('n=33: no clip buffer (null), no weight decay, other betas', async () => {
    await runAdamW(33, 4, [1, 5], null, { lr: 3e-3, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0 });
  });

  it('n=33: maxNorm Infinity leaves gradients unclipped', async () => {
    const { clips } = await runAdamW(33, 3, [10], Infinity, hp);
    expect(clips.every(([g]) => g === 1)).toBe(true);
  });

  it('n=1000003: 2 steps with clipping', async () => {
    const { p0, p } = await runAdamW(1000003, 2, [1, 0.1], 10, { ...hp, lr: 1e-3 });
    expect(maxAbs(p.map((x, i) => x - p0[i]))).toBeGreaterThan(1e-3); // parameters moved
  });

  it('n = 65535·256 + 5: the workgroup grid folds into y, and the tail is updated', async () => {
    const gpu = await testGpu();
    const n = 65535 * 256 + 5;
    const P = gpu.upload('p', [n], new Float32Array(n).fill(1)), G = gpu.upload('g', [n], new Float32Array(n).fill(0.5));
    const M = gpu.tensor('m', [n]), V = gpu.tensor('v', [n]);
    gpu.clear(M);
    gpu.clear(V);
    const o = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5, step: 1 };
    adamwStep(gpu, P, G, M, V, null, o);
    const expected = 0.95 - 0.05 / (0.5 + 1e-8); // the hand-worked step above
    for (const at of [0, 65535 * 256 - 1, 65535 * 256, n - 1]) {
      expectClose(await gpu.read(P, at, 1), [expected], 1e-6, 1e-6, `p[${at}]`);
      expectClose(await gpu.read(M, at, 1), [0.05], 1e-9, 1e-6, `m[${at}]`);
    }
    gpu.release(P, G, M, V);
  });

  it('rejects mismatched sizes, aliasing and step 0', async () => {
    const gpu = await testGpu();
    const a = gpu.tensor('a', [4]), b = gpu.tensor('b', [4]), c = gpu.tensor('c', [4]), d = gpu.tensor('d', [5]);
    const e = gpu.tensor('e', [4]);
    const o = { ...hp, step: 1 };
    expect(() => adamwStep(gpu, a, b, c, d, null, o)).toThrow(/elements/);
    expect(() => adamwStep(gpu, a, b, c, c, null, o)).toThrow(/distinct/);
    expect(() => adamwStep(gpu, a, b, c, e, null, { ...o, step: 0 })).toThrow(/step/);
    gpu.release(a, b, c, d, e);
  });
});
