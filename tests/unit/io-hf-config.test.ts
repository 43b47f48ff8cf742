import { describe, expect, it } from 'vitest';
import { configToHfJson, parseHfConfig } from '../../src/io/hf-config.ts';
import type { LlamaConfig } from '../../src/schema/llama-config.ts';
import { expectFileError } from '../helpers/errors.ts';

/** TinyLlama-1.1B-Chat-v1.0's config.json, verbatim values. */
const tinyLlama = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu',
  hidden_size: 2048, initializer_range: 0.02, intermediate_size: 5632, max_position_embeddings: 2048, model_type: 'llama',
  num_attention_heads: 32, num_hidden_layers: 22, num_key_value_heads: 4, pretraining_tp: 1, rms_norm_eps: 1e-5,
  rope_scaling: null, rope_theta: 10000.0, tie_word_embeddings: false, torch_dtype: 'bfloat16', transformers_version: '4.35.0',
  use_cache: true, vocab_size: 32000,
};

const cfg = (patch: Record<string, unknown>): string => JSON.stringify({ ...tinyLlama, ...patch });

describe('HF config.json', () => {
  it('parses a real LLaMA config', () => {
    expect(parseHfConfig(JSON.stringify(tinyLlama))).toEqual({
      dim: 2048, hiddenDim: 5632, nLayers: 22, nHeads: 32, nKvHeads: 4, vocabSize: 32000, maxSeqLen: 2048,
      normEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false, bosId: 1, eosId: 2,
    });
  });

  it('applies defaults: kv heads = heads, rope_theta 10000, untied, bos 1 / eos 2', () => {
    const { num_key_value_heads: _a, rope_theta: _b, tie_word_embeddings: _c, bos_token_id: _d, eos_token_id: _e, ...rest } = tinyLlama;
    const c = parseHfConfig(JSON.stringify(rest));
    expect([c.nKvHeads, c.ropeTheta, c.tiedEmbeddings, c.bosId, c.eosId]).toEqual([32, 10000, false, 1, 2]);
  });

  it('reads rope_parameters.rope_theta (newer configs), tie_word_embeddings and an eos list', () => {
    const { rope_theta: _t, ...rest } = tinyLlama;
    const c = parseHfConfig(JSON.stringify({ ...rest, rope_parameters: { rope_type: 'default', rope_theta: 500000 }, tie_word_embeddings: true, eos_token_id: [7, 8], bos_token_id: 5 }));
    expect([c.ropeTheta, c.tiedEmbeddings, c.bosId, c.eosId]).toEqual([500000, true, 5, 7]);
  });

  it('accepts model_type "llama" without architectures', () => {
    const { architectures: _a, ...rest } = tinyLlama;
    expect(parseHfConfig(JSON.stringify(rest)).dim).toBe(2048);
  });

  it('configToHfJson round-trips through parseHfConfig', () => {
    const c: LlamaConfig = {
      dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 512, maxSeqLen: 512,
      normEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: true, bosId: 1, eosId: 2,
    };
    const text = configToHfJson(c);
    expect(parseHfConfig(text)).toEqual(c);
    const j = JSON.parse(text);
    expect(j.architectures).toEqual(['LlamaForCausalLM']);
    expect(j.model_type).toBe('llama');
    expect(j.head_dim).toBe(8);
    expect(j.num_key_value_heads).toBe(4);
    expect(j.tie_word_embeddings).toBe(true);
  });
});

describe('HF config.json errors', () => {
  it('non-JSON → json, naming config.json', () => {
    expectFileError(() => parseHfConfig('{"hidden_size": 64,'), 'json', 'config.json');
  });

  it('uses the given file name', () => {
    expectFileError(() => parseHfConfig('nope', 'models/x/config.json'), 'json', 'models/x/config.json');
  });

  it('JSON that is not an object → json', () => {
    expectFileError(() => parseHfConfig('[1,2]'), 'json', 'config.json');
  });

  it('not a LLaMA architecture → config, naming what it is', () => {
    const e = expectFileError(() => parseHfConfig(cfg({ architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' })), 'config', 'config.json');
    expect(e.message).toContain('GPT2LMHeadModel');
    expect(e.message).toContain('LlamaForCausalLM');
  });

  it('missing hidden_size → config', () => {
    const { hidden_size: _h, ...rest } = tinyLlama;
    const e = expectFileError(() => parseHfConfig(JSON.stringify(rest)), 'config', 'config.json');
    expect(e.message).toContain('hidden_size');
  });

  it('non-integer or negative sizes → config', () => {
    expectFileError(() => parseHfConfig(cfg({ num_hidden_layers: 2.5 })), 'config', 'config.json');
    expectFileError(() => parseHfConfig(cfg({ vocab_size: -1 })), 'config', 'config.json');
    expectFileError(() => parseHfConfig(cfg({ intermediate_size: '5632' })), 'config', 'config.json');
  });

  it('inconsistent heads → config', () => {
    expectFileError(() => parseHfConfig(cfg({ num_key_value_heads: 5 })), 'config', 'config.json');
    expectFileError(() => parseHfConfig(cfg({ num_attention_heads: 30 })), 'config', 'config.json');
  });

  it('unsupported features (RoPE scaling, biases, other activations) → config', () => {
    expect(expectFileError(() => parseHfConfig(cfg({ rope_scaling: { rope_type: 'llama3', factor: 32 } })), 'config', 'config.json').message).toContain('llama3');
    expectFileError(() => parseHfConfig(cfg({ attention_bias: true })), 'config', 'config.json');
    expectFileError(() => parseHfConfig(cfg({ hidden_act: 'gelu' })), 'config', 'config.json');
  });
});

describe('HF config.json flags read as transformers reads them', () => {
  it('truthy non-boolean attention_bias / mlp_bias ("true", 1, "yes", "false", [0]) are biases, refused naming config.json and the field', () => {
    const cases: [string, unknown, string][] = [
      ['attention_bias', 'true', 'config.json: "attention_bias" is "true" (transformers reads "true" as true: `if config.attention_bias:`): biases on the attention projections are not supported'],
      ['attention_bias', 1, 'config.json: "attention_bias" is 1 (transformers reads 1 as true: `if config.attention_bias:`): biases on the attention projections are not supported'],
      ['mlp_bias', 'yes', 'config.json: "mlp_bias" is "yes" (transformers reads "yes" as true: `if config.mlp_bias:`): biases on the MLP projections are not supported'],
      ['mlp_bias', 'false', 'config.json: "mlp_bias" is "false" (transformers reads "false" as true: `if config.mlp_bias:`): biases on the MLP projections are not supported'],
      ['attention_bias', [0], 'config.json: "attention_bias" is [0] (transformers reads [0] as true: `if config.attention_bias:`): biases on the attention projections are not supported'],
      ['mlp_bias', true, 'config.json: "mlp_bias" is true: biases on the MLP projections are not supported'],
    ];
    for (const [key, v, msg] of cases) {
      expect(expectFileError(() => parseHfConfig(cfg({ [key]: v })), 'config', 'config.json').message).toBe(msg);
    }
  });

  it('falsy values (false, 0, null, "", [], {}) mean no bias, as in Python', () => {
    for (const v of [false, 0, null, '', [], {}]) {
      expect(parseHfConfig(cfg({ attention_bias: v, mlp_bias: v })).dim).toBe(2048);
    }
  });

  it('tie_word_embeddings is read by truthiness too: 1 and "true" tie, 0 and null do not', () => {
    expect(parseHfConfig(cfg({ tie_word_embeddings: 1 })).tiedEmbeddings).toBe(true);
    expect(parseHfConfig(cfg({ tie_word_embeddings: 'true' })).tiedEmbeddings).toBe(true);
    expect(parseHfConfig(cfg({ tie_word_embeddings: 0 })).tiedEmbeddings).toBe(false);
    expect(parseHfConfig(cfg({ tie_word_embeddings: null })).tiedEmbeddings).toBe(false);
  });

  it('a rope_scaling or rope_parameters that is not an object (string, number, array) is refused; null and {"rope_type": "default"} are plain RoPE', () => {
    for (const v of ['linear', 2, [1, 2], true]) {
      const e = expectFileError(() => parseHfConfig(cfg({ rope_scaling: v })), 'config', 'config.json');
      expect(e.message).toBe(`config.json: "rope_scaling" must be an object like {"rope_type": "default"} or null, got ${JSON.stringify(v)}`);
    }
    expect(expectFileError(() => parseHfConfig(cfg({ rope_parameters: 'default' })), 'config', 'config.json').message)
      .toBe('config.json: "rope_parameters" must be an object like {"rope_type": "default"} or null, got "default"');
    expect(parseHfConfig(cfg({ rope_scaling: null })).ropeTheta).toBe(10000);
    expect(parseHfConfig(cfg({ rope_scaling: { rope_type: 'default' } })).ropeTheta).toBe(10000);
    expect(parseHfConfig(cfg({ rope_scaling: { type: 'default' } })).ropeTheta).toBe(10000);
  });

  it('zero, negative and non-integer sizes name the field and value', () => {
    expect(expectFileError(() => parseHfConfig(cfg({ num_hidden_layers: 0 })), 'config', 'config.json').message)
      .toBe('config.json: "num_hidden_layers" must be a positive integer, got 0');
    expect(expectFileError(() => parseHfConfig(cfg({ num_hidden_layers: -3 })), 'config', 'config.json').message)
      .toBe('config.json: "num_hidden_layers" must be a positive integer, got -3');
    expect(expectFileError(() => parseHfConfig(cfg({ hidden_size: 64.5 })), 'config', 'config.json').message)
      .toBe('config.json: "hidden_size" must be a positive integer, got 64.5');
  });
});
