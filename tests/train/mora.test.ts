import { describe, expect, it } from 'vitest';
import { mergeAdapters } from '../../src/adapters/merge.ts';
import { attachMoraTensors, moraConfigOf, readMoraTensors } from '../../src/adapters/mora-io.ts';
import { MoraAdapter } from '../../src/adapters/mora.ts';
import { exportHfModel } from '../../src/io/export-hf.ts';
import { loadHfModel } from '../../src/io/hf-model.ts';
import { metaToHfRows, parseLlama2c } from '../../src/io/llama2c.ts';
import { readMoraAdapter, writeMoraAdapter } from '../../src/io/mora-file.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { LINEAR_MODULES, linearName, moduleName, type LlamaWeights } from '../../src/schema/tensors.ts';
import { moraBackwardRef, moraDeltaRef } from '../../src/reference/mora.ts';
import { moraGeometry, moraRank, type MoraType } from '../../src/schema/mora.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../src/schema/train-config.ts';
import { prepareData } from '../../src/train/data.ts';
import { BatchIterator, orderedBatches } from '../../src/train/packing.ts';
import { Trainer } from '../../src/train/trainer.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { rank90 } from '../../src/linalg/spectra.ts';
import { svdRef } from '../../src/linalg/reference-svd.ts';
import { trainedAdapterGradients } from '../helpers/adapter-gradients.ts';
import { GOLDEN_TEXT, readFixture, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';
import { closeness, expectClose, randn, testGpu, relMax } from '../helpers/gpu.ts';

const storiesBytes = readFixture(STORIES_BIN);
const weights = parseLlama2c(storiesBytes, 'stories260K.bin');
const tokenizer = Llama2cTokenizer.fromBytes(readFixture(TOK512_BIN), 'tok512.bin');
const B = 2, T = 8;
const inputs = Uint32Array.from([1, 403, 407, 261, 378, 432, 383, 286, 1, 259, 300, 301, 302, 303, 304, 305]);
const targets = Int32Array.from([403, 407, 261, 378, 432, 383, 286, -1, 259, 300, 301, 302, 303, 304, 305, 306]);
const ALL = [...LINEAR_MODULES];

function config(o: Partial<TrainConfig>): TrainConfig {
  return { ...DEFAULT_TRAIN_CONFIG, method: 'mora', batch: B, seq: T, ...o };
}

/** Numerical rank (σ > 1e-5·σ₁: above the f32 noise of ΔW) and the 90%-energy rank, by the float64 reference SVD. */
async function ranks(gpu: Gpu, delta: Tensor, out: number, inF: number): Promise<{ numerical: number; energy90: number }> {
  const { S } = svdRef(await gpu.read(delta), out, inF);
  return { numerical: S.filter((s) => s > 1e-5 * S[0]!).length, energy90: rank90(S) };
}

describe('MoRA parameter count', () => {
  it('r̂² equals LoRA’s (in + out)·r within the rounding of r̂ (stories260K and LLaMA-2-7B shapes)', () => {
    const lines: string[] = [];
    const shapes: [string, number, number][] = [
      ['260K q/o 64×64', 64, 64], ['260K k/v 32×64', 32, 64], ['260K gate/up 172×64', 172, 64], ['260K down 64×172', 64, 172],
      ['7B q 4096×4096', 4096, 4096], ['7B gate 11008×4096', 11008, 4096], ['7B down 4096×11008', 4096, 11008],
    ];
    for (const [what, out, inF] of shapes) {
      for (const r of [4, 8, 64]) {
        const N = (in_: number) => (in_ + out) * r;
        const lora = N(inF);
        for (const type of [1, 6] as MoraType[]) {
          const rHat = moraRank(inF, out, r, type);
          // round(√N) is within 0.5 of √N; rounding down to even (type 6) within 1.5.
          const bound = type === 1 ? Math.sqrt(lora) + 0.25 : 3 * Math.sqrt(lora) + 2.25;
          expect(Math.abs(rHat * rHat - lora), `${what} r=${r} type ${type}`).toBeLessThanOrEqual(bound);
          if (r === 8) lines.push(`${what} r=8 type ${type}: r̂=${rHat}, r̂²=${rHat * rHat} vs LoRA ${lora} (${(((rHat * rHat) / lora - 1) * 100).toFixed(2)}%)`);
        }
      }
    }
    expect(moraRank(4096, 11008, 8, 1)).toBe(348); // METHODS.md: gate_proj of LLaMA-2 at r = 8
    console.log(lines.join('\n'));
  });
});

describe('MoRA training on stories260K', () => {
  for (const moraType of [1, 6] as const) {
    it(`type ${moraType}: a fresh adapter leaves the logits unchanged; dM matches the chain rule on the float64 reference`, async () => {
      const gpu = await testGpu();
      const model = LlamaModel.upload(gpu, weights);
      const probe = [...inputs];
      const base = await model.logits(probe);
      const trainer = Trainer.create(model, config({ rank: 4, moraType, targets: ['q', 'k', 'v', 'down'], lr: 1e-2 }));
      expect(closeness(await model.logits(probe), base, 0, 0).maxAbs).toBe(0); // M = 0: identical
      // A few steps so M ≠ 0, then one pass's dM against the reference gradient at W + ΔW.
      const ref = await trainedAdapterGradients(gpu, model, trainer, inputs, targets, B, T);
      const Ms = await readMoraTensors(model);
      let worst = 0;
      for (const [name, adapter] of model.adapters) {
        const a = adapter as MoraAdapter;
        const g = a.geometry;
        // ΔW = forward map of the identity, so dL/dM = the backward of that map with dy = Gᵀ:
        // L depends on M only through W_eff = W + ΔW(M), and ∂L/∂W_eff = G (out, in).
        const G = ref.grads.get(`${name}.weight`)!;
        const Gt = new Float64Array(g.inF * g.out);
        for (let j = 0; j < g.out; j++) for (let q = 0; q < g.inF; q++) Gt[q * g.out + j] = G[j * g.inF + q]!;
        const eye = new Float64Array(g.inF * g.inF);
        for (let q = 0; q < g.inF; q++) eye[q * g.inF + q] = 1;
        const dM = moraBackwardRef(eye, Ms.get(name)!.data, Gt, g.inF, g).dM;
        worst = Math.max(worst, relMax(await gpu.read(a.params[0]!.grad), dM));
      }
      console.log(`type ${moraType}: worst dM error ${worst.toExponential(2)} of max |dM|`);
      expect(worst).toBeLessThan(1e-3); // f32 through 5 layers, as the LoRA check
      trainer.dispose();
      model.dispose();
    });
  }

  it('both types lower the eval loss; rank(ΔW) exceeds r; merged logits equal the adapter model; the adapter file round-trips', async () => {
    const gpu = await testGpu();
    const text = Array.from({ length: 6 }, () => GOLDEN_TEXT.replace(/Lily/g, 'Zorbo')).join('\n\n');
    const data = prepareData('zorbo.txt', text, tokenizer, { seqLen: 32, evalFraction: 0.2, seed: 1 });
    const r = 4;
    const report: string[] = [];
    for (const method of ['mora-1', 'mora-6'] as const) {
      const model = LlamaModel.upload(gpu, weights);
      const c = config({
        moraType: method === 'mora-1' ? 1 : 6,
        batch: 4, seq: 32, steps: 6, lr: 1e-2, rank: r, alpha: 2 * r, targets: ALL, seed: 5,
      });
      const trainer = Trainer.create(model, c);
      const evalBatches = [...orderedBatches(data.eval, c.batch, tokenizer.eosId)];
      const before = await trainer.evaluate(evalBatches);
      const it = new BatchIterator(data.train, c.batch, c.seed);
      for (let s = 0; s < c.steps; s++) trainer.recordStep([it.next()]);
      const losses = (await trainer.readMetrics()).map((m) => m.loss);
      const after = await trainer.evaluate(evalBatches);
      report.push(`${method}: ${trainer.trainableCount} trainable; eval loss ${before.toFixed(4)} → ${after.toFixed(4)}; train ${losses[0]!.toFixed(4)} → ${losses.at(-1)!.toFixed(4)}`);
      expect(after).toBeLessThan(before - 0.1);

      // Numerical rank of every module's dense ΔW.
      const rankLines: string[] = [];
      let minRank = Infinity;
      for (const m of ALL) {
        let numerical = 0, energy90 = 0;
        for (let l = 0; l < model.config.nLayers; l++) {
          const W = model.param(linearName(l, m));
          const [out, inF] = W.shape as [number, number];
          const delta = model.adapters.get(moduleName(l, m))!.deltaWeight(gpu, W);
          const rk = await ranks(gpu, delta, out, inF);
          gpu.release(delta);
          numerical += rk.numerical / model.config.nLayers;
          energy90 += rk.energy90 / model.config.nLayers;
          minRank = Math.min(minRank, rk.numerical);
        }
        const a = model.adapters.get(moduleName(0, m)) as MoraAdapter;
        const [out, inF] = model.param(linearName(0, m)).shape;
        rankLines.push(`${m} ${out}×${inF} r̂=${a.rHat}: rank ${numerical.toFixed(1)}, 90%-energy ${energy90.toFixed(1)}`);
      }
      report.push(`  ΔW (mean over layers, σ > 1e-5·σ₁): ${rankLines.join('; ')}`);
      expect(minRank).toBeGreaterThan(r);

      // Merged model = adapter model.
      const probe = [...data.eval[0]!.inputs];
      const withAdapter = await model.logits(probe);
      const tensors = await readMoraTensors(model);
      const files = writeMoraAdapter(moraConfigOf(model, 'stories260K'), tensors, model.config);
      const back = readMoraAdapter([...files].map(([name, bytes]) => ({ name, bytes })), model.config);
      expect(back.config).toEqual({ r, moraType: c.moraType, targetModules: ALL, baseModelName: 'stories260K' });
      const fresh = LlamaModel.upload(gpu, weights);
      attachMoraTensors(fresh, back.config, back.tensors);
      expect(closeness(await fresh.logits(probe), withAdapter, 0, 0).maxAbs).toBe(0); // file round trip: exact
      fresh.dispose();
      mergeAdapters(model);
      const rel = relMax(await model.logits(probe), withAdapter);
      report.push(`  merged vs adapter logits: max |diff| = ${rel.toExponential(2)} of max |logit|`);
      expect(rel).toBeLessThanOrEqual(1e-5);
      trainer.dispose();
      model.dispose();
    }
    console.log(report.join('\n'));
  });
});

describe('MoRA acts on Hugging Face row order', () => {
  it('q_proj/k_proj of stories260K from llama2.c are the HF export’s; MoRA on them merges to W_hf + ΔW, not to the Meta-order result', async () => {
    const gpu = await testGpu();
    const c = weights.config;
    // The raw llama2.c wq of layer 0 (Meta order: RoPE on adjacent pairs): after the 7-int header,
    // the embedding (vocab, dim) and rms_att (L, dim).
    const floats = new Float32Array(storiesBytes.slice(28).buffer);
    const wqOffset = c.vocabSize * c.dim + c.nLayers * c.dim;
    const wqMeta = floats.slice(wqOffset, wqOffset + c.dim * c.dim);
    const hfFiles = exportHfModel(weights);
    const hf: LlamaWeights = loadHfModel(new TextDecoder().decode(hfFiles.get('config.json')!), hfFiles.get('model.safetensors')!);
    const qName = linearName(0, 'q');
    const wqHf = hf.tensors.get(qName)!.data;
    expect(wqHf).toEqual(weights.tensors.get(qName)!.data); // the engine holds the HF rows
    expect(wqHf).toEqual(metaToHfRows(wqMeta, c.nHeads, c.dim, c.dim));
    expect(relMax(wqHf, wqMeta)).toBeGreaterThan(0.1); // ... which are not the llama2.c rows

    for (const type of [1, 6] as const) {
      const fromLlama2c = LlamaModel.upload(gpu, weights);
      const fromHf = LlamaModel.upload(gpu, hf);
      const rHat = moraRank(c.dim, c.dim, 4, type);
      const kv = hf.tensors.get(linearName(0, 'k'))!.shape[0]!;
      const rHatK = moraRank(c.dim, kv, 4, type);
      const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
      for (let l = 0; l < c.nLayers; l++) {
        tensors.set(moduleName(l, 'q'), { shape: [rHat, rHat], data: randn(rHat * rHat, 100 + l, 0.05) });
        tensors.set(moduleName(l, 'k'), { shape: [rHatK, rHatK], data: randn(rHatK * rHatK, 200 + l, 0.05) });
      }
      const cfg = { r: 4, moraType: type, targetModules: ['q', 'k'] as ('q' | 'k')[], baseModelName: 'stories260K' };
      attachMoraTensors(fromLlama2c, cfg, tensors);
      attachMoraTensors(fromHf, cfg, tensors);
      const probe = [...inputs];
      expect(closeness(await fromLlama2c.logits(probe), await fromHf.logits(probe), 0, 0).maxAbs).toBe(0);

      // Merged q_proj = W_hf + ΔW(M) as peft-mora's merge on the HF checkpoint computes it ...
      mergeAdapters(fromLlama2c);
      const merged = await gpu.read(fromLlama2c.param(qName));
      const dW = moraDeltaRef(tensors.get(moduleName(0, 'q'))!.data, moraGeometry(c.dim, c.dim, rHat, type));
      const expected = Float64Array.from(wqHf, (w, i) => w + dW[i]!);
      expectClose(merged, expected, 1e-6, 1e-5, `type ${type} merged q_proj`);
      // ... and not MoRA applied in Meta order then permuted, which is a different update.
      const metaThenPermute = metaToHfRows(Float32Array.from(wqMeta, (w, i) => w + dW[i]!), c.nHeads, c.dim, c.dim);
      const deltaMeta = Float64Array.from(metaThenPermute, (w, i) => w - wqHf[i]!);
      expect(relMax(deltaMeta, dW)).toBeGreaterThan(0.5);
      fromLlama2c.dispose();
      fromHf.dispose();
    }
  });
});
