import { describe, expect, it } from 'vitest';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { moduleSpectrum } from '../../src/spectra/module-spectrum.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { DEFAULT_TRAIN_CONFIG, type Method } from '../../src/schema/train-config.ts';
import { prepareData } from '../../src/train/data.ts';
import { BatchIterator } from '../../src/train/packing.ts';
import { Trainer } from '../../src/train/trainer.ts';
import { GOLDEN_TEXT, readFixture, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';
import { testGpu } from '../helpers/gpu.ts';

/**
 * The MiLoRA question on stories260K: after the same short run on the same data, where does each
 * method's update ΔW live — in W₀'s principal-r or minor-r singular subspace? (Overlaps are the mean
 * squared cosines of src/linalg/module-spectrum.ts, averaged over the left and right sides.)
 */
describe('LoRA vs PiSSA vs MiLoRA: where the update lives', () => {
  it('MiLoRA’s update overlaps the minor subspace more than PiSSA’s, and PiSSA’s the principal one more', async () => {
    const gpu = await testGpu();
    const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
    const tokenizer = Llama2cTokenizer.fromBytes(readFixture(TOK512_BIN), 'tok512.bin');
    const text = Array.from({ length: 6 }, () => GOLDEN_TEXT.replace(/Lily/g, 'Zorbo')).join('\n\n');
    const data = prepareData('zorbo.txt', text, tokenizer, { seqLen: 32, evalFraction: 0.2, seed: 1 });
    const modules = ['q', 'v'] as const;
    const result: Record<string, { principal: number; minor: number }> = {};
    for (const method of ['pissa', 'milora'] as Method[]) {
      const model = LlamaModel.upload(gpu, weights);
      const trainer = await Trainer.init(model, {
        ...DEFAULT_TRAIN_CONFIG, method, rank: 4, alpha: 4, targets: [...modules], lr: 5e-3, batch: 4, seq: 32, steps: 4, seed: 2,
      });
      const it = new BatchIterator(data.train, 4, 2);
      for (let s = 0; s < 4; s++) trainer.recordStep([it.next()]);
      await trainer.readMetrics();
      let principal = 0, minor = 0, n = 0;
      for (let l = 0; l < model.config.nLayers; l++) {
        for (const m of modules) {
          const rec = await moduleSpectrum(gpu, model, l, m, { merged: false, initial: trainer.spectral?.initial });
          principal += rec.overlap_principal!;
          minor += rec.overlap_minor!;
          n++;
        }
      }
      result[method] = { principal: principal / n, minor: minor / n };
      trainer.dispose();
      model.dispose();
    }
    const fmt = (m: string) => `${m}: principal ${result[m]!.principal.toFixed(3)}, minor ${result[m]!.minor.toFixed(3)}`;
    console.log(`mean overlaps of ΔW with W₀'s r = 4 subspaces over q, v of 5 layers — ${['pissa', 'milora'].map(fmt).join('; ')}`);
    expect(result.milora!.minor).toBeGreaterThan(result.pissa!.minor);
    expect(result.pissa!.principal).toBeGreaterThan(result.milora!.principal);
  });
});
