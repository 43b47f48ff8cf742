import { describe, expect, it } from 'vitest';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import type { LlamaWeights } from '../../src/schema/tensors.ts';
import { llamaTrainRef } from '../../src/reference/llama-train.ts';
import { readFixture, STORIES_BIN } from '../helpers/fixtures.ts';

/** A smaller copy of stories260K (2 layers) so float64 finite differences stay fast. */
function twoLayers(w: LlamaWeights): LlamaWeights {
  const tensors = new Map([...w.tensors].filter(([n]) => !/layers\.([2-9])\./.test(n)));
  return { config: { ...w.config, nLayers: 2 }, tensors };
}

describe('float64 training reference', () => {
  const weights = twoLayers(parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin'));
  const B = 2, T = 6;
  const inputs = [1, 403, 407, 261, 378, 432, 1, 259, 300, 301, 302, 303];
  const targets = [403, 407, 261, 378, 432, 383, -1, 300, 301, 302, 303, 304];

  it('its analytic gradient matches central finite differences of its loss for every tensor', () => {
    const { loss, grads } = llamaTrainRef(weights, inputs, targets, B, T);
    expect(loss).toBeGreaterThan(0);
    // 3 entries of every tensor: the largest-gradient entry and two fixed ones.
    // float64, h = 1e-5: central differences are accurate to ~1e-9 here; tolerance |fd − g| ≤ 1e-6 + 1e-4·|g|.
    for (const [name, t] of weights.tensors) {
      const g = grads.get(name)!;
      expect(g, name).toBeDefined();
      let big = 0;
      for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[big])) big = i;
      for (const i of [big, 0, Math.floor(g.length / 2)]) {
        const orig = t.data[i];
        const h = 1e-5;
        // Weights are float32: step to the float32 values nearest orig ± h and divide by their exact gap.
        const lossAt = (val: number) => {
          const data = Float32Array.from(t.data);
          data[i] = val;
          const copy = new Map(weights.tensors);
          copy.set(name, { shape: t.shape, data });
          return llamaTrainRef({ config: weights.config, tensors: copy }, inputs, targets, B, T, false).loss;
        };
        const up = Math.fround(orig + h), down = Math.fround(orig - h);
        const fd = (lossAt(up) - lossAt(down)) / (up - down);
        expect(Math.abs(fd - g[i]), `${name}[${i}]: fd ${fd} vs analytic ${g[i]}`).toBeLessThanOrEqual(1e-6 + 1e-4 * Math.abs(g[i]));
      }
    }
  });
});
