import { describe, expect, it } from 'vitest';
import { LoraAdapter } from '../../src/adapters/lora.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { svdRef } from '../../src/linalg/reference-svd.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { linearName, moduleName } from '../../src/schema/tensors.ts';
import { matmulRef } from '../../src/reference/ops.ts';
import { DEFAULT_TRAIN_CONFIG, validateTrainConfig } from '../../src/schema/train-config.ts';
import { Trainer } from '../../src/train/trainer.ts';
import { readFixture, STORIES_BIN } from '../helpers/fixtures.ts';
import { closeness, testGpu } from '../helpers/gpu.ts';

describe('PiSSA fast path (randomized top-r SVD)', () => {
  const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');

  it('keeps the step-0 logits and approximates the principal part of W', async () => {
    const gpu = await testGpu();
    const base = LlamaModel.upload(gpu, weights);
    const ids = [1, 403, 407, 261, 378, 432, 383, 286];
    const baseLogits = await base.logits(ids);
    base.dispose();
    const model = LlamaModel.upload(gpu, weights);
    const r = 4;
    const trainer = await Trainer.init(model, { ...DEFAULT_TRAIN_CONFIG, method: 'pissa', rank: r, alpha: r, targets: ['q'], pissaNiter: 6, seed: 1 });
    let scale = 0;
    for (let i = 0; i < baseLogits.length; i++) scale = Math.max(scale, Math.abs(baseLogits[i]!));
    const step0 = closeness(await model.logits(ids), baseLogits, 1, 0).maxAbs / scale;
    expect(step0).toBeLessThan(1e-5); // W_res + s·B·A = W whatever the SVD's accuracy
    // s·B·A vs the float64 top-r part U_r Σ_r V_rᵀ of W, relative to ‖W‖ (6 power iterations, oversampling 10).
    let worst = 0;
    for (let l = 0; l < model.config.nLayers; l++) {
      const W = weights.tensors.get(linearName(l, 'q'))!;
      const [out, inF] = W.shape as [number, number];
      const a = model.adapters.get(moduleName(l, 'q')) as LoraAdapter;
      const BA = matmulRef(await gpu.read(a.B), await gpu.read(a.A), out, inF, r, { bKN: true, alpha: a.scale });
      const ref = svdRef(W.data, out, inF);
      let err = 0, norm = 0;
      for (let o = 0; o < out; o++) {
        for (let i = 0; i < inF; i++) {
          let top = 0;
          for (let j = 0; j < r; j++) top += ref.U[o * ref.k + j]! * ref.S[j]! * ref.V[i * ref.k + j]!;
          err += (BA[o * inF + i]! - top) ** 2;
          norm += W.data[o * inF + i]! ** 2;
        }
      }
      worst = Math.max(worst, Math.sqrt(err / norm));
    }
    console.log(`step-0 logits ${step0.toExponential(2)} of max; ‖s·B·A − top-r‖/‖W‖ worst ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-3);
    trainer.dispose();
    model.dispose();
  });

  it('is refused for MiLoRA, which needs the smallest singular values', () => {
    expect(() => validateTrainConfig({ ...DEFAULT_TRAIN_CONFIG, method: 'milora', pissaNiter: 4 }, weights.config)).toThrow(/PiSSA only/);
  });
});
