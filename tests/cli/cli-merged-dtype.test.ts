/**
 * Merged exports keep the dtype of the file the model came from: stories260K stored in BF16 (matrices
 * BF16, norm gains F32 as in real checkpoints), LoRA-trained for 2 steps by `cli train`. merged/ holds the
 * linear weights in BF16 — each value W + ΔW rounded to nearest even, i.e. the F32 merge (--merged-f32)
 * rounded — and reloads to logits within BF16 rounding of the F32 merge's.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportHfModel } from '../../src/io/export-hf.ts';
import { readModelPath } from '../../src/io/fs-node.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { parseSafetensorsHeader } from '../../src/io/safetensors.ts';
import { llama2cTokenizerConfig, llama2cToTokenizerJson } from '../../src/io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { readAllWeights } from '../../src/io/weight-source.ts';
import { toHalfBits, fromHalfBits } from '../../src/gpu/half.ts';
import { loadModel } from '../../src/model/load-checkpoint.ts';
import { linearName } from '../../src/schema/tensors.ts';
import { cli } from '../helpers/cli.ts';
import { readFixture, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';
import { relMax, testGpu } from '../helpers/gpu.ts';

const work = mkdtempSync(path.join(tmpdir(), 'subspace-merged-dtype-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** stories260K as a BF16 Hugging Face folder: 2-D tensors BF16, norm gains F32. */
function writeBf16Stories(dir: string): void {
  const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
  const tok = Llama2cTokenizer.fromBytes(readFixture(TOK512_BIN), 'tok512.bin');
  const matrices = new Map([...weights.tensors].filter(([, t]) => t.shape.length === 2).map(([name]) => [name, 'bf16' as const]));
  const files = exportHfModel(weights, llama2cToTokenizerJson(tok), llama2cTokenizerConfig(), matrices);
  for (const [name, bytes] of files) writeFileSync(path.join(dir, name), bytes);
}

const dtypesOf = (file: string) => {
  const { entries } = parseSafetensorsHeader(new Uint8Array(readFileSync(file)), file);
  return new Map([...entries].map(([name, e]) => [name, e.dtype]));
};

describe('merged/ keeps the loaded file\'s dtype', () => {
  it('BF16 in, BF16 out (the F32 merge rounded); --merged-f32 writes F32; both reload to the same logits within BF16 rounding', async () => {
    const model = path.join(work, 'bf16-stories');
    rmSync(model, { recursive: true, force: true });
    mkdirSync(model);
    writeBf16Stories(model);
    const input = dtypesOf(path.join(model, 'model.safetensors'));
    expect(input.get(linearName(0, 'q'))).toBe('BF16');
    expect(input.get('model.norm.weight')).toBe('F32');
    const data = path.join(work, 'data.txt');
    writeFileSync(data, Array.from({ length: 30 }, (_, i) => `Zorbo the cat ate ${i} red apples by the river.`).join('\n\n'));
    const train = (out: string, ...flags: string[]) =>
      cli('train', '--model', model, '--data', data, '--method', 'lora', '--rank', '4', '--alpha', '64', '--lr', '0.05', '--steps', '2', '--batch', '2',
        '--seq', '32', '--eval-every', '0', '--seed', '1', '--out', out, ...flags);
    const [a, b] = [path.join(work, 'file-dtype'), path.join(work, 'f32')];
    const [ra, rb] = await Promise.all([train(a), train(b, '--merged-f32')]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);

    const [da, db] = [dtypesOf(path.join(a, 'merged', 'model.safetensors')), dtypesOf(path.join(b, 'merged', 'model.safetensors'))];
    expect(da).toEqual(input); // every tensor in the dtype it came in
    expect(new Set(db.values())).toEqual(new Set(['F32']));

    const [wa, wb] = [await readAllWeights((await readModelPath(path.join(a, 'merged'))).base), await readAllWeights((await readModelPath(path.join(b, 'merged'))).base)];
    const q = linearName(0, 'q');
    const base = (await readAllWeights((await readModelPath(model)).base)).tensors.get(q)!.data;
    const f32 = wb.tensors.get(q)!.data;
    expect(f32.some((v, i) => v !== base[i])).toBe(true); // the adapter changed q (merged in)
    // The BF16 file is exactly the F32 merge rounded to nearest even.
    expect(Array.from(wa.tensors.get(q)!.data)).toEqual(Array.from(fromHalfBits(toHalfBits(f32, 'bf16'), 'bf16')));

    const gpu = await testGpu();
    const ids = [1, 403, 407, 261, 378, 432, 383, 286];
    const [ma, mb] = [(await loadModel(gpu, (await readModelPath(path.join(a, 'merged'))).base)).model, (await loadModel(gpu, (await readModelPath(path.join(b, 'merged'))).base)).model];
    expect(ma.param(q).dtype).toBe('bf16'); // stays 16-bit on the GPU when loaded again
    const rel = relMax(await ma.logits(ids), await mb.logits(ids));
    console.log(`merged BF16 vs F32: logits max rel ${rel.toExponential(2)}; file ${readFileSync(path.join(a, 'merged', 'model.safetensors')).length} vs ${readFileSync(path.join(b, 'merged', 'model.safetensors')).length} bytes`);
    expect(rel).toBeLessThanOrEqual(5e-3); // BF16 keeps 8 bits of mantissa (≤ 0.4% per weight); measured 5.9e-4
    ma.dispose();
    mb.dispose();
  });
});
