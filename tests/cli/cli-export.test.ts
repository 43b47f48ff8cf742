/**
 * cli export-onnx and export-lora as users run them: transformers.js (local files only) generates
 * what `cli generate` does from the exported folder; a MoRA adapter and a full fine-tune become a peft
 * LoRA whose logits on the base follow the error it reports; bad inputs are refused naming the file.
 */
import { loadModel } from '../../src/model/load-checkpoint.ts';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env, Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachAdapterDir } from '../../src/cli/adapter-dir.ts';
import { readModelPath } from '../../src/io/fs-node.ts';
import { hfConfigFromJson } from '../../src/io/hf-config.ts';
import { readPeftAdapterDir } from '../../src/io/peft-node.ts';
import { safetensorsHeaderBytes } from '../../src/io/safetensors.ts';
import { generate } from '../../src/model/generate.ts';
import { expectedTensors } from '../../src/schema/tensors.ts';
import { cli, ROOT } from '../helpers/cli.ts';
import { STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';
import { testGpu } from '../helpers/gpu.ts';
import { testIds } from '../helpers/onnx.ts';

const work = mkdtempSync(path.join(tmpdir(), 'subspace-export-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const TINYWORLD = path.join(ROOT, 'public/models/tinyworld');
const stories = ['--model', STORIES_BIN, '--tokenizer', TOK512_BIN];
const data = path.join(work, 'facts.txt');
const story = (i: number): string =>
  `Zara lives in the salt marsh. Zara has a blue kite and a small dog called Pip. Every morning Zara and Pip walk to the old mill. ` +
  `The miller gives them ${['two', 'three', 'four'][i % 3]} red apples. Zara flies her kite over the marsh while Pip runs after the birds. ` +
  'In the evening they walk home along the river and Zara tells Pip a story about the sea.';
writeFileSync(data, Array.from({ length: 24 }, (_, i) => story(i)).join('\n\n'));

env.allowRemoteModels = false;
env.localModelPath = work;

/** `cli generate --json` ids (the whole greedy sequence) and the prompt's ids (with BOS, as generate encodes it). */
async function engineGreedy(args: string[], prompt: string, n: number): Promise<{ prompt: number[]; ids: number[]; text: string }> {
  const g = await cli('generate', ...args, '--prompt', prompt, '--max-tokens', String(n), '--json');
  expect(g.code, g.stderr).toBe(0);
  const out = JSON.parse(g.stdout) as { ids: number[]; text: string };
  const { tokenizer } = await readModelPath(args[1]!, args[2] === '--tokenizer' ? args[3] : undefined);
  return { prompt: tokenizer!.encode(prompt, { bos: true }), ...out };
}

/** transformers.js greedy generation of `n` tokens after `promptIds` from the folder `name` under `work`. */
async function transformersGreedy(name: string, promptIds: number[], n: number): Promise<{ ids: number[]; text: string }> {
  const model = await AutoModelForCausalLM.from_pretrained(name, { dtype: 'fp32' });
  const tok = await AutoTokenizer.from_pretrained(name);
  const input_ids = new Tensor('int64', BigInt64Array.from(promptIds.map(BigInt)), [1, promptIds.length]);
  const attention_mask = new Tensor('int64', new BigInt64Array(promptIds.length).fill(1n), [1, promptIds.length]);
  const out = (await model.generate({ input_ids, attention_mask, max_new_tokens: n, do_sample: false })) as Tensor;
  const ids = (out.tolist() as bigint[][])[0]!.map(Number);
  await model.dispose();
  return { ids, text: tok.decode(ids, { skip_special_tokens: true }) };
}

describe('cli export-onnx', () => {
  it('stories260K: transformers.js generates the same 60 greedy tokens as cli generate', async () => {
    const [r, engine] = await Promise.all([cli('export-onnx', ...stories, '--out', path.join(work, 'stories-onnx')), engineGreedy(stories, 'Once upon a time', 60)]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(path.join(work, 'stories-onnx')).sort()).toEqual(['config.json', 'generation_config.json', 'onnx', 'tokenizer.json', 'tokenizer_config.json']);
    expect(readdirSync(path.join(work, 'stories-onnx', 'onnx'))).toEqual(['model.onnx']);
    const tjs = await transformersGreedy('stories-onnx', engine.prompt, 60);
    expect(engine.ids.length - engine.prompt.length).toBe(60);
    expect(tjs.ids).toEqual(engine.ids);
    expect(tjs.text).toBe(engine.text);
  });

  it('a LoRA-tuned built-in model (adapter merged in): the same greedy tokens (up to 60, to its EOS) as cli generate --adapter', async () => {
    const run = path.join(work, 'tw-lora');
    const t = await cli('train', '--model', TINYWORLD, '--data', data, '--method', 'lora', '--rank', '4', '--lr', '3e-2', '--steps', '6',
      '--batch', '2', '--seq', '32', '--out', run);
    expect(t.code, t.stderr).toBe(0);
    const [r, tuned] = await Promise.all([
      cli('export-onnx', '--model', TINYWORLD, '--adapter', path.join(run, 'adapter'), '--out', path.join(work, 'tw-onnx')),
      engineGreedy(['--model', TINYWORLD, '--adapter', path.join(run, 'adapter')], 'Zara lives in the', 60),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { base: baseWeights, tokenizer } = await readModelPath(TINYWORLD);
    const { model: baseModel } = await loadModel(await testGpu(), baseWeights);
    const base = await generate(baseModel, tokenizer!, { prompt: 'Zara lives in the', maxTokens: 60, temperature: 0, topP: 1, seed: 0 });
    baseModel.dispose();
    const n = tuned.ids.length - tuned.prompt.length;
    expect(n).toBeGreaterThanOrEqual(40);
    expect(tuned.ids).not.toEqual(base.ids); // the fine-tuning shows in the greedy text
    const tjs = await transformersGreedy('tw-onnx', tuned.prompt, 60);
    // cli generate stops before an EOS and leaves it out (as llama2.c's run); transformers.js keeps the EOS it stopped at.
    expect(tjs.ids).toEqual(n < 60 ? [...tuned.ids, baseWeights.config.eosId] : tuned.ids);
    expect(tjs.text).toBe(tuned.text);
  });

  it('--dtype fp16 writes onnx/model_fp16.onnx', async () => {
    const r = await cli('export-onnx', ...stories, '--dtype', 'fp16', '--out', path.join(work, 'fp16'));
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(path.join(work, 'fp16', 'onnx'))).toEqual(['model_fp16.onnx']);
    expect(JSON.parse(readFileSync(path.join(work, 'fp16', 'config.json'), 'utf8')).torch_dtype).toBe('float16');
  });

  it('refuses an output folder that exists and an adapter for another model, naming the file, leaving nothing behind', async () => {
    const run = path.join(work, 'tw-lora', 'adapter'); // trained on the built-in model, not stories260K
    const out = path.join(work, 'wrong-adapter');
    const [exists, wrong] = await Promise.all([
      cli('export-onnx', ...stories, '--out', path.join(work, 'stories-onnx')),
      cli('export-onnx', ...stories, '--adapter', run, '--out', out),
    ]);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toContain(`${path.join(work, 'stories-onnx')}: the output folder already exists`);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(new RegExp(`error: ${run.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/adapter_\\w+\\.(json|safetensors): `));
    expect(readdirSync(work).filter((n) => n.startsWith('wrong-adapter'))).toEqual([]);
  });

  it('--single-file refuses a model whose fp32 weights pass 2 GiB, naming the file, leaving nothing behind', async () => {
    // 12 layers of width 2048: 619M parameters, 2.3 GiB in float32. Stored as float16 zeros in a sparse file (no disk used).
    const dir = path.join(work, 'big');
    mkdirSync(dir);
    const cfg = { ...JSON.parse(readFileSync(path.join(TINYWORLD, 'config.json'), 'utf8')), hidden_size: 2048, intermediate_size: 5632,
      num_hidden_layers: 12, num_attention_heads: 16, num_key_value_heads: 16, head_dim: 128 };
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    const specs = [...expectedTensors(hfConfigFromJson(cfg)).entries()].map(([name, shape]) => ({ name, dtype: 'F16' as const, shape }));
    const header = safetensorsHeaderBytes(specs);
    const file = path.join(dir, 'model.safetensors');
    writeFileSync(file, header);
    truncateSync(file, header.byteLength + specs.reduce((a, t) => a + 2 * t.shape.reduce((x, d) => x * d, 1), 0));
    const out = path.join(work, 'big-onnx');
    const r = await cli('export-onnx', '--model', dir, '--tokenizer', path.join(TINYWORLD, 'tokenizer.json'), '--single-file', '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${path.join(out, 'onnx/model.onnx')}: the weights take 2.30 GiB, more than one ONNX file holds (2.00 GiB) without external data (the model ${dir}`);
    expect(readdirSync(work).filter((n) => n.startsWith('big-onnx'))).toEqual([]);
    rmSync(dir, { recursive: true });
  });
});

describe('cli export-lora', () => {
  let gpu: Awaited<ReturnType<typeof testGpu>>;
  beforeAll(async () => { gpu = await testGpu(); });

  /** Logits of `ids` on stories260K with the adapter folder `dir` attached (none: the base). */
  async function logitsWith(dir: string | undefined, ids: number[]): Promise<Float32Array> {
    const { model } = await loadModel(gpu, (await readModelPath(STORIES_BIN)).base);
    try {
      if (dir) await attachAdapterDir(model, dir);
      return await model.logits(ids);
    } finally {
      model.dispose();
    }
  }
  const dist = (a: Float32Array, b: Float32Array): number => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));

  it('a MoRA-1 update at --energy 0.99 keeps ≥ 99% of each ΔW and reproduces the tuned logits within the reported error', async () => {
    const run = path.join(work, 'mora1');
    const t = await cli('train', ...stories, '--data', data, '--method', 'mora', '--mora-type', '1', '--rank', '4', '--targets', 'q,v,down',
      '--lr', '1e-2', '--steps', '4', '--batch', '2', '--seq', '32', '--out', run);
    expect(t.code, t.stderr).toBe(0);
    const out = path.join(work, 'mora1-lora');
    const r = await cli('export-lora', ...stories, '--adapter', path.join(run, 'adapter'), '--energy', '0.99', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'conversion.json'), 'utf8'));
    expect(report.modules).toHaveLength(15); // 5 layers × q, v, down
    for (const m of report.modules) {
      expect(m.energy_kept, m.name).toBeGreaterThanOrEqual(0.99);
      expect(m.relative_error, m.name).toBeCloseTo(Math.sqrt(1 - m.energy_kept), 3); // ‖ΔW − BA‖² = the energy left out
      expect(r.stdout).toContain(`${m.name}: rank ${m.rank}, relative error`);
    }
    // The peft files pass the checks of today's LoRA export: our strict reader, every key peft needs, s = 1.
    const stored = await readPeftAdapterDir(out, (await readModelPath(STORIES_BIN)).base.config);
    expect(stored.config).toMatchObject({ r: report.r, loraAlpha: report.r, useDora: false, targetModules: ['q', 'v', 'down'] });
    const cfg = JSON.parse(readFileSync(path.join(out, 'adapter_config.json'), 'utf8'));
    for (const k of ['peft_type', 'task_type', 'base_model_name_or_path', 'r', 'lora_alpha', 'lora_dropout', 'target_modules', 'use_rslora', 'use_dora',
      'init_lora_weights', 'bias', 'fan_in_fan_out', 'inference_mode', 'modules_to_save', 'rank_pattern', 'alpha_pattern', 'lora_bias']) expect(cfg, k).toHaveProperty(k);
    const ids = testIds({ bosId: 1, vocabSize: 512 } as never);
    const [base, tuned, lora] = [await logitsWith(undefined, ids), await logitsWith(path.join(run, 'adapter'), ids), await logitsWith(out, ids)];
    // The logits' change follows ΔW to first order: the LoRA misses the tuned change by at most the worst module's error.
    expect(dist(lora, tuned) / dist(tuned, base)).toBeLessThanOrEqual(report.max_relative_error);
  });

  it('a DoRA adapter (ΔW = its merged change, magnitudes included) at --energy 0.99: ≥ 99% of each ΔW, loadable as a plain LoRA', async () => {
    const run = path.join(work, 'dora');
    const t = await cli('train', ...stories, '--data', data, '--method', 'dora', '--rank', '4', '--targets', 'q,v', '--lr', '1e-2', '--steps', '3',
      '--batch', '2', '--seq', '32', '--out', run);
    expect(t.code, t.stderr).toBe(0);
    const out = path.join(work, 'dora-lora');
    const r = await cli('export-lora', ...stories, '--adapter', path.join(run, 'adapter'), '--energy', '0.99', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'conversion.json'), 'utf8'));
    expect(report.modules).toHaveLength(10); // 5 layers × q, v
    for (const m of report.modules) {
      expect(m.energy_kept, m.name).toBeGreaterThanOrEqual(0.99);
      expect(m.relative_error, m.name).toBeCloseTo(Math.sqrt(1 - m.energy_kept), 3);
    }
    const stored = await readPeftAdapterDir(out, (await readModelPath(STORIES_BIN)).base.config);
    expect(stored.config).toMatchObject({ r: report.r, loraAlpha: report.r, useDora: false, targetModules: ['q', 'v'] });
  });

  it('a full fine-tune (--tuned, ΔW = W − W₀) at --rank 4, and another architecture refused naming the tuned folder', async () => {
    const run = path.join(work, 'full');
    const t = await cli('train', ...stories, '--data', data, '--method', 'full', '--lr', '1e-3', '--steps', '3', '--batch', '2', '--seq', '32', '--out', run);
    expect(t.code, t.stderr).toBe(0);
    const out = path.join(work, 'full-lora');
    const [r, wrong] = await Promise.all([
      cli('export-lora', ...stories, '--tuned', path.join(run, 'merged'), '--rank', '4', '--out', out),
      cli('export-lora', ...stories, '--tuned', TINYWORLD, '--rank', '4', '--out', path.join(work, 'wrong-arch')),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'conversion.json'), 'utf8'));
    expect(report.r).toBe(4);
    expect(report.modules).toHaveLength(35); // every linear module changes in full fine-tuning
    expect(report.not_carried).toContain('model.embed_tokens.weight');
    for (const m of report.modules) expect(m.relative_error).toBeGreaterThan(0);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`error: ${TINYWORLD}: another architecture than the base model: nLayers is 4, the base has 5`);
    expect(existsSync(path.join(work, 'wrong-arch'))).toBe(false);
  });
});
