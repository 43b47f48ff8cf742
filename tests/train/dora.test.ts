import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { DoraAdapter } from '../../src/adapters/dora.ts';
import { attachLoraTensors, readLoraTensors } from '../../src/adapters/lora-io.ts';
import { mergeAdapters } from '../../src/adapters/merge.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { readPeftAdapter, writePeftAdapter } from '../../src/io/peft.ts';
import { parseSafetensors } from '../../src/io/safetensors.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { LINEAR_MODULES } from '../../src/schema/tensors.ts';
import { doraAdaptedRef } from '../../src/reference/dora.ts';
import { matmulRef } from '../../src/reference/ops.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../src/schema/train-config.ts';
import { prepareData } from '../../src/train/data.ts';
import { BatchIterator, orderedBatches } from '../../src/train/packing.ts';
import { Trainer } from '../../src/train/trainer.ts';
import { trainedAdapterGradients } from '../helpers/adapter-gradients.ts';
import { GOLDEN_TEXT, isBaseGreedy, readFixture, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';
import { closeness, testGpu, relMax } from '../helpers/gpu.ts';

const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
const tokenizer = Llama2cTokenizer.fromBytes(readFixture(TOK512_BIN), 'tok512.bin');
const B = 2, T = 8;
const inputs = Uint32Array.from([1, 403, 407, 261, 378, 432, 383, 286, 1, 259, 300, 301, 302, 303, 304, 305]);
const targets = Int32Array.from([403, 407, 261, 378, 432, 383, 286, -1, 259, 300, 301, 302, 303, 304, 305, 306]);
const ALL = [...LINEAR_MODULES];

function config(o: Partial<TrainConfig>): TrainConfig {
  return { ...DEFAULT_TRAIN_CONFIG, method: 'dora', batch: B, seq: T, ...o };
}

describe('DoRA training on stories260K', () => {
  it('a fresh adapter leaves the logits unchanged; dA, dB, dm match the chain rule on the float64 reference (n detached)', async () => {
    const gpu = await testGpu();
    const model = LlamaModel.upload(gpu, weights);
    const probe = [...inputs];
    const base = await model.logits(probe);
    const trainer = Trainer.create(model, config({ rank: 4, alpha: 8, targets: ['q', 'v', 'gate', 'down'], lr: 1e-2 }));
    const freshDiff = relMax(await model.logits(probe), base);
    console.log(`fresh DoRA vs base logits: max |diff| = ${freshDiff} of max |logit|`);
    expect(freshDiff).toBeLessThanOrEqual(1e-6); // m/n = 1 up to rounding (measured: exactly 0)
    // A few steps so B ≠ 0 and m ≠ ‖W‖, then one pass's gradients against the reference at W' = g ⊙ V.
    const ref = await trainedAdapterGradients(gpu, model, trainer, inputs, targets, B, T);
    const dora = await readLoraTensors(model);
    let worst = 0;
    for (const [name, adapter] of model.adapters) {
      const a = adapter as DoraAdapter;
      const { A, B: Bm, magnitude } = dora.get(name)!;
      const W = weights.tensors.get(`${name}.weight`)!.data;
      const G = ref.grads.get(`${name}.weight`)!; // dL/dW' (out, in), W' = g ⊙ V
      const [out, inF] = [Bm.shape[0]!, A.shape[1]!];
      const r = a.rank, s = a.scale;
      // With n constant: dm_j = Σ_k G_jk V_jk / n_j; dV = g ⊙ G; dA = s·Bᵀ·dV, dB = s·dV·Aᵀ.
      const V = doraAdaptedRef(W, A.data, Bm.data, out, inF, r, s);
      const dm = new Float64Array(out), dV = new Float64Array(out * inF);
      for (let j = 0; j < out; j++) {
        let nj = 0, dot = 0;
        for (let k = 0; k < inF; k++) nj += V[j * inF + k]! ** 2;
        nj = Math.sqrt(nj);
        for (let k = 0; k < inF; k++) {
          dot += G[j * inF + k]! * V[j * inF + k]!;
          dV[j * inF + k] = (magnitude!.data[j]! / nj) * G[j * inF + k]!;
        }
        dm[j] = dot / nj;
      }
      const dB = matmulRef(dV, A.data, out, r, inF, { alpha: s });
      const dA = matmulRef(Bm.data, dV, r, inF, out, { aKM: true, bKN: true, alpha: s });
      worst = Math.max(worst, relMax(await gpu.read(a.params[0]!.grad), dA), relMax(await gpu.read(a.params[1]!.grad), dB),
        relMax(await gpu.read(a.params[2]!.grad), dm));
    }
    console.log(`worst DoRA gradient error: ${worst.toExponential(2)} of max |grad|`);
    expect(worst).toBeLessThan(1e-3); // f32 through 5 layers, as the LoRA check
    trainer.dispose();
    model.dispose();
  });

  it('a short run (with dropout) lowers the eval loss; merged logits equal the adapter model; the peft export round-trips', async () => {
    const gpu = await testGpu();
    const text = Array.from({ length: 6 }, () => GOLDEN_TEXT.replace(/Lily/g, 'Zorbo')).join('\n\n');
    const data = prepareData('zorbo.txt', text, tokenizer, { seqLen: 32, evalFraction: 0.2, seed: 1 });
    const model = LlamaModel.upload(gpu, weights);
    const c = config({ batch: 4, seq: 32, steps: 6, lr: 1e-2, rank: 8, alpha: 16, dropout: 0.05, targets: ALL, seed: 5 });
    const trainer = Trainer.create(model, c);
    const evalBatches = [...orderedBatches(data.eval, c.batch, tokenizer.eosId)];
    const before = await trainer.evaluate(evalBatches);
    const it = new BatchIterator(data.train, c.batch, c.seed);
    for (let s = 0; s < c.steps; s++) trainer.recordStep([it.next()]);
    const losses = (await trainer.readMetrics()).map((m) => m.loss);
    const after = await trainer.evaluate(evalBatches);
    console.log(`dora: ${trainer.trainableCount} trainable; eval loss ${before.toFixed(4)} → ${after.toFixed(4)}; train ${losses[0]!.toFixed(4)} → ${losses.at(-1)!.toFixed(4)}`);
    expect(after).toBeLessThan(before - 0.1);

    const probe = [...data.eval[0]!.inputs];
    const withAdapter = await model.logits(probe);
    // peft export: use_dora, lora_magnitude_vector (out) without ".weight", moved away from ‖W‖ by training.
    const tensors = await readLoraTensors(model);
    const files = writePeftAdapter(
      { r: 8, loraAlpha: 16, loraDropout: 0.05, targetModules: ALL, useRslora: false, useDora: true, baseModelName: 'stories260K' },
      tensors, model.config,
    );
    const cfg = JSON.parse(new TextDecoder().decode(files.get('adapter_config.json')!));
    expect(cfg).toMatchObject({ peft_type: 'LORA', use_dora: true, r: 8, lora_alpha: 16 });
    const st = parseSafetensors(files.get('adapter_model.safetensors')!);
    const mKey = 'base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector';
    expect(st.tensors.get(mKey)!.shape).toEqual([model.config.dim]);
    const wq = weights.tensors.get('model.layers.0.self_attn.q_proj.weight')!.data;
    const rowNorm0 = Math.hypot(...wq.slice(0, model.config.dim));
    expect(Math.abs(st.tensors.get(mKey)!.data[0]! - rowNorm0)).toBeGreaterThan(1e-4); // m trained
    const back = readPeftAdapter([...files].map(([name, bytes]) => ({ name, bytes })), model.config);
    expect(back.config.useDora).toBe(true);
    const fresh = LlamaModel.upload(gpu, weights);
    attachLoraTensors(fresh, back.config, back.tensors);
    expect(fresh.adapters.get('model.layers.0.self_attn.q_proj')).toBeInstanceOf(DoraAdapter);
    expect(closeness(await fresh.logits(probe), withAdapter, 0, 0).maxAbs).toBe(0); // file round trip: exact
    fresh.dispose();

    mergeAdapters(model);
    const rel = relMax(await model.logits(probe), withAdapter);
    console.log(`merged vs adapter logits: max |diff| = ${rel.toExponential(2)} of max |logit|`);
    expect(rel).toBeLessThanOrEqual(1e-5);
    trainer.dispose();
    model.dispose();
  });
});

// ---- CLI (tests/cli style: the real `npm run cli`) ----------------------------------------------


describe('cli train --method dora', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'subspace-dora-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const dataFile = path.join(work, 'zorbo.txt');
  writeFileSync(dataFile, Array.from({ length: 20 }, () => 'Zorbo the dragon lived in a cave by the sea. Every morning Zorbo flew over the water.').join('\n\n'));
  const base = ['--model', STORIES_BIN, '--tokenizer', TOK512_BIN];
  const ids = (r: { stdout: string }) => JSON.parse(r.stdout).ids as number[];

  it('trains, writes a peft DoRA adapter (use_dora, lora_magnitude_vector) and the merged model, which generate the same ids', async () => {
    const out = path.join(work, 'dora');
    const r = await cli('train', ...base, '--data', dataFile, '--method', 'dora', '--rank', '4', '--targets', 'q,v,down',
      '--lr', '1e-2', '--steps', '6', '--batch', '2', '--seq', '32', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('(dora)');
    const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(metrics[5].loss).toBeLessThan(metrics[0].loss);
    const cfg = JSON.parse(readFileSync(path.join(out, 'adapter', 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'LORA', use_dora: true, r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj', 'down_proj'] });
    const st = parseSafetensors(new Uint8Array(readFileSync(path.join(out, 'adapter', 'adapter_model.safetensors'))));
    expect(st.tensors.size).toBe(5 * 3 * 3); // 5 layers × (q, v, down) × (A, B, m)
    expect(st.tensors.get('base_model.model.model.layers.4.mlp.down_proj.lora_magnitude_vector')!.shape).toEqual([64]);
    expect(st.tensors.get('base_model.model.model.layers.0.self_attn.v_proj.lora_magnitude_vector')!.shape).toEqual([32]);
    for (const f of ['config.json', 'model.safetensors']) expect(existsSync(path.join(out, 'merged', f)), f).toBe(true);
    const viaAdapter = await cli('generate', ...base, '--adapter', path.join(out, 'adapter'), '--max-tokens', '30', '--json');
    const viaMerged = await cli('generate', '--model', path.join(out, 'merged'), '--max-tokens', '30', '--json');
    expect(viaAdapter.code, viaAdapter.stderr).toBe(0);
    expect(viaMerged.code, viaMerged.stderr).toBe(0);
    expect(ids(viaMerged)).toEqual(ids(viaAdapter));
    expect(isBaseGreedy(viaAdapter.stdout)).toBe(false); // the adapter changed the model

    // Continuing: a DoRA adapter needs --method dora.
    const wrong = await cli('train', ...base, '--data', dataFile, '--method', 'lora', '--adapter', path.join(out, 'adapter'), '--out', path.join(work, 'x'));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('holds a DoRA adapter: use --method dora');
    const cont = await cli('train', ...base, '--data', dataFile, '--method', 'dora', '--adapter', path.join(out, 'adapter'),
      '--steps', '1', '--batch', '2', '--seq', '16', '--out', path.join(work, 'continued'));
    expect(cont.code, cont.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(work, 'continued', 'adapter', 'adapter_config.json'), 'utf8'))).toMatchObject({ use_dora: true, r: 4 });
  });
});
