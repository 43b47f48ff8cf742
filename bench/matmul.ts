/**
 * Matmul throughput at LLaMA-sized shapes (small enough for a 2-core CPU): our `matmul` (the variant
 * it selects on this adapter) vs tfjs-backend-webgpu's tf.matMul on the same adapter, same layout.
 */
import type { Tensor as TfTensor } from '@tensorflow/tfjs-core';
import type { Tensor } from '../src/gpu/tensor.ts';
import {
  MATMUL_VARIANTS, matmulWith, selectMatmulVariant, type MatmulOptions, type MatmulVariant,
} from '../src/kernels/matmul.ts';
import { randomValues, timeCases, type BenchContext, type BenchRow, type TimedCase } from './harness.ts';

interface Shape {
  /** Row name; C(M, N) = op(A) · op(B) with inner dimension K. */
  name: string;
  M: number;
  N: number;
  K: number;
  o: MatmulOptions;
}

const forward = (M: number, N: number, K: number, what: string): Shape => ({
  name: `matmul y=x·Wᵀ ${M}x${N}x${K} (${what})`, M, N, K, o: {},
});

export const MATMUL_SHAPES: Shape[] = [
  forward(128, 288, 288, 'attention projection, dim 288'),
  forward(128, 768, 288, 'FFN up'),
  forward(128, 288, 768, 'FFN down'),
  forward(256, 512, 64, 'stories260K logits'),
  forward(512, 512, 512, 'square'),
  { name: 'matmul dx=dy·W 128x768x288 (FFN down backward)', M: 128, N: 768, K: 288, o: { bKN: true } },
  { name: 'matmul dW=dyᵀ·x 288x768x128 (FFN down weight gradient)', M: 288, N: 768, K: 128, o: { aKM: true, bKN: true } },
];

// Ours vs tfjs agree to the f32 matmul tolerance (atol 1e-4, rtol 1e-3 of the largest |value|).
const ATOL = 1e-4;
const RTOL = 1e-3;

export async function matmulBench(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const s of MATMUL_SHAPES) {
    if (!ctx.wanted(s.name)) continue;
    rows.push(...(await benchShape(ctx, s)));
  }
  return rows;
}

async function benchShape(ctx: BenchContext, { name, M, N, K, o }: Shape): Promise<BenchRow[]> {
  const { gpu, tf } = ctx;
  const gflop = (2 * M * N * K) / 1e9;
  // Stored shapes: A is (M, K) or (K, M) when aKM; B is (N, K) or (K, N) when bKN.
  const a = randomValues(M * K, 1), b = randomValues(N * K, 2);
  const A = gpu.upload('bench.A', [M * K], a), B = gpu.upload('bench.B', [N * K], b), C = gpu.tensor('bench.C', [M * N]);
  // tfjs reads A as we do, and B always as (K, N): the layout tf.layers.dense keeps its kernel in and
  // the one its matMul is fastest with (transposeB costs it ~40% here). Ours reads W (N, K) as stored.
  const tA = tf.tf.tensor2d(a, o.aKM ? [K, M] : [M, K]);
  const tB = tf.tf.tensor2d(o.bKN ? b : transpose(b, N, K), [K, N]);
  const tfMatMul = () => tf.tf.matMul(tA, tB, !!o.aKM, false);

  const selected = selectMatmulVariant(gpu, M, N, K, o);
  const ours = (v: MatmulVariant): TimedCase => ({
    label: v.name,
    record: (reps) => { for (let r = 0; r < reps; r++) matmulWith(v, gpu, A, B, C, M, N, K, o); },
    finish: () => gpu.sync(),
  });
  const peer: TimedCase = {
    label: 'tfjs',
    record: (reps) => { for (let r = 0; r < reps; r++) tfMatMul().dispose(); },
    finish: () => tf.finish(),
  };
  const extra = ctx.variants
    ? Object.values(MATMUL_VARIANTS).filter((v) => v !== selected && v.applicable(M, N, K, o))
    : [];

  try {
    await checkAgreement(ctx, name, selected, { A, B, C, M, N, K, o }, tfMatMul);
    ctx.log(`${name}: timing ${[selected, ...extra].map((v) => v.name).join(', ')} and tfjs ...`);
    const ms = await timeCases([ours(selected), peer, ...extra.map(ours)], ctx.samples);
    const peerRate = gflop / (ms[1]! / 1e3);
    const row = (label: string, t: number): BenchRow => {
      const rate = gflop / (t / 1e3);
      return { name: label, ours: round(rate), peer: round(peerRate), unit: 'GFLOP/s', ratio: round(rate / peerRate), target: '>= 2' };
    };
    const result = [row(name, ms[0]!)];
    extra.forEach((v, i) => result.push(row(`${name} [${v.name}]`, ms[i + 2]!)));
    ctx.log(`${name}: ours (${selected.name}) ${result[0]!.ours} GFLOP/s, tfjs ${result[0]!.peer} GFLOP/s`);
    return result;
  } finally {
    gpu.release(A, B, C);
    tA.dispose();
    tB.dispose();
  }
}

/** Both libraries must compute the same product before their speeds mean anything. */
async function checkAgreement(
  ctx: BenchContext, name: string, v: MatmulVariant,
  p: { A: Tensor; B: Tensor; C: Tensor; M: number; N: number; K: number; o: MatmulOptions },
  tfMatMul: () => TfTensor,
): Promise<void> {
  matmulWith(v, ctx.gpu, p.A, p.B, p.C, p.M, p.N, p.K, p.o);
  const ours = await ctx.gpu.read(p.C);
  const t = tfMatMul();
  const theirs = (await t.data()) as Float32Array;
  t.dispose();
  let scale = 0, worst = 0;
  for (let i = 0; i < theirs.length; i++) scale = Math.max(scale, Math.abs(theirs[i]!));
  for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
  // f32 matmul: atol 1e-4, rtol 1e-3.
  if (ours.length !== theirs.length || !(worst <= ATOL + RTOL * scale)) {
    throw new Error(`${name}: ours (${v.name}) and tfjs disagree by ${worst} (largest |value| ${scale})`);
  }
}

/** (rows, cols) row-major → (cols, rows). */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
  return out;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
