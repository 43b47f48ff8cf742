import { describe, expect, it } from 'vitest';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { generate } from '../../src/model/generate.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { GOLDEN_IDS_20, GOLDEN_TEXT, readFixture, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';
import { testGpu } from '../helpers/gpu.ts';

describe('generation on stories260K', () => {
  const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
  const tokenizer = Llama2cTokenizer.fromBytes(readFixture(TOK512_BIN), 'tok512.bin');

  it('greedy decoding from BOS reproduces the published sample character for character', async () => {
    const gpu = await testGpu();
    const model = LlamaModel.upload(gpu, weights);
    const streamed: string[] = [];
    // The published sample is the first 131 generated tokens.
    const r = await generate(model, tokenizer, { maxTokens: 131, temperature: 0 }, (piece) => streamed.push(piece));
    expect(r.ids.slice(0, 20)).toEqual(GOLDEN_IDS_20);
    expect(r.text).toBe(GOLDEN_TEXT);
    expect(streamed.join('')).toBe(GOLDEN_TEXT);
    model.dispose();
  });

  it('sampling is reproducible with a seed and changes with it', async () => {
    const gpu = await testGpu();
    const model = LlamaModel.upload(gpu, weights);
    const opts = { prompt: 'Once upon a time', maxTokens: 24, temperature: 1, topP: 0.9 };
    const a = await generate(model, tokenizer, { ...opts, seed: 7 });
    const b = await generate(model, tokenizer, { ...opts, seed: 7 });
    const c = await generate(model, tokenizer, { ...opts, seed: 8 });
    expect(a.ids).toEqual(b.ids);
    expect(a.ids).not.toEqual(c.ids);
    expect(a.text.startsWith('Once upon a time')).toBe(true);
    // BOS then the prompt's tokens, as the tokenizer encodes them.
    expect(a.ids.slice(0, 5)).toEqual(tokenizer.encode('Once upon a time', { bos: true }));
    model.dispose();
  });

  it('stops at the end of the context', async () => {
    const gpu = await testGpu();
    const small = { ...weights, config: { ...weights.config, maxSeqLen: 12 } };
    const model = LlamaModel.upload(gpu, small);
    const r = await generate(model, tokenizer, { maxTokens: 100 });
    expect(r.ids.length).toBe(12);
    model.dispose();
  });
});
