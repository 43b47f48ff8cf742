import { readFileSync } from 'node:fs';
import { acquireNodeDevice } from '../src/gpu/node-device.ts';
import { Gpu } from '../src/gpu/gpu.ts';
import { defineKernel } from '../src/gpu/kernel.ts';

const gpu = new Gpu(await acquireNodeDevice());
const [file, entry = 'main', tm = '4', tn = '4', lay = 'NT'] = process.argv.slice(2);
const TM = +tm, TN = +tn;
const k = defineKernel({ name: 'mm', code: readFileSync(file, 'utf8'), entryPoint: entry,
  uniforms: { M: 'u32', N: 'u32', K: 'u32', strideA: 'u32', strideB: 'u32', strideC: 'u32', alpha: 'f32' }, inputs: ['A', 'B'], outputs: ['C'] });
const shapes = [[128, 288, 288], [128, 768, 288], [128, 288, 768], [256, 512, 64], [512, 512, 512]];
const wg = +(process.env.WG ?? 8);
for (const [M, N, K] of shapes) {
  const A = gpu.upload('A', [M * K], new Float32Array(M * K).fill(0.5));
  const B = gpu.upload('B', [N * K], new Float32Array(N * K).fill(0.25));
  const C = gpu.tensor('C', [M * N]);
  const run = () => gpu.dispatch(k, { uniforms: { M, N, K, strideA: M * K, strideB: N * K, strideC: M * N, alpha: 1 }, bindings: { A, B, C },
    workgroups: [Math.ceil(N / (TN * wg)), Math.ceil(M / (TM * wg)), 1], constants: { A_KM: lay[0] === 'T' ? 1 : 0, B_KN: lay[1] === 'N' ? 1 : 0, ACCUMULATE: 0 } });
  run(); await gpu.sync();
  const got = await gpu.read(C);
  const bad = got.findIndex((v) => Math.abs(v - 0.125 * K) > 1e-3);
  const times: number[] = [];
  const reps = Math.max(1, Math.round(2e9 / (2 * M * N * K) / 4));
  for (let s = 0; s < 5; s++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) run();
    await gpu.sync();
    times.push((performance.now() - t0) / reps);
  }
  times.sort((a, b) => a - b);
  const ms = times[2];
  console.log(`${M}x${N}x${K} ${lay} ${ms.toFixed(2)} ms ${(2 * M * N * K / ms / 1e6).toFixed(3)} GFLOP/s ${bad >= 0 ? 'WRONG at ' + bad + ' ' + got[bad] : ''}`);
  gpu.release(A, B, C);
}
process.exit(0);
