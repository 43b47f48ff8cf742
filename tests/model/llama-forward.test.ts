import { describe, expect, it } from 'vitest';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { llamaLogitsRef } from '../../src/reference/llama.ts';
import { GOLDEN_IDS_20, readFixture, STORIES_BIN } from '../helpers/fixtures.ts';
import { closeness, expectClose, testGpu } from '../helpers/gpu.ts';

describe('LLaMA forward on stories260K', () => {
  const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
  // 32 tokens: the golden greedy prefix and 12 more ids spread over the vocabulary.
  const ids = [...GOLDEN_IDS_20, 5, 77, 259, 300, 511, 2, 42, 403, 407, 261, 100, 499];

  it('GPU logits of a 32-token sequence match the float64 reference (atol 1e-4)', async () => {
    const gpu = await testGpu();
    const model = LlamaModel.upload(gpu, weights);
    const got = await model.logits(ids);
    const ref = llamaLogitsRef(weights, ids);
    const c = closeness(got, ref, 1e-4, 0);
    console.log(`max |GPU - float64| over ${got.length} logits: ${c.maxAbs.toExponential(2)}`);
    expectClose(got, ref, 1e-4, 0, 'logits'); // atol 1e-4 on logits of magnitude ~10
    model.dispose();
  });

  it('incremental decoding with the KV cache gives the same logits as the full sequence', async () => {
    const gpu = await testGpu();
    const model = LlamaModel.upload(gpu, weights);
    const full = await model.logits(ids.slice(0, 12));
    const V = weights.config.vocabSize;
    const baseline = gpu.pool.stats().liveBytes; // parameters and the RoPE table
    const cache = model.createCache(16);
    const prefill = await model.step(ids.slice(0, 5), 0, cache); // logits of token 4
    expectClose(prefill, full.subarray(4 * V, 5 * V), 1e-5, 1e-5, 'prefill logits');
    for (let t = 5; t < 12; t++) {
      const step = await model.step([ids[t]], t, cache);
      expectClose(step, full.subarray(t * V, (t + 1) * V), 1e-5, 1e-5, `logits at position ${t}`);
    }
    model.releaseCache(cache);
    expect(gpu.pool.stats().liveBytes).toBe(baseline); // every intermediate went back to the pool
    model.dispose();
  });
});
