import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { attention, attentionBackward, type AttentionVariant } from '../../src/kernels/attention.ts';
import { tiledAttentionLimits } from '../../src/kernels/attention-tiled.ts';
import { attentionBackwardRef, type AttentionBackwardRefOptions } from '../../src/reference/llama-grads.ts';
import { attentionRef } from '../../src/reference/llama-ops.ts';
import { dotLoss, expectGradClose, finiteDiffGrad } from '../helpers/finite-diff.ts';
import { expectClose, randn, testGpu } from '../helpers/gpu.ts';

// Reference vs central differences (float64, h = 1e-6, every entry of q, k, v): atol 1e-8, rtol 1e-6
// (measured: at most 0.064 of the bound).
const FD_ATOL = 1e-8;
const FD_RTOL = 1e-6;
// GPU vs reference: f32 dots over hd and sums over up to T keys/queries (× group heads), P = exp(s − lse)
// with f32 s and lse: atol 1e-5, rtol 1e-4 (measured: at most 0.31 of the bound for 'workgroup', 0.17 for 'row',
// max |diff| 1.7e-5 with |q| ≤ 30; 0.034 / 3.7e-6 for 'row' at B=4 T=256 heads=8/4 hd=8; 'tiled' 0.19 and
// 'quad' 0.37 (dk), max |diff| 1.7e-5, over these cases plus B=2 T=256 heads=8/4 hd=8 and B=2 T=128 hd=32).
const ATOL = 1e-5;
const RTOL = 1e-4;

type Case = AttentionBackwardRefOptions & { qScale?: number };
const name = (c: Case) => `B=${c.B} T=${c.T} heads=${c.nHeads}/${c.nKvHeads} hd=${c.headDim}` + (c.qScale ? ` |q|≤${c.qScale}` : '');
const fwd = (c: Case) => ({ ...c, S: c.T, pos0: 0 });

describe('attention backward: reference vs finite differences', () => {
  const cases: Case[] = [
    { B: 1, T: 1, nHeads: 1, nKvHeads: 1, headDim: 1 },
    { B: 2, T: 7, nHeads: 3, nKvHeads: 1, headDim: 5 },
    { B: 2, T: 5, nHeads: 2, nKvHeads: 2, headDim: 8 },
    { B: 1, T: 9, nHeads: 4, nKvHeads: 2, headDim: 3, qScale: 4 },
  ];
  for (const c of cases) {
    it(name(c), () => {
      const qn = c.B * c.T * c.nHeads * c.headDim, kvn = c.B * c.T * c.nKvHeads * c.headDim;
      const q = Float64Array.from(randn(qn, 1, c.qScale ?? 1)), k = Float64Array.from(randn(kvn, 2));
      const v = Float64Array.from(randn(kvn, 3)), dout = Float64Array.from(randn(qn, 4));
      const ref = attentionBackwardRef(q, k, v, dout, c);
      const loss = () => dotLoss(dout, attentionRef(q, k, v, fwd(c)));
      expectGradClose(ref.dq, finiteDiffGrad(loss, q), FD_ATOL, FD_RTOL, 'dq');
      expectGradClose(ref.dk, finiteDiffGrad(loss, k), FD_ATOL, FD_RTOL, 'dk');
      expectGradClose(ref.dv, finiteDiffGrad(loss, v), FD_ATOL, FD_RTOL, 'dv');
    });
  }
});

const variants: AttentionVariant[] = ['workgroup', 'row', 'tiled', 'quad'];
// 'row' runs register-blocked kernels for hd ≤ 64, hd % 4 = 0 (here 8, 16, 20, 48, 64) and private-array ones
// otherwise (1, 7, 68, 130). It compiles one pipeline per register-block count NB = ceil(hd / 8)
// (SwiftShader: ~0.05 s for NB = 1 to ~0.5 s for NB = 8, per kernel), so the cases use few distinct NB.
const cases: Case[] = [
  { B: 1, T: 1, nHeads: 1, nKvHeads: 1, headDim: 1 },
  { B: 2, T: 7, nHeads: 3, nKvHeads: 1, headDim: 8 },
  { B: 2, T: 33, nHeads: 2, nKvHeads: 2, headDim: 48 },
  { B: 2, T: 33, nHeads: 4, nKvHeads: 2, headDim: 7 },
  { B: 1, T: 70, nHeads: 3, nKvHeads: 3, headDim: 8 },   // keys and queries cross the 64-block edge
  { B: 1, T: 9, nHeads: 6, nKvHeads: 2, headDim: 130 },  // wide heads: 'row' uses private arrays (hd > 64)
  { B: 1, T: 12, nHeads: 2, nKvHeads: 1, headDim: 68 },  // just past the register-blocked 'row' kernels
  { B: 2, T: 12, nHeads: 2, nKvHeads: 2, headDim: 64 },  // all 8 register blocks
  { B: 1, T: 17, nHeads: 3, nKvHeads: 3, headDim: 20 },  // a half-used last register block
  { B: 2, T: 40, nHeads: 2, nKvHeads: 1, headDim: 16 },  // GQA group of 2 over 80 (query, head) items
  { B: 1, T: 33, nHeads: 3, nKvHeads: 1, headDim: 16, qScale: 30 }, // peaked softmax
  { B: 1, T: 10, nHeads: 4, nKvHeads: 1, headDim: 32 }, // GQA group of 4; 'quad' rows of 8 vec4s
  { B: 2, T: 6, nHeads: 2, nKvHeads: 2, headDim: 4 },   // one vec4 per row; T not a multiple of 4
];

describe('attention backward kernel vs float64 reference', () => {
  for (const c of cases) for (const variant of variants) {
    it(`${variant}: ${name(c)}`, async () => {
      const gpu = await testGpu();
      const qn = c.B * c.T * c.nHeads * c.headDim, kvn = c.B * c.T * c.nKvHeads * c.headDim;
      const q = randn(qn, qn, c.qScale ?? 2), k = randn(kvn, 2), v = randn(kvn, 3), dout = randn(qn, 4);
      const refLse = new Float64Array(c.B * c.T * c.nHeads);
      const refOut = attentionRef(q, k, v, fwd(c), refLse);
      const ref = attentionBackwardRef(q, k, v, dout, c);
      const [Q, DO, O] = [['q', q], ['dout', dout], ['out', Float32Array.from(refOut)]].map(
        ([l, a]) => gpu.upload(l as string, [c.B * c.T, c.nHeads * c.headDim], a as Float32Array),
      ) as [Tensor, Tensor, Tensor];
      const K = gpu.upload('k', [c.B * c.T, c.nKvHeads * c.headDim], k), V = gpu.upload('v', [c.B * c.T, c.nKvHeads * c.headDim], v);
      const L = gpu.upload('lse', [c.B * c.T * c.nHeads], Float32Array.from(refLse));
      // garbage in the outputs: they are overwritten
      const dQ = gpu.upload('dq', [qn], new Float32Array(qn).fill(NaN));
      const dK = gpu.upload('dk', [kvn], new Float32Array(kvn).fill(NaN)), dV = gpu.upload('dv', [kvn], new Float32Array(kvn).fill(3));
      attentionBackward(gpu, Q, K, V, O, L, DO, dQ, dK, dV, { ...c, variant });
      expectClose(await gpu.read(dQ), ref.dq, ATOL, RTOL, 'dq');
      expectClose(await gpu.read(dK), ref.dk, ATOL, RTOL, 'dk');
      expectClose(await gpu.read(dV), ref.dv, ATOL, RTOL, 'dv');
      gpu.release(Q, K, V, O, L, DO, dQ, dK, dV);
    });
  }

  for (const variant of variants) it(`${variant}: after the GPU forward (its out and lse); bit-identical reruns`, async () => {
    const gpu = await testGpu();
    const c: Case = { B: 2, T: 24, nHeads: 4, nKvHeads: 2, headDim: 8 };
    const qn = c.B * c.T * c.nHeads * c.headDim, kvn = c.B * c.T * c.nKvHeads * c.headDim;
    const q = randn(qn, 5, 2), k = randn(kvn, 6), v = randn(kvn, 7), dout = randn(qn, 8);
    const Q = gpu.upload('q', [qn], q), K = gpu.upload('k', [kvn], k), V = gpu.upload('v', [kvn], v), DO = gpu.upload('dout', [qn], dout);
    const O = gpu.tensor('out', [qn]), L = gpu.tensor('lse', [c.B * c.T * c.nHeads]);
    attention(gpu, Q, K, V, O, { ...fwd(c), lse: L, variant });
    const ref = attentionBackwardRef(q, k, v, dout, c);
    const runs: Float32Array[][] = [];
    for (let r = 0; r < 2; r++) {
      const dQ = gpu.tensor('dq', [qn]), dK = gpu.tensor('dk', [kvn]), dV = gpu.tensor('dv', [kvn]);
      attentionBackward(gpu, Q, K, V, O, L, DO, dQ, dK, dV, { ...c, variant });
      runs.push([await gpu.read(dQ), await gpu.read(dK), await gpu.read(dV)]);
      gpu.release(dQ, dK, dV);
    }
    expectClose(runs[0]![0]!, ref.dq, ATOL, RTOL, 'dq');
    expectClose(runs[0]![1]!, ref.dk, ATOL, RTOL, 'dk');
    expectClose(runs[0]![2]!, ref.dv, ATOL, RTOL, 'dv');
    for (let t = 0; t < 3; t++) expect(Array.from(runs[1]![t]!)).toEqual(Array.from(runs[0]![t]!));
    gpu.release(Q, K, V, O, L, DO);
  });

  it('tiled: batch rows in chunks when the P/dS scratch is capped', async () => {
    const gpu = await testGpu();
    const c: Case = { B: 3, T: 10, nHeads: 2, nKvHeads: 1, headDim: 8 };
    const qn = c.B * c.T * c.nHeads * c.headDim, kvn = c.B * c.T * c.nKvHeads * c.headDim;
    const q = randn(qn, 31, 2), k = randn(kvn, 32), v = randn(kvn, 33), dout = randn(qn, 34);
    const Q = gpu.upload('q', [qn], q), K = gpu.upload('k', [kvn], k), V = gpu.upload('v', [kvn], v), DO = gpu.upload('dout', [qn], dout);
    const O = gpu.tensor('out', [qn]), L = gpu.tensor('lse', [c.B * c.T * c.nHeads]);
    attention(gpu, Q, K, V, O, { ...fwd(c), lse: L, variant: 'row' });
    const ref = attentionBackwardRef(q, k, v, dout, c);
    const rowBytes = 2 * c.nHeads * 12 * 12 * 4; // P and dS, Tp = 12 rows and columns per head
    const saved = tiledAttentionLimits.scratchBytes;
    try {
      for (const cap of [rowBytes, 2 * rowBytes]) { // chunks of 1, and of 2 (+ 1)
        tiledAttentionLimits.scratchBytes = cap;
        const dQ = gpu.tensor('dq', [qn]), dK = gpu.tensor('dk', [kvn]), dV = gpu.tensor('dv', [kvn]);
        attentionBackward(gpu, Q, K, V, O, L, DO, dQ, dK, dV, { ...c, variant: 'tiled' });
        expectClose(await gpu.read(dQ), ref.dq, ATOL, RTOL, `dq, scratch cap ${cap}`);
        expectClose(await gpu.read(dK), ref.dk, ATOL, RTOL, `dk, scratch cap ${cap}`);
        expectClose(await gpu.read(dV), ref.dv, ATOL, RTOL, `dv, scratch cap ${cap}`);
        gpu.release(dQ, dK, dV);
      }
    } finally {
      tiledAttentionLimits.scratchBytes = saved;
    }
    gpu.release(Q, K, V, O, L, DO);
  });

  it('rejects inconsistent options', async () => {
    const gpu = await testGpu();
    const t = gpu.tensor('t', [24]), l = gpu.tensor('lse', [6]);
    const o = { B: 1, T: 2, nHeads: 3, nKvHeads: 2, headDim: 4 };
    expect(() => attentionBackward(gpu, t, t, t, t, l, t, t, t, t, o)).toThrow(/multiple/);
    expect(() => attentionBackward(gpu, t, t, t, t, t, t, t, t, t, { ...o, nKvHeads: 3 })).toThrow(/lse/);
    gpu.release(t, l);
  });
});
