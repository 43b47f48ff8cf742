/** spectraRound with a focus module (the one on screen): computed first in every round, whatever the budget; the others take turns. */
import { describe, expect, it } from 'vitest';
import { LoraAdapter } from '../../src/adapters/lora.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { spectraRound } from '../../src/linalg/module-spectrum.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { Rng } from '../../src/model/sampling.ts';
import { linearName, moduleName } from '../../src/model/weights.ts';
import { readFixture, STORIES_BIN } from '../helpers/fixtures.ts';
import { testGpu } from '../helpers/gpu.ts';

const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');

describe('spectraRound focus', () => {
  it('puts the focus module first in every round, alone at budget 0; with time the others follow once each', async () => {
    const gpu = await testGpu();
    const model = LlamaModel.upload(gpu, weights);
    const rng = new Rng(5);
    for (const l of [0, 4]) {
      for (const m of ['q', 'v'] as const) {
        const [out, inF] = model.param(linearName(l, m)).shape as [number, number];
        model.adapters.set(moduleName(l, m), LoraAdapter.create(gpu, moduleName(l, m), out, inF, { rank: 2, alpha: 2, rslora: false, dropout: 0, init: 'kaiming' }, rng));
      }
    }
    const focus = moduleName(4, 'v');
    const state = { cursor: 0 };
    const rounds: string[][] = [];
    for (let round = 0; round < 4; round++) {
      // Budget 0: the focus module alone (a round goes past its first module only while within budget).
      const { spectra, pending } = await spectraRound(model, [0, 4], ['q', 'v'], state, 0, { focus });
      rounds.push(spectra.map((s) => s.name));
      expect(pending).toBe(4 - spectra.length);
    }
    expect(rounds.every((names) => names[0] === focus)).toBe(true);
    expect(rounds.map((names) => names.length)).toEqual([1, 1, 1, 1]);

    // With a budget the others follow the focus module, round-robin over them only (never the focus twice).
    const all = await spectraRound(model, [0, 4], ['q', 'v'], { cursor: 0 }, Infinity, { focus });
    expect(all.spectra.map((s) => s.name)).toEqual([focus, moduleName(0, 'q'), moduleName(0, 'v'), moduleName(4, 'q')]);
    expect(all.pending).toBe(0);

    // A focus the round does not cover (no adapter there) changes nothing.
    const other = await spectraRound(model, [0, 4], ['q', 'v'], { cursor: 0 }, 0, { focus: moduleName(1, 'k') });
    expect(other.spectra.map((s) => s.name)).toEqual([moduleName(0, 'q')]);
    model.dispose();
  });
});
