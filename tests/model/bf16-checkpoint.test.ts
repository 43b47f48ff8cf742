/**
 * Real widths in 16 bits: synthetic BF16 checkpoints shaped like SmolLM2-135M and TinyLlama-1.1B (few
 * layers) streamed onto the GPU, where their matrices stay BF16; logits against the float64 reference
 * on the same BF16 values. Sharded checkpoints load the same model.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openFileSource, readModelPath, type FileSource } from '../../src/io/fs-node.ts';
import { checkpointWeights, INDEX_FILE, openHfCheckpoint, type HfCheckpoint } from '../../src/io/hf-checkpoint.ts';
import { modelFingerprint } from '../../src/model/fingerprint.ts';
import { readAllWeights } from '../../src/io/weight-source.ts';
import { loadModel } from '../../src/model/load-checkpoint.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { llamaLogitsRef } from '../../src/reference/llama.ts';
import { linearName, moduleName } from '../../src/schema/tensors.ts';
import { attachLoraTensors } from '../../src/adapters/lora-io.ts';
import { SMOLLM2_135M, TINYLLAMA_1_1B, writeSyntheticCheckpoint } from '../../scripts/synthetic-checkpoint.ts';
import { relMax, testGpu } from '../helpers/gpu.ts';

const dirs: string[] = [];
const sources: FileSource[] = [];
afterAll(async () => {
  await Promise.all(sources.map((s) => s.close()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'subspace-bf16-'));
  dirs.push(d);
  return d;
}

/** Open the checkpoint in `dir` from `files`, through its index when `sharded`. */
async function openDir(dir: string, files: string[], sharded = files.length > 1): Promise<HfCheckpoint> {
  const srcs = await Promise.all(files.map(openFileSource));
  sources.push(...srcs);
  const text = (n: string) => readFile(path.join(dir, n), 'utf8');
  const index = sharded ? { name: path.join(dir, INDEX_FILE), text: await text(INDEX_FILE) } : undefined;
  return openHfCheckpoint({ name: path.join(dir, 'config.json'), text: await text('config.json') }, srcs, index);
}

const ids = [1, 4242, 31999];

describe.each([
  { shape: 'SmolLM2-135M', config: { ...SMOLLM2_135M, nLayers: 2 } },
  { shape: 'TinyLlama-1.1B', config: { ...TINYLLAMA_1_1B, nLayers: 1 } },
])('a $shape-shaped BF16 checkpoint', ({ config }) => {
  it('streams onto the GPU with BF16 matrices and f32 norms; logits match float64 on the same BF16 weights within 1e-4 relative', async () => {
    const dir = await tempDir();
    let t0 = performance.now();
    const written = await writeSyntheticCheckpoint(dir, config, { seed: 3 });
    const ck = await openDir(dir, written.files);
    const gpu = await testGpu();
    const tWrite = performance.now() - t0;
    t0 = performance.now();
    const { model, fingerprint } = await loadModel(gpu, checkpointWeights(ck));
    console.log(`${written.dataBytes} bytes: written in ${tWrite.toFixed(0)} ms, streamed onto the GPU in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(model.param(linearName(0, 'q')).dtype).toBe('bf16');
    expect(model.param('model.embed_tokens.weight').dtype).toBe('bf16');
    expect(model.param('model.norm.weight').dtype).toBeUndefined(); // f32
    const host = await readAllWeights(checkpointWeights(ck));
    expect(fingerprint).toBe(modelFingerprint(host)); // the same fingerprint as the host weights give
    t0 = performance.now();
    const got = await model.logits(ids);
    const tGpu = performance.now() - t0;
    t0 = performance.now();
    const ref = llamaLogitsRef(host, ids);
    console.log(`logits: GPU ${tGpu.toFixed(0)} ms, float64 reference ${(performance.now() - t0).toFixed(0)} ms`);
    const rel = relMax(got, ref);
    console.log(`${config.dim}-wide, vocab ${config.vocabSize}: max |GPU − float64| / max |logit| = ${rel.toExponential(2)}`);
    expect(rel).toBeLessThanOrEqual(1e-4); // f32 accumulation of exact BF16 weights
    model.dispose();
  });
});

describe('sharded checkpoints from disk', () => {
  const config = { ...SMOLLM2_135M, nLayers: 2, vocabSize: 512, tiedEmbeddings: false };

  it('three shards with model.safetensors.index.json load the same weights as one file', async () => {
    const [one, three] = [await tempDir(), await tempDir()];
    const single = await writeSyntheticCheckpoint(one, config, { seed: 5 });
    const sharded = await writeSyntheticCheckpoint(three, config, { seed: 5, shards: 3 });
    expect(sharded.files.map((f) => path.basename(f))).toEqual([1, 2, 3].map((i) => `model-0000${i}-of-00003.safetensors`));
    const [a, b] = [await openDir(one, single.files), await openDir(three, sharded.files)];
    expect(new Set(b.tensors.map((t) => path.basename(t.source.name))).size).toBe(3);
    const gpu = await testGpu();
    const [ma, mb] = [await loadModel(gpu, checkpointWeights(a)), await loadModel(gpu, checkpointWeights(b))];
    expect(mb.fingerprint).toBe(ma.fingerprint);
    // The path a host takes (readModelPath → openModelSources) opens the sharded directory to the same weights.
    const viaPath = await readModelPath(three);
    const host = { weights: await readAllWeights(viaPath.base) };
    await viaPath.close();
    expect(modelFingerprint(host.weights)).toBe(ma.fingerprint);
    expect(Array.from(await mb.model.logits([1, 2, 3]))).toEqual(Array.from(await ma.model.logits([1, 2, 3])));
    // ... and LlamaModel.upload of those host weights keeps the file's 16 bits on the GPU: the same model.
    const uploaded = LlamaModel.upload(gpu, host.weights);
    expect(uploaded.param(linearName(1, 'down')).dtype).toBe('bf16');
    expect(uploaded.param('model.norm.weight').dtype).toBeUndefined(); // f32
    expect(Array.from(await uploaded.logits([1, 2, 3]))).toEqual(Array.from(await ma.model.logits([1, 2, 3])));
    // A DoRA adapter attached to the 16-bit model (its weight promoted to f32) acts as on the f32 model.
    const f32 = LlamaModel.upload(gpu, { ...host.weights, stored16: undefined });
    const r = 4, D = config.dim;
    const rand = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + k) * 0.05);
    const dora = new Map([[moduleName(1, 'q'), {
      A: { shape: [r, D], data: rand(r * D, 1) }, B: { shape: [D, r], data: rand(D * r, 2) }, magnitude: { shape: [D], data: rand(D, 3).map((v) => 1 + v) },
    }]]);
    const peft = { r, loraAlpha: 8, loraDropout: 0, targetModules: ['q' as const], useRslora: false, useDora: true, baseModelName: 'test' };
    for (const m of [uploaded, f32]) attachLoraTensors(m, peft, dora);
    expect(uploaded.param(linearName(1, 'q')).dtype).toBeUndefined(); // promoted
    expect(relMax(await uploaded.logits([1, 2, 3]), await f32.logits([1, 2, 3]))).toBeLessThanOrEqual(1e-5);
    f32.dispose();
    uploaded.dispose();
    ma.model.dispose();
    mb.model.dispose();
  });

  it('refuses an index naming a shard that is not given, and a shard without a tensor the index puts there', async () => {
    const dir = await tempDir();
    const w = await writeSyntheticCheckpoint(dir, config, { seed: 6, shards: 2 });
    await expect(openDir(dir, w.files.slice(0, 1), true)).rejects.toThrow(/model\.safetensors\.index\.json: maps \d+ tensors to shard "model-00002-of-00002\.safetensors", which is not among the files/);
    const index = JSON.parse(await readFile(path.join(dir, INDEX_FILE), 'utf8')) as { weight_map: Record<string, string> };
    index.weight_map['model.norm.weight'] = 'model-00001-of-00002.safetensors'; // it lives in shard 2
    await writeFile(path.join(dir, INDEX_FILE), JSON.stringify(index));
    await expect(openDir(dir, w.files)).rejects.toThrow(/model-00001-of-00002\.safetensors: has no tensor "model\.norm\.weight", which model\.safetensors\.index\.json says is in this shard/);
    await writeFile(path.join(dir, INDEX_FILE), '{"metadata": {}}');
    await expect(openDir(dir, w.files)).rejects.toThrow(/index\.json: has no "weight_map" object/);
  });
});
