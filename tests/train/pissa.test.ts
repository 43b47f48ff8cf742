import { describe, expect, it } from 'vitest';
import { attachLoraTensors, readLoraTensors } from '../../src/adapters/lora-io.ts';
import { LoraAdapter } from '../../src/adapters/lora.ts';
import { mergeAdapters } from '../../src/adapters/merge.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { convertPissaToLora, readPeftAdapter, writePeftAdapter } from '../../src/io/peft.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { frobenius, matmul64, svdRef } from '../../src/linalg/reference-svd.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { LINEAR_MODULES } from '../../src/schema/tensors.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../src/schema/train-config.ts';
import { prepareData } from '../../src/train/data.ts';
import { BatchIterator, orderedBatches } from '../../src/train/packing.ts';
import { Trainer } from '../../src/train/trainer.ts';
import { GOLDEN_TEXT, readFixture, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';
import { closeness, testGpu, relMax } from '../helpers/gpu.ts';

const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
const tokenizer = Llama2cTokenizer.fromBytes(readFixture(TOK512_BIN), 'tok512.bin');
const ALL = [...LINEAR_MODULES];

/** ‖a − b‖_F / ‖ref‖_F. */
function relFro(a: ArrayLike<number>, b: ArrayLike<number>, ref: ArrayLike<number>): number {
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = a[i]! - b[i]!;
  return frobenius(d) / frobenius(ref);
}

describe.each([
  ['pissa', 'top'],
  ['milora', 'bottom'],
] as const)('%s on stories260K', (method, side) => {
  it('step 0 equals the base model; s·B·A is the SVD part; W_res + s·B·A = W; training lowers eval loss; the converted export applies to the ORIGINAL base', async () => {
    const gpu = await testGpu();
    const text = Array.from({ length: 6 }, () => GOLDEN_TEXT.replace(/Lily/g, 'Zorbo')).join('\n\n');
    const data = prepareData('zorbo.txt', text, tokenizer, { seqLen: 32, evalFraction: 0.2, seed: 1 });
    const c: TrainConfig = {
      ...DEFAULT_TRAIN_CONFIG, method, batch: 4, seq: 32, steps: 6, lr: 1e-2, rank: 4, alpha: 8, targets: ALL, seed: 3,
    };
    const model = LlamaModel.upload(gpu, weights);
    const probe = [...data.eval[0]!.inputs];
    const base = await model.logits(probe);
    const trainer = await Trainer.init(model, c);
    expect(trainer.spectral!.reports.every((r) => r.converged)).toBe(true);
    const step0 = relMax(await model.logits(probe), base);

    // Per module, against the float64 Jacobi SVD of the original W.
    const r = c.rank;
    let worstPart = 0, worstRecon = 0;
    for (const [name, adapter] of model.adapters) {
      const a = adapter as LoraAdapter;
      expect(a).toBeInstanceOf(LoraAdapter);
      const W = weights.tensors.get(`${name}.weight`)!;
      const [out, inF] = W.shape as [number, number];
      const Wres = await gpu.read(model.param(`${name}.weight`));
      const A = await gpu.read(a.A), Bm = await gpu.read(a.B);
      const sBA = matmul64(Bm, A, out, inF, r);
      for (let i = 0; i < sBA.length; i++) sBA[i] = sBA[i]! * a.scale;
      const ref = svdRef(W.data, out, inF);
      const k = ref.k, first = side === 'top' ? 0 : k - r;
      const US = new Float64Array(out * r), Vr = new Float64Array(inF * r);
      for (let j = 0; j < r; j++) {
        for (let o = 0; o < out; o++) US[o * r + j] = ref.U[o * k + first + j]! * ref.S[first + j]!;
        for (let i = 0; i < inF; i++) Vr[i * r + j] = ref.V[i * k + first + j]!;
      }
      const part = matmul64(US, Vr, out, inF, r, false, true); // U_r Σ_r V_rᵀ
      worstPart = Math.max(worstPart, relFro(sBA, part, W.data));
      const recon = Float64Array.from(Wres, (w, i) => w + sBA[i]!);
      worstRecon = Math.max(worstRecon, relFro(recon, W.data, W.data));
      // The host copies A₀, B₀ are what the GPU adapter holds.
      expect(closeness(trainer.spectral!.initial.get(name)!.A.data, A, 0, 0).maxAbs).toBe(0);
    }

    const evalBatches = [...orderedBatches(data.eval, c.batch, tokenizer.eosId)];
    const before = await trainer.evaluate(evalBatches);
    const it = new BatchIterator(data.train, c.batch, c.seed);
    for (let s = 0; s < c.steps; s++) trainer.recordStep([it.next()]);
    await trainer.readMetrics();
    const after = await trainer.evaluate(evalBatches);
    const trained = await model.logits(probe);

    // Export: [A; A₀], [B, −B₀], r → 2r, α → 2α, through the peft files, onto the ORIGINAL weights.
    const conv = convertPissaToLora(
      { r, loraAlpha: c.alpha, loraDropout: 0, targetModules: ALL, useRslora: false, useDora: false, baseModelName: 'stories260K' },
      await readLoraTensors(model), trainer.spectral!.initial,
    );
    const files = writePeftAdapter(conv.config, conv.tensors, model.config);
    const cfg = JSON.parse(new TextDecoder().decode(files.get('adapter_config.json')!));
    expect(cfg).toMatchObject({ r: 2 * r, lora_alpha: 2 * c.alpha, init_lora_weights: true });
    const back = readPeftAdapter([...files].map(([n, bytes]) => ({ name: n, bytes })), model.config);
    const original = LlamaModel.upload(gpu, weights);
    attachLoraTensors(original, back.config, back.tensors);
    const exported = relMax(await original.logits(probe), trained);
    original.dispose();
    mergeAdapters(model); // W_res + s·B·A = W + ΔW
    const merged = relMax(await model.logits(probe), trained);

    console.log(
      `${method}: step-0 vs base ${step0.toExponential(2)} (max|diff|/max|logit|); ‖sBA − U_rΣ_rV_rᵀ‖/‖W‖ ≤ ${worstPart.toExponential(2)}; ` +
        `‖W_res + sBA − W‖/‖W‖ ≤ ${worstRecon.toExponential(2)}; eval loss ${before.toFixed(4)} → ${after.toFixed(4)}; ` +
        `converted adapter on original base vs trained ${exported.toExponential(2)}; merged vs trained ${merged.toExponential(2)}`,
    );
    expect(step0).toBeLessThanOrEqual(1e-5);
    expect(worstPart).toBeLessThanOrEqual(1e-4);
    expect(worstRecon).toBeLessThanOrEqual(1e-6);
    expect(after).toBeLessThan(before - 0.05);
    expect(exported).toBeLessThanOrEqual(1e-5);
    expect(merged).toBeLessThanOrEqual(1e-5);
    trainer.dispose();
    model.dispose();
  });
});

describe('Trainer.create', () => {
  it('refuses pissa without the async init', async () => {
    const gpu = await testGpu();
    const model = LlamaModel.upload(gpu, weights);
    expect(() => Trainer.create(model, { ...DEFAULT_TRAIN_CONFIG, method: 'pissa', seq: 32 })).toThrow(/Trainer\.init/);
    model.dispose();
  });
});
