/**
 * Host memory while the CLI's path (readModelPath → loadModel) streams the full 30-layer SmolLM2-135M
 * shape (a 270 MB BF16 file) onto the GPU, and reads one weight again (W₀ of a full fine-tune): JS
 * ArrayBuffers (process.memoryUsage().arrayBuffers) stay at most 2 × the largest tensor + 64 MiB,
 * sampled before, after every tensor and every 5 ms in between.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, expect, it } from 'vitest';
import { readModelPath } from '../../src/io/fs-node.ts';
import { largestStoredBytes } from '../../src/io/weight-source.ts';
import { llama2cConfig, writeLlama2c } from '../../src/io/llama2c.ts';
import { expectedTensors, linearName } from '../../src/schema/tensors.ts';
import { loadModel } from '../../src/model/load-checkpoint.ts';
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
  gc();
  const largest = largestStoredBytes((await readModelPath(dir)).base); // 49152 × 576 BF16: the embedding
  gc();
  const limit = 2 * largest + 64 * 2 ** 20;
  const samples: number[] = [process.memoryUsage().arrayBuffers];
  const sample = () => samples.push(process.memoryUsage().arrayBuffers);
  const timer = setInterval(sample, 5);
  const t0 = performance.now();
  const opened = await readModelPath(dir);
  try {
    const { model } = await loadModel(gpu, opened.base, { onProgress: sample });
    const ms = performance.now() - t0;
    const w0 = await opened.base.read(linearName(29, 'down')); // read again from the file, as a full fine-tune's spectra do
    sample();
    const peak = Math.max(...samples);
    console.log(
      `${written.dataBytes} bytes in ${ms.toFixed(0)} ms; ArrayBuffers peak ${(peak / 2 ** 20).toFixed(1)} MiB ` +
        `(${samples.length} samples; largest tensor ${(largest / 2 ** 20).toFixed(1)} MiB, limit ${(limit / 2 ** 20).toFixed(1)} MiB)`,
    );
    expect(samples.length).toBeGreaterThan(opened.base.entries.length);
    expect(peak).toBeLessThanOrEqual(limit);
    expect(model.parameterCount).toBe(134_515_008);
    expect(w0.shape).toEqual([576, 1536]);
    model.dispose();
  } finally {
    clearInterval(timer);
    await opened.close();
  }
});

it('streams a 282 MB llama2.c checkpoint (f32) the same way: ArrayBuffers ≤ 2 × largest tensor + 64 MiB', async () => {
  // stories110M's widths with 3 layers: 768 wide, FFN 2048, 12 heads, vocab 32000 (untied: embedding and classifier).
  const config = { ...llama2cConfig({ dim: 768, hiddenDim: 2048, nLayers: 3, nHeads: 12, nKvHeads: 12, vocabSize: -32000, seqLen: 256 }) };
  const file = path.join(dir, 'stories-wide.bin');
  await writeLlama2cFile(file, config);
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const gpu = await testGpu();
  const largest = 4 * 32000 * 768;
  const limit = 2 * largest + 64 * 2 ** 20;
  const samples: number[] = [process.memoryUsage().arrayBuffers];
  const sample = () => samples.push(process.memoryUsage().arrayBuffers);
  const timer = setInterval(sample, 5);
  const opened = await readModelPath(file);
  try {
    const { model } = await loadModel(gpu, opened.base, { onProgress: sample });
    const peak = Math.max(...samples);
    console.log(`llama2.c ${(await stat(file)).size} bytes: ArrayBuffers ${(samples[0]! / 2 ** 20).toFixed(1)} MiB before, peak ${(peak / 2 ** 20).toFixed(1)} MiB, growth ${((peak - samples[0]!) / 2 ** 20).toFixed(1)} MiB (largest tensor ${(largest / 2 ** 20).toFixed(1)} MiB, limit ${(limit / 2 ** 20).toFixed(1)} MiB)`);
    expect(peak).toBeLessThanOrEqual(limit);
    expect(model.config.tiedEmbeddings).toBe(false);
    model.dispose();
  } finally {
    clearInterval(timer);
    await opened.close();
  }
});

/** A llama2.c checkpoint of `config` with constant tensors, written to `file` (its bytes dropped when this returns). */
async function writeLlama2cFile(file: string, config: ReturnType<typeof llama2cConfig>): Promise<void> {
  const tensors = new Map([...expectedTensors(config)].map(([name, shape], k) => [name, { shape, data: new Float32Array(shape.reduce((a, d) => a * d, 1)).fill(0.01 * (k + 1)) }]));
  await writeFile(file, writeLlama2c({ config, tensors }));
}
