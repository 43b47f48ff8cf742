import { describe, expect, it } from 'vitest';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';
import { expectedTensors } from '../../src/schema/tensors.ts';
import { formatCount, llamaWeightCount } from '../../src/io/weight-count.ts';

const base: LlamaConfig = {
  dim: 16, hiddenDim: 24, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 11, maxSeqLen: 9,
  normEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false, bosId: 1, eosId: 2,
};

describe('llamaWeightCount', () => {
  it('equals the sum over expectedTensors for tied, untied, GQA and MHA configs', () => {
    const configs: LlamaConfig[] = [
      base, { ...base, tiedEmbeddings: true }, { ...base, nKvHeads: 4, nLayers: 5 },
      { ...base, dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 512, tiedEmbeddings: true },
    ];
    for (const c of configs) {
      const sum = [...expectedTensors(c).values()].reduce((s, shape) => s + shape.reduce((a, d) => a * d, 1), 0);
      expect(llamaWeightCount(c)).toBe(sum);
    }
    expect(llamaWeightCount(configs[3]!)).toBe(260032); // stories260K
  });

  it('is a float for absurd configs: no loop over 1e308 layers', () => {
    expect(llamaWeightCount({ ...base, nLayers: 2 ** 24 })).toBe(11 * 16 * 2 + 16 + 2 ** 24 * (32 + 512 + 256 + 1152));
    expect(llamaWeightCount({ ...base, nLayers: 1e308 })).toBe(Infinity);
  });
});

describe('formatCount', () => {
  it('prints exact integers below 2^53, 4 significant digits above, and a bound past the largest double', () => {
    expect(formatCount(1056540)).toBe('1056540');
    expect(formatCount(2 ** 53 - 1)).toBe('9007199254740991');
    expect(formatCount(6.918e19)).toBe('6.918e+19');
    expect(formatCount(Infinity)).toBe('more than 1.8e+308');
  });
});
