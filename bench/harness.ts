/** Benchmark plumbing shared by every suite: result rows, the context suites receive, fair timing. */
import type { Gpu } from '../src/gpu/gpu.ts';
import type { TfPeer } from './tfjs.ts';

/** One line of the report; `ratio` = ours / peer, both in `unit` (higher is better). */
export interface BenchRow {
  name: string;
  ours: number;
  peer: number;
  unit: string;
  ratio: number;
  target: string;
}

export interface BenchContext {
  gpu: Gpu;
  /** @tensorflow/tfjs-backend-webgpu on the same adapter. */
  tf: TfPeer;
  /** Whether a row with this name should run (--filter). */
  wanted(name: string): boolean;
  /** Timed samples per case (after warm-up). */
  samples: number;
  /** Also report every applicable kernel variant, not only the one `matmul` selects. */
  variants: boolean;
  /** Progress, to stderr. */
  log(message: string): void;
}

/** A suite adds rows for one area (matmul, attention, a training step, ...). */
export type BenchSuite = (ctx: BenchContext) => Promise<BenchRow[]>;

/** One timed workload: `record` issues `reps` runs, `finish` waits until all of them have completed. */
export interface TimedCase {
  label: string;
  record(reps: number): void;
  finish(): Promise<void>;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Median milliseconds per run of each case. Cases are sampled in turn (a, b, a, b, ...) so a busy
 * machine slows them alike. Each sample runs enough repeats for ~`sampleMs` after two warm-up runs
 * (pipeline compiles, uploads), and is measured to completion.
 */
export async function timeCases(cases: readonly TimedCase[], samples: number, sampleMs = 60): Promise<number[]> {
  const once = async (c: TimedCase, reps: number) => {
    const t0 = performance.now();
    c.record(reps);
    await c.finish();
    return (performance.now() - t0) / reps;
  };
  const reps: number[] = [];
  for (const c of cases) {
    await once(c, 1);
    const estimate = await once(c, 1);
    reps.push(Math.max(1, Math.min(100, Math.round(sampleMs / Math.max(estimate, 1e-3)))));
  }
  const times = cases.map(() => [] as number[]);
  for (let s = 0; s < samples; s++) {
    for (let i = 0; i < cases.length; i++) times[i]!.push(await once(cases[i]!, reps[i]!));
  }
  return times.map(median);
}

/** Deterministic uniform(-1, 1) values. */
export function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}
