/**
 * SVD times: our GPU full SVD (one-sided Jacobi, svdFull) and truncated SVD (randomized subspace
 * iteration, svdTopK with k = 16, p = 10, q = 2) next to the float64 plain-TS references of the same
 * algorithms (svdRef, svdTopKRef) in the same run. Rows are in ms with ratio = peer / ours: the
 * speed-up of the GPU over the float64 reference, higher is better.
 *
 * A full SVD of 576×1536 takes tens of seconds on SwiftShader and in the reference, so each case
 * runs once for warm-up on a small matrix (pipeline compiles) and then as many timed runs as fit
 * in ~10 s, at least one, at most --samples.
 */
import type { Gpu } from '../src/gpu/gpu.ts';
import type { Tensor } from '../src/gpu/tensor.ts';
import { svdRef, svdTopKRef } from '../src/linalg/reference-svd.ts';
import { svdFull, svdTopK } from '../src/linalg/svd.ts';
import { median, randomValues, type BenchContext, type BenchRow } from './harness.ts';

const SHAPES: [m: number, n: number, what: string][] = [
  [64, 172, 'stories260K w2'],
  [576, 576, 'dim 576 attention projection'],
  [576, 1536, 'dim 576 FFN down'],
];
const TOPK = { k: 16, oversample: 10, powerIters: 2, seed: 1 };
const BUDGET_MS = 10_000;

export async function svdBench(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  let warm = false;
  for (const [m, n, what] of SHAPES) {
    const full = `svd full ${m}x${n} (${what}) vs float64 TS Jacobi`;
    const top = `svd top-${TOPK.k} ${m}x${n} (p=${TOPK.oversample}, q=${TOPK.powerIters}) vs float64 TS`;
    if (!ctx.wanted(full) && !ctx.wanted(top)) continue;
    if (!warm) {
      await warmUp(ctx.gpu);
      warm = true;
    }
    const w = randomValues(m * n, m * 7919 + n);
    const W = ctx.gpu.upload('bench.svd.W', [m, n], w);
    try {
      if (ctx.wanted(full)) rows.push(await benchFull(ctx, full, W, w, m, n));
      if (ctx.wanted(top)) rows.push(await benchTopK(ctx, top, W, w, m, n));
    } finally {
      ctx.gpu.release(W);
    }
  }
  return rows;
}

async function benchFull(ctx: BenchContext, name: string, W: Tensor, w: Float32Array, m: number, n: number): Promise<BenchRow> {
  const { gpu } = ctx;
  ctx.log(`${name}: timing ...`);
  let S: Float32Array = new Float32Array(0), sweeps = 0;
  const ours = await timeAdaptive(ctx.samples, async () => {
    const r = await svdFull(gpu, W, m, n);
    gpu.release(r.U, r.V);
    if (!r.converged) throw new Error(`${name}: did not converge in ${r.sweeps} sweeps`);
    S = r.S;
    sweeps = r.sweeps;
  });
  let refS: Float64Array = new Float64Array(0), refSweeps = 0;
  const peer = await timeAdaptive(ctx.samples, async () => {
    const r = svdRef(w, m, n);
    refS = r.S;
    refSweeps = r.sweeps;
  });
  checkAgreement(name, S, refS);
  ctx.log(`${name}: ours ${ours.toFixed(0)} ms (${sweeps} sweeps), float64 ${peer.toFixed(0)} ms (${refSweeps} sweeps)`);
  return row(name, ours, peer, '> 1');
}

async function benchTopK(ctx: BenchContext, name: string, W: Tensor, w: Float32Array, m: number, n: number): Promise<BenchRow> {
  const { gpu } = ctx;
  ctx.log(`${name}: timing ...`);
  let S: Float32Array = new Float32Array(0);
  const ours = await timeAdaptive(ctx.samples, async () => {
    const r = await svdTopK(gpu, W, m, n, TOPK.k, TOPK);
    gpu.release(r.U, r.V);
    S = r.S;
  });
  let refS: Float64Array = new Float64Array(0);
  const peer = await timeAdaptive(ctx.samples, async () => {
    refS = svdTopKRef(w, m, n, TOPK.k, TOPK).S;
  });
  checkAgreement(name, S, refS);
  ctx.log(`${name}: ours ${ours.toFixed(1)} ms, float64 ${peer.toFixed(1)} ms`);
  return row(name, ours, peer, '> 1');
}

/** Compile every SVD pipeline on a small matrix so the timed runs do not pay for it. */
async function warmUp(gpu: Gpu): Promise<void> {
  for (const [m, n] of [[24, 40], [40, 24]] as const) {
    const W = gpu.upload('bench.svd.warm', [m, n], randomValues(m * n, 3));
    const a = await svdFull(gpu, W, m, n);
    const b = await svdTopK(gpu, W, m, n, 4, TOPK);
    gpu.release(W, a.U, a.V, b.U, b.V);
  }
}

/** Median ms of up to `samples` runs, as many as fit in BUDGET_MS after the first. */
async function timeAdaptive(samples: number, run: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  const t0 = performance.now();
  do {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  } while (times.length < samples && performance.now() - t0 + median(times) < BUDGET_MS);
  return median(times);
}

/** Ours and the reference must compute the same singular values before their speeds mean anything. */
function checkAgreement(name: string, ours: Float32Array, ref: Float64Array): void {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - ref[i]!));
  // The accuracy target of the issue: singular values within 1e-4·σ₁.
  if (ours.length !== ref.length || !(worst <= 1e-4 * ref[0]!)) {
    throw new Error(`${name}: GPU and float64 singular values differ by ${worst} (σ₁ = ${ref[0]})`);
  }
}

function row(name: string, ours: number, peer: number, target: string): BenchRow {
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return { name, ours: r3(ours), peer: r3(peer), unit: 'ms', ratio: r3(peer / ours), target };
}
