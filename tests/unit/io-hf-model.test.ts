import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportHfModel } from '../../src/io/export-hf.ts';
import { configToHfJson } from '../../src/io/hf-config.ts';
import { loadHfModel } from '../../src/io/hf-model.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { parseSafetensors, parseSafetensorsHeader, writeSafetensors } from '../../src/io/safetensors.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { llama2cToTokenizerJson, llama2cTokenizerConfig } from '../../src/io/tokenizer-hf.ts';
import type { LlamaConfig } from '../../src/model/config.ts';
import { expectedTensors, type HostTensor, type LlamaWeights } from '../../src/model/weights.ts';
import { randomTensor, seededUniform } from '../helpers/adapters.ts';
import { expectFileError } from '../helpers/errors.ts';

const FIX = '../../../shared/fixtures/stories260K/';
const model = parseLlama2c(new Uint8Array(readFileSync(new URL(FIX + 'stories260K.bin', import.meta.url))), 'stories260K.bin');
const tok = Llama2cTokenizer.fromBytes(new Uint8Array(readFileSync(new URL(FIX + 'tok512.bin', import.meta.url))), 'tok512.bin', 512);
const ST = 'model.safetensors';
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

function expectSameWeights(a: LlamaWeights, b: LlamaWeights): void {
  expect(b.config).toEqual(a.config);
  expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
  for (const [name, t] of a.tensors) {
    const u = b.tensors.get(name)!;
    expect(u.shape, name).toEqual(t.shape);
    expect(bits(u.data), name).toEqual(bits(t.data)); // bit-exact
  }
}

const small: LlamaConfig = {
  dim: 16, hiddenDim: 24, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 11, maxSeqLen: 9,
  normEps: 1e-6, ropeTheta: 500000, tiedEmbeddings: false, bosId: 1, eosId: 2,
};
function randomTensors(c: LlamaConfig): Map<string, HostTensor> {
  const next = seededUniform(99);
  return new Map([...expectedTensors(c)].map(([n, shape]) => [n, randomTensor(shape, next)]));
}

describe('exportHfModel → loadHfModel', () => {
  it('stories260K llama2.c → HF files → LlamaWeights is bit-exact', () => {
    const files = exportHfModel(model, llama2cToTokenizerJson(tok), llama2cTokenizerConfig({ modelMaxLength: 512 }));
    expect([...files.keys()].sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const back = loadHfModel(dec(files.get('config.json')!), files.get(ST)!);
    expectSameWeights(model, back);

    const { metadata, entries } = parseSafetensorsHeader(files.get(ST)!);
    expect(metadata).toEqual({ format: 'pt' });
    expect(entries.size).toBe(47);
    expect(entries.has('lm_head.weight')).toBe(false); // tied
    expect(entries.get('model.layers.0.self_attn.k_proj.weight')).toMatchObject({ dtype: 'F32', shape: [32, 64] });
    expect(files.get(ST)!.length).toBe(1056540 - 28 - 4 * 512 * 8 + 8 + Number(new DataView(files.get(ST)!.buffer).getBigUint64(0, true)));
    expect(JSON.parse(dec(files.get('tokenizer_config.json')!)).model_max_length).toBe(512);
  });

  it('an untied model exports and reloads lm_head, with its config values', () => {
    const w = { config: small, tensors: randomTensors(small) };
    const files = exportHfModel(w);
    expect(files.has('tokenizer.json')).toBe(false);
    const back = loadHfModel(dec(files.get('config.json')!), files.get(ST)!);
    expectSameWeights(w, back);
    expect(back.tensors.has('lm_head.weight')).toBe(true);
  });

  it('converts BF16 and F16 checkpoints to f32', () => {
    // Hand-built BF16 file: each value's top 16 bits; loading gives the value with the low bits zeroed.
    const tensors = randomTensors(small);
    const names = [...tensors.keys()];
    const parts: string[] = [];
    const chunks: Uint16Array[] = [];
    let off = 0;
    names.forEach((n, k) => {
      const t = tensors.get(n)!;
      const u = new Uint32Array(t.data.buffer);
      const dtype = k % 2 ? 'BF16' : 'F16';
      const h = dtype === 'BF16' ? Uint16Array.from(u, (x) => x >>> 16) : Uint16Array.from(t.data, () => 0x3800); // F16 0.5
      parts.push(`"${n}":{"dtype":"${dtype}","shape":${JSON.stringify(t.shape)},"data_offsets":[${off},${off + h.byteLength}]}`);
      off += h.byteLength;
      chunks.push(h);
    });
    const header = new TextEncoder().encode(`{${parts.join(',')}}`);
    const file = new Uint8Array(8 + header.length + off);
    new DataView(file.buffer).setBigUint64(0, BigInt(header.length), true);
    file.set(header, 8);
    let p = 8 + header.length;
    for (const c of chunks) { file.set(new Uint8Array(c.buffer), p); p += c.byteLength; }

    const back = loadHfModel(configToHfJson(small), file);
    names.forEach((n, k) => {
      const got = back.tensors.get(n)!.data;
      const want = k % 2
        ? new Float32Array(Uint32Array.from(new Uint32Array(tensors.get(n)!.data.buffer), (x) => x & 0xffff0000).buffer)
        : new Float32Array(got.length).fill(0.5);
      expect(bits(got), n).toEqual(bits(want));
    });
  });

  it('ignores lm_head when tie_word_embeddings is true', () => {
    const c = { ...small, tiedEmbeddings: true };
    const tensors = randomTensors(small); // includes lm_head.weight
    const back = loadHfModel(configToHfJson(c), writeSafetensors(tensors));
    expect(back.tensors.has('lm_head.weight')).toBe(false);
    expect(back.tensors.size).toBe(expectedTensors(c).size);
  });

  it('ignores extra tensors (e.g. rotary inv_freq)', () => {
    const tensors = randomTensors(small);
    tensors.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [2], data: Float32Array.from([1, 0.1]) });
    expect(loadHfModel(configToHfJson(small), writeSafetensors(tensors)).tensors.has('model.layers.0.self_attn.rotary_emb.inv_freq')).toBe(false);
  });
});

describe('loadHfModel errors', () => {
  it('untied config and no lm_head → missing-tensor naming lm_head.weight', () => {
    const tensors = randomTensors(small);
    tensors.delete('lm_head.weight');
    const e = expectFileError(() => loadHfModel(configToHfJson(small), writeSafetensors(tensors)), 'missing-tensor', ST);
    expect(e.message).toContain('lm_head.weight');
    expect(e.message).toContain('tie_word_embeddings');
  });

  it('a missing layer tensor → missing-tensor naming it and the file', () => {
    const tensors = randomTensors(small);
    tensors.delete('model.layers.1.self_attn.v_proj.weight');
    const e = expectFileError(
      () => loadHfModel(configToHfJson(small), writeSafetensors(tensors), { weights: 'dir/model.safetensors' }),
      'missing-tensor', 'dir/model.safetensors',
    );
    expect(e.message).toContain('model.layers.1.self_attn.v_proj.weight');
  });

  it('config with more layers than the file → missing-tensor', () => {
    const e = expectFileError(() => loadHfModel(configToHfJson({ ...small, nLayers: 3 }), writeSafetensors(randomTensors(small))), 'missing-tensor', ST);
    expect(e.message).toContain('model.layers.2.');
  });

  it('config inconsistent with tensor shapes → config', () => {
    const e = expectFileError(() => loadHfModel(configToHfJson({ ...small, hiddenDim: 32 }), writeSafetensors(randomTensors(small))), 'config', ST);
    expect(e.message).toContain('[24, 16]');
    expect(e.message).toContain('[32, 16]');
  });

  it('wrong kv heads → config (k_proj shape)', () => {
    const e = expectFileError(() => loadHfModel(configToHfJson({ ...small, nKvHeads: 4 }), writeSafetensors(randomTensors(small))), 'config', ST);
    expect(e.message).toContain('k_proj');
  });

  it('bad config.json → json naming config.json', () => {
    expectFileError(() => loadHfModel('{oops', writeSafetensors(randomTensors(small))), 'json', 'config.json');
  });

  it('bad safetensors → its own error naming the weights file', () => {
    expectFileError(() => loadHfModel(configToHfJson(small), new Uint8Array(3)), 'truncated', ST);
  });

  it('parseSafetensors of an export lists tensors in expectedTensors order', () => {
    const files = exportHfModel({ config: small, tensors: randomTensors(small) });
    expect([...parseSafetensors(files.get(ST)!).tensors.keys()]).toEqual([...expectedTensors(small).keys()]);
  });
});
