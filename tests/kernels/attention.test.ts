import { describe, expect, it } from 'vitest';
import { attention, type AttentionOptions, type AttentionVariant } from '../../src/kernels/attention.ts';
import { tiledAttentionLimits } from '../../src/kernels/attention-tiled.ts';
import { attentionRef } from '../../src/reference/llama-ops.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// Attention (reductions over hd and over up to a few hundred keys, f32 exp): atol 1e-5, rtol 1e-4, for
// out and lse (measured, both variants: at most 0.073 of the bound, max |diff| 1.1e-6 out / 3.4e-6 lse with |q| ≤ 30;
// 'tiled' and 'quad' at most 0.057, also at training shapes B·T = 512..1024).
const ATOL = 1e-5;
const RTOL = 1e-4;

type Case = Omit<AttentionOptions, 'lse' | 'variant'> & { qScale?: number; lse?: boolean };
const variants: AttentionVariant[] = ['workgroup', 'row', 'tiled', 'quad'];
const cases: Case[] = [
  { B: 1, T: 1, S: 1, nHeads: 1, nKvHeads: 1, headDim: 1, pos0: 0 },
  { B: 1, T: 7, S: 7, nHeads: 2, nKvHeads: 1, headDim: 7, pos0: 0 },
  { B: 2, T: 7, S: 20, nHeads: 3, nKvHeads: 1, headDim: 33, pos0: 5, lse: true },
  { B: 2, T: 33, S: 40, nHeads: 4, nKvHeads: 4, headDim: 8, pos0: 0 },
  { B: 2, T: 3, S: 70, nHeads: 6, nKvHeads: 3, headDim: 16, pos0: 62 }, // keys cross the 64-key block edge
  { B: 1, T: 1, S: 300, nHeads: 6, nKvHeads: 2, headDim: 48, pos0: 250, lse: true }, // generation step
  { B: 2, T: 64, S: 64, nHeads: 6, nKvHeads: 2, headDim: 48, pos0: 0, lse: true }, // training
  { B: 1, T: 65, S: 200, nHeads: 2, nKvHeads: 2, headDim: 130, pos0: 70 },
  { B: 1, T: 5, S: 9, nHeads: 2, nKvHeads: 1, headDim: 256, pos0: 3 },
  { B: 1, T: 33, S: 33, nHeads: 3, nKvHeads: 1, headDim: 16, pos0: 0, qScale: 30, lse: true }, // peaked softmax
  { B: 2, T: 1, S: 50, nHeads: 4, nKvHeads: 2, headDim: 32, pos0: 37, lse: true }, // decode step, 'quad' rows of 8 vec4s
  { B: 1, T: 10, S: 16, nHeads: 2, nKvHeads: 2, headDim: 4, pos0: 6 }, // one vec4 per row; T, pos0 not multiples of 4
];

function name(c: Case): string {
  return `B=${c.B} T=${c.T} S=${c.S} heads=${c.nHeads}/${c.nKvHeads} hd=${c.headDim} pos0=${c.pos0}` +
    (c.qScale ? ` |q|≤${c.qScale}` : '') + (c.lse ? ' +lse' : '');
}

/** k or v (B·S, nKv·hd), with NaN in the cache rows no query may read (s ≥ pos0 + T). */
function cache(c: Case, seed: number): Float32Array {
  const row = c.nKvHeads * c.headDim;
  const a = randn(c.B * c.S * row, seed);
  for (let b = 0; b < c.B; b++) a.fill(NaN, (b * c.S + c.pos0 + c.T) * row, (b + 1) * c.S * row);
  return a;
}

describe('attention kernel vs float64 reference', () => {
  for (const c of cases) for (const variant of variants) {
    it(`${variant}: ${name(c)}`, async () => {
      const gpu = await testGpu();
      const qn = c.B * c.T * c.nHeads * c.headDim;
      const q = randn(qn, qn + c.pos0, c.qScale ?? 2), k = cache(c, 2), v = cache(c, 3);
      const Q = gpu.upload('q', [c.B * c.T, c.nHeads * c.headDim], q);
      const K = gpu.upload('k', [c.B * c.S, c.nKvHeads * c.headDim], k);
      const V = gpu.upload('v', [c.B * c.S, c.nKvHeads * c.headDim], v);
      const out = gpu.tensor('out', [c.B * c.T, c.nHeads * c.headDim]);
      const lse = c.lse ? gpu.tensor('lse', [c.B * c.T * c.nHeads]) : undefined;
      attention(gpu, Q, K, V, out, { ...c, lse, variant });
      const refLse = new Float64Array(c.B * c.T * c.nHeads);
      const ref = attentionRef(q, k, v, c, refLse);
      const got = await gpu.read(out);
      expectClose(got, ref, ATOL, RTOL, 'out');
      if (lse) expectClose(await gpu.read(lse), refLse, ATOL, RTOL, 'lse');
      gpu.release(Q, K, V, out, lse);
    });
  }

  for (const variant of variants) it(`${variant}: ignores later keys (causal) and other batch rows`, async () => {
    const gpu = await testGpu();
    const c = { B: 2, T: 4, S: 4, nHeads: 1, nKvHeads: 1, headDim: 2, pos0: 0 };
    // v row s = (s, 10·b + s): with q = 0 all scores tie, so query t averages v rows 0..t of its batch row.
    const v = Float32Array.from({ length: 16 }, (_, i) => (i % 2 ? 10 * Math.floor(i / 8) : 0) + (Math.floor(i / 2) % 4));
    const Q = gpu.upload('q', [8, 2], new Float32Array(16)), K = gpu.upload('k', [8, 2], randn(16, 1)), V = gpu.upload('v', [8, 2], v);
    const out = gpu.tensor('out', [8, 2]);
    attention(gpu, Q, K, V, out, { ...c, variant });
    const want = [0, 0, 0.5, 0.5, 1, 1, 1.5, 1.5, 0, 10, 0.5, 10.5, 1, 11, 1.5, 11.5];
    expectClose(await gpu.read(out), want, 1e-6, 1e-6, 'out');
    gpu.release(Q, K, V, out);
  });

  it('tiled: batch rows in chunks when the scores scratch is capped (and row when one batch row does not fit)', async () => {
    const gpu = await testGpu();
    const c = { B: 3, T: 9, S: 12, nHeads: 2, nKvHeads: 1, headDim: 8, pos0: 2 };
    const qn = c.B * c.T * c.nHeads * c.headDim;
    const q = randn(qn, 21, 2), k = cache(c, 22), v = cache(c, 23);
    const Q = gpu.upload('q', [qn], q), K = gpu.upload('k', [k.length], k), V = gpu.upload('v', [v.length], v);
    const refLse = new Float64Array(c.B * c.T * c.nHeads);
    const ref = attentionRef(q, k, v, c, refLse);
    const rowBytes = c.nHeads * 12 * 12 * 4; // Tp = 12 query rows × tk = 12 key columns per head
    const saved = tiledAttentionLimits.scratchBytes;
    try {
      for (const cap of [rowBytes, 2 * rowBytes, rowBytes - 4]) { // chunks of 1, of 2 (+ 1), and no room
        tiledAttentionLimits.scratchBytes = cap;
        const out = gpu.tensor('out', [qn]), lse = gpu.tensor('lse', [c.B * c.T * c.nHeads]);
        attention(gpu, Q, K, V, out, { ...c, lse, variant: 'tiled' });
        expectClose(await gpu.read(out), ref, ATOL, RTOL, `out, scratch cap ${cap}`);
        expectClose(await gpu.read(lse), refLse, ATOL, RTOL, `lse, scratch cap ${cap}`);
        gpu.release(out, lse);
      }
    } finally {
      tiledAttentionLimits.scratchBytes = saved;
    }
    gpu.release(Q, K, V);
  });

  it('rejects inconsistent options', async () => {
    const gpu = await testGpu();
    const t = gpu.tensor('t', [24]);
    const o = { B: 1, T: 2, S: 2, nHeads: 3, nKvHeads: 2, headDim: 4, pos0: 0 };
    expect(() => attention(gpu, t, t, t, t, o)).toThrow(/multiple/);
    expect(() => attention(gpu, t, t, t, t, { ...o, nKvHeads: 3, pos0: 1 })).toThrow(/pos0/);
    gpu.release(t);
  });
});
