import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelFileError } from '../../src/io/errors.ts';
import { hfToMetaRows, isLlama2cCheckpoint, llama2cFloatCount, metaToHfRows, parseLlama2c, writeLlama2c } from '../../src/io/llama2c.ts';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';
import { expectedTensors, linearName, type LlamaWeights } from '../../src/schema/tensors.ts';
import { expectFileError } from '../helpers/errors.ts';

const MODEL = new URL('../../../shared/fixtures/stories260K/stories260K.bin', import.meta.url);
const bytes = new Uint8Array(readFileSync(MODEL));
const FILE = 'stories260K.bin';

/** Float32 values of the checkpoint file starting at float index `at` (after the header). */
const raw = (at: number, n: number): Float32Array => new Float32Array(bytes.slice(28 + 4 * at, 28 + 4 * (at + n)).buffer);
const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** A small random model of config `c` (deterministic LCG). */
function randomWeights(c: LlamaConfig, seed = 1): LlamaWeights {
  let s = seed >>> 0;
  const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const tensors = new Map([...expectedTensors(c)].map(([n, shape]) => [n, { shape, data: Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, rnd) }]));
  return { config: c, tensors };
}

const small: LlamaConfig = {
  dim: 16, hiddenDim: 24, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 11, maxSeqLen: 9,
  normEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false, bosId: 1, eosId: 2,
};

describe('llama2.c checkpoint: stories260K', () => {
  const w = parseLlama2c(bytes, FILE);
  const c = w.config;

  it('has the README architecture numbers and run.c constants', () => {
    expect(c).toEqual({
      dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 512, maxSeqLen: 512,
      normEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: true, bosId: 1, eosId: 2,
    });
    expect(bytes.length).toBe(1056540);
    expect(28 + 4 * llama2cFloatCount({ dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 512, seqLen: 512 })).toBe(1056540);
    expect(isLlama2cCheckpoint(bytes)).toBe(true);
  });

  it('holds exactly the expected HF tensors (47, no lm_head) with their shapes', () => {
    expect(w.tensors.size).toBe(47);
    expect(w.tensors.has('lm_head.weight')).toBe(false);
    for (const [name, shape] of expectedTensors(c)) {
      expect(w.tensors.get(name)!.shape, name).toEqual(shape);
      expect(w.tensors.get(name)!.data.length, name).toBe(shape.reduce((a, d) => a * d, 1));
    }
    expect(w.tensors.get(linearName(0, 'k'))!.shape).toEqual([32, 64]);
  });

  it('maps file offsets to tensors: embedding and v as stored, q and k permuted to HF rows', () => {
    const V = 512, D = 64, L = 5, KV = 32, H = 172;
    expect(bits(w.tensors.get('model.embed_tokens.weight')!.data)).toEqual(bits(raw(0, V * D)));
    const rmsAtt = V * D, wq = rmsAtt + L * D, wk = wq + L * D * D, wv = wk + L * KV * D, wo = wv + L * KV * D;
    const rmsFfn = wo + L * D * D, w1 = rmsFfn + L * D, w2 = w1 + L * H * D, w3 = w2 + L * D * H, rmsFinal = w3 + L * H * D;
    expect(bits(w.tensors.get('model.layers.2.input_layernorm.weight')!.data)).toEqual(bits(raw(rmsAtt + 2 * D, D)));
    expect(bits(w.tensors.get(linearName(1, 'q'))!.data)).toEqual(bits(metaToHfRows(raw(wq + D * D, D * D), 8, D, D)));
    expect(bits(w.tensors.get(linearName(3, 'k'))!.data)).toEqual(bits(metaToHfRows(raw(wk + 3 * KV * D, KV * D), 4, KV, D)));
    expect(bits(w.tensors.get(linearName(4, 'v'))!.data)).toEqual(bits(raw(wv + 4 * KV * D, KV * D)));
    expect(bits(w.tensors.get(linearName(0, 'o'))!.data)).toEqual(bits(raw(wo, D * D)));
    expect(bits(w.tensors.get('model.layers.4.post_attention_layernorm.weight')!.data)).toEqual(bits(raw(rmsFfn + 4 * D, D)));
    expect(bits(w.tensors.get(linearName(2, 'gate'))!.data)).toEqual(bits(raw(w1 + 2 * H * D, H * D)));
    expect(bits(w.tensors.get(linearName(2, 'down'))!.data)).toEqual(bits(raw(w2 + 2 * D * H, D * H)));
    expect(bits(w.tensors.get(linearName(2, 'up'))!.data)).toEqual(bits(raw(w3 + 2 * H * D, H * D)));
    expect(bits(w.tensors.get('model.norm.weight')!.data)).toEqual(bits(raw(rmsFinal, D)));
    // the q permutation really moves rows: HF row 1 of head 0 is Meta row 2
    expect(bits(w.tensors.get(linearName(0, 'q'))!.data.subarray(D, 2 * D))).toEqual(bits(raw(wq + 2 * D, D)));
  });

  it('writeLlama2c reproduces the file: tensors bit-exact, RoPE tables within 1e-5', () => {
    const out = writeLlama2c(w);
    expect(out.length).toBe(bytes.length);
    const ropeStart = 28 + 4 * (llama2cFloatCount({ dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 512, seqLen: 512 }) - 512 * 8);
    expect(out.subarray(0, ropeStart)).toEqual(bytes.subarray(0, ropeStart));
    const a = new Float32Array(out.slice(ropeStart).buffer), b = new Float32Array(bytes.slice(ropeStart).buffer);
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    expect(maxDiff).toBeLessThan(1e-5); // f64 vs PyTorch f32 cos/sin
    expect(a[0]).toBe(1); // cos(0)
  });
});

describe('llama2.c untied classifier', () => {
  it('a negative vocab_size puts wcls at the end as lm_head.weight; write/parse round-trips bit-exactly', () => {
    const w = randomWeights(small, 7);
    const file = writeLlama2c(w);
    expect(new DataView(file.buffer).getInt32(20, true)).toBe(-11);
    const back = parseLlama2c(file, 'small.bin');
    expect(back.config).toEqual(small);
    expect([...back.tensors.keys()]).toEqual([...expectedTensors(small).keys()]);
    for (const [name, t] of w.tensors) expect(bits(back.tensors.get(name)!.data), name).toEqual(bits(t.data));
    // wcls is the last vocab*dim floats
    expect(bits(new Float32Array(file.slice(file.length - 11 * 16 * 4).buffer))).toEqual(bits(w.tensors.get('lm_head.weight')!.data));
  });
});

describe('metaToHfRows / hfToMetaRows', () => {
  it('permute rows as convert_llama_weights_to_hf (2 heads of size 4)', () => {
    const w = Float32Array.from({ length: 8 * 3 }, (_, i) => i);
    const hf = metaToHfRows(w, 2, 8, 3);
    const rowOrder = Array.from({ length: 8 }, (_, r) => hf[r * 3]! / 3);
    expect(rowOrder).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
  });

  it('invert each other', () => {
    const w = Float32Array.from({ length: 32 * 5 }, (_, i) => Math.sin(i));
    for (const heads of [1, 2, 4, 8, 16]) {
      expect(hfToMetaRows(metaToHfRows(w, heads, 32, 5), heads, 32, 5)).toEqual(w);
      expect(metaToHfRows(hfToMetaRows(w, heads, 32, 5), heads, 32, 5)).toEqual(w);
    }
    expect(metaToHfRows(w, 4, 32, 5)).not.toEqual(w);
  });
});

describe('llama2.c bad files', () => {
  const withHeader = (vals: number[], extraFloats = 0): Uint8Array => {
    const b = new Uint8Array(28 + 4 * extraFloats);
    vals.forEach((v, i) => new DataView(b.buffer).setInt32(i * 4, v, true));
    return b;
  };

  it('truncated file says how many bytes were expected and got', () => {
    const e = expectFileError(() => parseLlama2c(bytes.subarray(0, bytes.length - 100), FILE), 'truncated', FILE);
    expect(e.message).toBe(
      'stories260K.bin: the header (dim 64, hidden_dim 172, n_layers 5, n_heads 8, n_kv_heads 4, vocab_size 512, seq_len 512) ' +
        'implies 1056540 bytes (1056512 bytes of weights after the 28-byte header) but the file has 1056440: truncated, or the header is wrong',
    );
  });

  /** Bytes a legacy checkpoint of header `h` has, written out: embedding, per-layer tensors, final norm, RoPE tables, wcls. */
  const impliedBytes = ([dim, hid, L, heads, kvHeads, vocab, seq]: number[]): number => {
    const V = Math.abs(vocab!), kv = (dim! / heads!) * kvHeads!;
    const perLayer = 2 * dim! + 2 * dim! * dim! + 2 * kv * dim! + 3 * hid! * dim!;
    return 28 + 4 * (V * dim! + L! * perLayer + dim! + seq! * (dim! / heads!) + (vocab! < 0 ? V * dim! : 0));
  };
  const stories = [64, 172, 5, 8, 4, 512, 512];

  it('absurd layer counts (2^20, 2^24, 1e9, 2^31 - 1) are refused at once with the implied size vs the real one', () => {
    expect(impliedBytes(stories)).toBe(bytes.length);
    expect(impliedBytes([64, 172, 2 ** 24, 8, 4, 512, 512])).toBe(3049426927900); // 2^24 · 45440 + 36928 floats
    for (const layers of [2 ** 20, 2 ** 24, 1e9, 2 ** 31 - 1]) {
      const b = bytes.slice(); // the real 1056540-byte checkpoint with n_layers replaced
      new DataView(b.buffer).setInt32(8, layers, true);
      const e = expectFileError(() => parseLlama2c(b, FILE), 'truncated', FILE);
      const n = impliedBytes([64, 172, layers, 8, 4, 512, 512]);
      expect(e.message).toBe(
        `stories260K.bin: the header (dim 64, hidden_dim 172, n_layers ${layers}, n_heads 8, n_kv_heads 4, vocab_size 512, seq_len 512) ` +
          `implies ${n} bytes (${n - 28} bytes of weights after the 28-byte header) but the file has 1056540: truncated, or the header is wrong`,
      );
      expect(isLlama2cCheckpoint(b)).toBe(false);
    }
  });

  it('absurd dim, hidden_dim, heads, vocab or seq_len (up to 2^31 - 1) → the implied size, never an allocation', () => {
    const max = 2 ** 31 - 1;
    const headers = [
      [2 ** 30, 172, 5, 8, 4, 512, 512], [64, max, 5, 8, 4, 512, 512], [64, 172, 5, 8, 4, max, 512],
      [64, 172, 5, 8, 4, -max, 512], [64, 172, 5, 8, 4, 512, max], [2 ** 30, 172, 5, 2 ** 29, 2 ** 29, 512, 512],
    ];
    for (const h of headers) {
      const b = bytes.slice();
      h.forEach((v, i) => new DataView(b.buffer).setInt32(i * 4, v, true));
      const e = expectFileError(() => parseLlama2c(b, FILE), 'truncated', FILE);
      const n = impliedBytes(h);
      const fmt = (x: number): string => (Number.isSafeInteger(x) ? String(x) : x.toPrecision(4));
      expect(e.message, h.join(',')).toContain(`implies ${fmt(n)} bytes (${fmt(n - 28)} bytes of weights after the 28-byte header) but the file has 1056540: truncated`);
    }
    const e = expectFileError(() => parseLlama2c(withHeader([2 ** 30, 172, 5, 8, 4, 512, 512]), FILE), 'truncated', FILE);
    expect(e.message).toContain('implies 6.918e+19 bytes (6.918e+19 bytes of weights after the 28-byte header) but the file has 28');
  });

  it('file shorter than the 28-byte header → truncated', () => {
    const e = expectFileError(() => parseLlama2c(bytes.subarray(0, 10), FILE), 'truncated', FILE);
    expect(e.message).toContain('got 10 bytes');
  });

  it('negative dim → config', () => {
    const e = expectFileError(() => parseLlama2c(withHeader([-64, 172, 5, 8, 4, 512, 512]), FILE), 'config', FILE);
    expect(e.message).toContain('dim = -64');
  });

  it('zero heads → config', () => {
    expectFileError(() => parseLlama2c(withHeader([64, 172, 5, 0, 4, 512, 512]), FILE), 'config', FILE);
  });

  it('dim not a multiple of n_heads / n_heads not a multiple of n_kv_heads → config', () => {
    expectFileError(() => parseLlama2c(withHeader([64, 172, 5, 7, 7, 512, 512]), FILE), 'config', FILE);
    expectFileError(() => parseLlama2c(withHeader([64, 172, 5, 8, 3, 512, 512]), FILE), 'config', FILE);
  });

  it('zero or negative header values → config naming the value', () => {
    const e = expectFileError(() => parseLlama2c(withHeader([64, 172, 0, 8, 4, 512, 512]), FILE), 'config', FILE);
    expect(e.message).toBe('stories260K.bin: header n_layers = 0 is not a plausible value (header: 64, 172, 0, 8, 4, 512, 512); not a llama2.c checkpoint?');
    const s = expectFileError(() => parseLlama2c(withHeader([64, 172, 5, 8, 4, 512, -1]), FILE), 'config', FILE);
    expect(s.message).toBe('stories260K.bin: header seq_len = -1 is not a plausible value (header: 64, 172, 5, 8, 4, 512, -1); not a llama2.c checkpoint?');
  });

  it('random bytes → ModelFileError, never a crash', () => {
    let s = 12345;
    for (let k = 0; k < 50; k++) {
      const b = Uint8Array.from({ length: 200 + k }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24));
      expect(() => parseLlama2c(b, FILE)).toThrow(ModelFileError);
    }
  });

  it('extra bytes after the data → byte-count', () => {
    const b = new Uint8Array(bytes.length + 4);
    b.set(bytes);
    const e = expectFileError(() => parseLlama2c(b, FILE), 'byte-count', FILE);
    expect(e.message).toContain(String(bytes.length + 4));
    expect(isLlama2cCheckpoint(b)).toBe(false);
  });

  it('newer "ak42" exports → format', () => {
    const b = withHeader([0x616b3432, 1, 0, 0, 0, 0, 0]);
    const e = expectFileError(() => parseLlama2c(b, FILE), 'format', FILE);
    expect(e.message).toContain('ak42');
  });
});
