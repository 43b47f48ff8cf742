import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportHfModel } from '../../src/io/export-hf.ts';
import { configToHfJson } from '../../src/io/hf-config.ts';
import { loadHfModel } from '../../src/io/hf-model.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { parseSafetensors, parseSafetensorsHeader, writeSafetensors } from '../../src/io/safetensors.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { llama2cToTokenizerJson, llama2cTokenizerConfig } from '../../src/io/tokenizer-hf.ts';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';
import { expectedTensors, type HostTensor, type LlamaWeights } from '../../src/schema/tensors.ts';
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

  it('config with more layers than the file → config naming config.json, with the implied size', () => {
    const e = expectFileError(() => loadHfModel(configToHfJson({ ...small, nLayers: 3 }), writeSafetensors(randomTensors(small))), 'config', 'config.json');
    // 3 layers: 11·16 embedding + 3·(2·16 + 2·16² + 2·8·16 + 3·24·16) + 16 + 11·16 head = 6224 floats; the file has 2 layers, 4272
    expect(e.message).toBe(
      'config.json: num_hidden_layers is 3 but model.safetensors has tensors of 2 layers (model.layers.0 to model.layers.1): ' +
        '3 layers imply 24896 bytes of F32 weights but model.safetensors has 17088 bytes of tensor data',
    );
  });

  it('config with fewer layers than the file → config naming config.json and a tensor of the extra layer', () => {
    const e = expectFileError(() => loadHfModel(configToHfJson({ ...small, nLayers: 1 }), writeSafetensors(randomTensors(small))), 'config', 'config.json');
    expect(e.message).toBe('config.json: num_hidden_layers is 1 but model.safetensors holds tensors of layer 1 (layers count from 0), e.g. "model.layers.1.input_layernorm.weight"');
  });

  it('absurd num_hidden_layers (2^20, 2^24, 1e9, 1e308) with the real stories260K weights → refused at once, implied size vs the file', () => {
    const files = exportHfModel(model);
    const st = files.get(ST)!;
    const j = JSON.parse(dec(files.get('config.json')!));
    // per layer 2·64 + 2·64² + 2·32·64 + 3·172·64 = 45440 floats; embedding 512·64 and the final norm 64 (tied)
    const cases: [number, string][] = [
      [2 ** 20, String(4 * (32768 + 45440 * 2 ** 20 + 64))],
      [2 ** 24, String(4 * (32768 + 45440 * 2 ** 24 + 64))],
      [1e9, String(4 * (32768 + 45440 * 1e9 + 64))],
      [1e308, 'more than 1.8e+308'],
    ];
    for (const [layers, implied] of cases) {
      const e = expectFileError(() => loadHfModel(JSON.stringify({ ...j, num_hidden_layers: layers }), st), 'config', 'config.json');
      expect(e.message).toBe(
        `config.json: num_hidden_layers is ${layers} but model.safetensors has tensors of 5 layers (model.layers.0 to model.layers.4): ` +
          `${layers} layers imply ${implied} bytes of F32 weights but model.safetensors has 1040128 bytes of tensor data`,
      );
    }
  });

  it('absurd hidden_size, intermediate_size or vocab_size → the shape they imply vs the tensor in the file', () => {
    const files = exportHfModel(model);
    const st = files.get(ST)!;
    const j = JSON.parse(dec(files.get('config.json')!));
    const e = expectFileError(() => loadHfModel(JSON.stringify({ ...j, vocab_size: 2 ** 40 }), st), 'config', ST);
    expect(e.message).toBe('model.safetensors: tensor "model.embed_tokens.weight" has shape [512, 64] but config.json implies [1099511627776, 64]');
    const h = expectFileError(() => loadHfModel(JSON.stringify({ ...j, intermediate_size: 1e300 }), st), 'config', ST);
    expect(h.message).toBe('model.safetensors: tensor "model.layers.0.mlp.gate_proj.weight" has shape [172, 64] but config.json implies [1e+300, 64]');
    const d = expectFileError(() => loadHfModel(JSON.stringify({ ...j, hidden_size: 2 ** 30, head_dim: 2 ** 27 }), st), 'config', ST);
    expect(d.message).toBe('model.safetensors: tensor "model.embed_tokens.weight" has shape [512, 64] but config.json implies [512, 1073741824]');
  });

  it('one tensor of layer 999999999 and num_hidden_layers 1e9 → the first missing tensor, found without visiting a billion layers', () => {
    const tensors = randomTensors(small);
    tensors.set('model.layers.999999999.input_layernorm.weight', { shape: [16], data: new Float32Array(16) });
    const e = expectFileError(() => loadHfModel(configToHfJson({ ...small, nLayers: 1e9 }), writeSafetensors(tensors)), 'missing-tensor', ST);
    expect(e.message).toBe('model.safetensors: missing tensor "model.layers.2.input_layernorm.weight"');
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
