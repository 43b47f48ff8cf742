/**
 * Host memory while streaming the full 30-layer SmolLM2-135M shape (a 270 MB BF16 file) onto the GPU:
 * JS ArrayBuffers (process.memoryUsage().arrayBuffers) stay at most 2 × the largest tensor + 64 MiB,
 * sampled before, after every tensor and every 5 ms in between.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, expect, it } from 'vitest';
import { openFileSource } from '../../src/io/fs-node.ts';
import { openHfCheckpoint } from '../../src/io/hf-checkpoint.ts';
import { loadCheckpointModel } from '../../src/model/load-checkpoint.ts';
import { SMOLLM2_135M, writeSyntheticCheckpoint } from '../../scripts/synthetic-checkpoint.ts';
import { testGpu } from '../helpers/gpu.ts';

setFlagsFromString('--expose-gc');
/** A full collection, so buffers the file's generation dropped are not counted against the load. */
const gc = runInNewContext('gc') as () => void;

let dir = '';
afterAll(() => rm(dir, { recursive: true, force: true }));

it('streams a 270 MB SmolLM2-135M-shaped BF16 file with ArrayBuffers ≤ 2 × largest tensor + 64 MiB throughout', async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'subspace-stream-'));
  const written = await writeSyntheticCheckpoint(dir, SMOLLM2_135M, { seed: 9 });
  expect(written.dataBytes).toBeGreaterThan(268e6); // 134.5M parameters in BF16
  const gpu = await testGpu();
  const src = await openFileSource(written.files[0]!);
  const ck = await openHfCheckpoint({ name: 'config.json', text: await readFile(path.join(dir, 'config.json'), 'utf8') }, [src]);
  gc();
  const limit = 2 * ck.largestBytes + 64 * 2 ** 20;
  const samples: number[] = [process.memoryUsage().arrayBuffers];
  const sample = () => samples.push(process.memoryUsage().arrayBuffers);
  const timer = setInterval(sample, 5);
  const t0 = performance.now();
  try {
    const { model } = await loadCheckpointModel(gpu, ck, { onProgress: sample });
    const ms = performance.now() - t0;
    const peak = Math.max(...samples);
    console.log(
      `${written.dataBytes} bytes in ${ms.toFixed(0)} ms; ArrayBuffers peak ${(peak / 2 ** 20).toFixed(1)} MiB ` +
        `(${samples.length} samples; largest tensor ${(ck.largestBytes / 2 ** 20).toFixed(1)} MiB, limit ${(limit / 2 ** 20).toFixed(1)} MiB)`,
    );
    expect(samples.length).toBeGreaterThan(ck.tensors.length);
    expect(peak).toBeLessThanOrEqual(limit);
    expect(model.parameterCount).toBe(134_515_008);
    model.dispose();
  } finally {
    clearInterval(timer);
    await src.close();
  }
});
