/** Test harness: one Node WebGPU device per test file, seeded random data, and closeness checks. */
import { acquireNodeDevice } from '../../src/gpu/node-device.ts';
import { Gpu } from '../../src/gpu/gpu.ts';

let shared: Promise<Gpu> | null = null;

/** The device for this test file (Dawn on SwiftShader here). Fails loudly when there is none. */
export function testGpu(): Promise<Gpu> {
  shared ??= acquireNodeDevice().then((d) => new Gpu(d));
  return shared;
}

/** Deterministic uniform(-scale, scale) values (mulberry32). */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = (u * 2 - 1) * scale;
  }
  return out;
}

/** Largest violation of |a - b| <= atol + rtol·|b|, as a ratio (≤ 1 passes), with its index. */
export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number) {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs expected ${expected.length}`);
  let worst = 0;
  let at = -1;
  let maxAbs = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= Number.MAX_VALUE)) return { ratio: Infinity, at: i, maxAbs: Infinity };
    maxAbs = Math.max(maxAbs, d);
    const r = d / (atol + rtol * Math.abs(expected[i]));
    if (r > worst) {
      worst = r;
      at = i;
    }
  }
  return { ratio: worst, at, maxAbs };
}

/** Throw with the worst element unless every |a - b| <= atol + rtol·|b|. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what = '') {
  const c = closeness(actual, expected, atol, rtol);
  if (!(c.ratio <= 1)) {
    throw new Error(
      `${what}: element ${c.at} is ${actual[c.at]}, expected ${expected[c.at]} (atol ${atol}, rtol ${rtol}, max |diff| ${c.maxAbs})`,
    );
  }
}

/** max |actual − expected| as a fraction of max |expected| (a whole-tensor relative error). */
export function relMax(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  return closeness(actual, expected, 1, 0).maxAbs / Math.max(scale, 1e-30);
}
