/**
 * The exported ONNX decoder run by independent runtimes (onnxruntime-node, onnxruntime-web's WASM
 * build in Node) against the engine: 32-token logits, incremental decoding through the KV cache,
 * float16, external data, and the opset/op set the execution providers need.
 */
import { readAllWeights } from '../../src/io/weight-source.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachLoraTensors } from '../../src/adapters/lora-io.ts';
import { attachMoraTensors } from '../../src/adapters/mora-io.ts';
import { mergedWeights } from '../../src/export/merged.ts';
import { ModelFileError } from '../../src/io/errors.ts';
import { readModelPath } from '../../src/io/fs-node.ts';
import { writeOnnxModel } from '../../src/io/onnx/model-file.ts';
import { onnx } from '../../src/io/onnx/proto.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import type { LlamaWeights } from '../../src/schema/tensors.ts';
import { randomLoraTensors, randomMoraTensors } from '../helpers/adapters.ts';
import { STORIES_BIN } from '../helpers/fixtures.ts';
import { closeness, relMax, testGpu } from '../helpers/gpu.ts';
import { ROOT } from '../helpers/cli.ts';
import { runDecoder, testIds } from '../helpers/onnx.ts';

ortWeb.env.wasm.numThreads = 1;

let gpu: Gpu;
let stories: LlamaWeights;
let tinyworld: LlamaWeights;
const tmp = mkdtempSync(path.join(tmpdir(), 'subspace-onnx-'));

beforeAll(async () => {
  gpu = await testGpu();
  stories = await readAllWeights((await readModelPath(STORIES_BIN)).base);
  tinyworld = await readAllWeights((await readModelPath(path.join(ROOT, 'public/models/tinyworld'))).base);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The engine's logits (T, V) of `ids` for `weights`, with `attach` adding adapters first; and the merged weights. */
async function engine(weights: LlamaWeights, ids: number[], attach?: (m: LlamaModel) => void): Promise<{ logits: Float32Array; merged: LlamaWeights }> {
  const model = LlamaModel.upload(gpu, weights);
  try {
    attach?.(model);
    return { logits: await model.logits(ids), merged: await mergedWeights(model) };
  } finally {
    model.dispose();
  }
}

const scaled = <T extends { data: Float32Array }>(t: T, k: number): T => ({ ...t, data: t.data.map((v) => v * k) });

describe('onnxruntime-node runs the export like the engine', () => {
  const cases: [string, () => LlamaWeights, ((m: LlamaModel) => void) | undefined][] = [
    ['stories260K', () => stories, undefined],
    ['the built-in model', () => tinyworld, undefined],
    ['a LoRA-merged stories260K (q, v, gate, r 4)', () => stories, (m) => {
      const t = randomLoraTensors(m.config, 4, ['q', 'v', 'gate'], false, 7);
      for (const e of t.values()) e.B = scaled(e.B, 0.2);
      attachLoraTensors(m, { r: 4, loraAlpha: 8, loraDropout: 0, targetModules: ['q', 'v', 'gate'], useRslora: false, useDora: false, baseModelName: 'x' }, t);
    }],
    ['a MoRA-merged stories260K (type 6, all linear, r 4)', () => stories, (m) => {
      const targets = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
      const t = randomMoraTensors(m.config, 4, 6, [...targets], 3);
      for (const [k, v] of t) t.set(k, scaled(v, 0.1));
      attachMoraTensors(m, { r: 4, moraType: 6, targetModules: [...targets], baseModelName: 'x' }, t);
    }],
  ];
  for (const [what, weightsOf, attach] of cases) {
    it(`${what}: 32-token logits within 1e-4 of the engine's`, async () => {
      const w = weightsOf();
      const ids = testIds(w.config);
      const { logits, merged } = await engine(w, ids, attach);
      const session = await ortNode.InferenceSession.create(writeOnnxModel(merged, { dtype: 'float32' }).model);
      const got = await runDecoder(ortNode, session, w.config, ids);
      const c = closeness(got.logits, logits, 1e-4, 0); // logits: atol 1e-4 (CONVENTIONS.md)
      expect(c.maxAbs).toBeLessThan(1e-4);
      if (attach) expect(relMax(logits, (await engine(w, ids)).logits)).toBeGreaterThan(1e-3); // the adapter changed the output
      await session.release();
    });
  }

  it('incremental decoding through past_key_values equals the full sequence within 1e-5', async () => {
    const ids = testIds(stories.config);
    const session = await ortNode.InferenceSession.create(writeOnnxModel(stories, { dtype: 'float32' }).model);
    const full = await runDecoder(ortNode, session, stories.config, ids);
    const V = stories.config.vocabSize;
    let step = await runDecoder(ortNode, session, stories.config, ids.slice(0, 20)); // first step: past length 0
    const rows: Float32Array[] = [step.logits];
    for (const chunk of [ids.slice(20, 21), ids.slice(21, 24), ...ids.slice(24).map((t) => [t])]) {
      step = await runDecoder(ortNode, session, stories.config, chunk, step.past);
      rows.push(step.logits);
    }
    expect(step.past.get('present.3.value')!.dims).toEqual([1, stories.config.nKvHeads, 32, stories.config.dim / stories.config.nHeads]);
    const inc = new Float32Array(32 * V);
    let at = 0;
    for (const r of rows) { inc.set(r, at); at += r.length; }
    expect(closeness(inc, full.logits, 1e-5, 0).maxAbs).toBeLessThan(1e-5);
    await session.release();
  });

  it('float16 (weights, cache and logits in fp16): logits within 1e-2 relative of the engine', async () => {
    const ids = testIds(tinyworld.config);
    const { logits } = await engine(tinyworld, ids);
    const files = writeOnnxModel(tinyworld, { dtype: 'float16' });
    expect(files.modelName).toBe('model_fp16.onnx');
    const session = await ortNode.InferenceSession.create(files.model);
    const got = await runDecoder(ortNode, session, tinyworld.config, ids, undefined, 'float16');
    expect(relMax(got.logits, logits)).toBeLessThan(1e-2); // max |Δ| / max |logit|
    await session.release();
  });

  it('external data: the weights in model.onnx_data give the same logits; refused without it, naming the file', async () => {
    const ids = testIds(stories.config, 8);
    const limit = 200_000; // a stand-in for 2 GB: stories260K's weights take 1.08 MB
    expect(() => writeOnnxModel(stories, { dtype: 'float32', maxFileBytes: limit, allowExternalData: false })).toThrow(ModelFileError);
    expect(() => writeOnnxModel(stories, { dtype: 'float32', maxFileBytes: limit, allowExternalData: false })).toThrow(/^onnx\/model\.onnx: .*without external data/);
    const files = writeOnnxModel(stories, { dtype: 'float32', maxFileBytes: limit });
    expect(files.external?.name).toBe('model.onnx_data');
    expect(files.model.byteLength).toBeLessThan(limit);
    const dir = path.join(tmp, 'external');
    rmSync(dir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    writeFileSync(path.join(dir, 'model.onnx'), files.model);
    writeFileSync(path.join(dir, 'model.onnx_data'), Buffer.concat(files.external!.chunks));
    const session = await ortNode.InferenceSession.create(path.join(dir, 'model.onnx'));
    const inline = await ortNode.InferenceSession.create(writeOnnxModel(stories, { dtype: 'float32' }).model);
    const a = await runDecoder(ortNode, session, stories.config, ids);
    const b = await runDecoder(ortNode, inline, stories.config, ids);
    expect(closeness(a.logits, b.logits, 0, 0).maxAbs).toBe(0);
    await session.release();
    await inline.release();
  });

  it('uses only standard ONNX ops at opset 17', () => {
    const m = onnx.ModelProto.decode(writeOnnxModel(stories, { dtype: 'float16' }).model);
    expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    const ops = new Set(m.graph!.node!.map((n) => `${n.domain ?? ''}:${n.opType}`));
    for (const op of ops) expect(op.startsWith(':')).toBe(true);
    expect(m.graph!.input!.map((i) => i.name).slice(0, 5)).toEqual(['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value']);
    expect(m.graph!.output!.map((i) => i.name).slice(0, 3)).toEqual(['logits', 'present.0.key', 'present.0.value']);
  });
});

describe("onnxruntime-web's WASM build (in Node) runs the export like the engine", () => {
  it('stories260K and the built-in model: 32-token logits within 1e-4; incremental equals full within 1e-5', async () => {
    for (const w of [stories, tinyworld]) {
      const ids = testIds(w.config);
      const { logits } = await engine(w, ids);
      const session = await ortWeb.InferenceSession.create(writeOnnxModel(w, { dtype: 'float32' }).model, { executionProviders: ['wasm'] });
      const full = await runDecoder(ortWeb, session, w.config, ids);
      expect(closeness(full.logits, logits, 1e-4, 0).maxAbs).toBeLessThan(1e-4);
      const first = await runDecoder(ortWeb, session, w.config, ids.slice(0, 31));
      const last = await runDecoder(ortWeb, session, w.config, ids.slice(31), first.past);
      const V = w.config.vocabSize;
      // 1e-5 of the largest logit: WASM's matmul sums a 1-row product in another order than a 31-row one
      expect(relMax(last.logits, full.logits.subarray(31 * V))).toBeLessThan(1e-5);
      await session.release();
    }
  });
});
