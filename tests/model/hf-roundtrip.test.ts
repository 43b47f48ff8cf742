import { describe, expect, it } from 'vitest';
import { exportHfModel } from '../../src/io/export-hf.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { loadModelFromFiles } from '../../src/io/load-model.ts';
import { llama2cToTokenizerJson, llama2cTokenizerConfig } from '../../src/io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../../src/io/tokenizer-llama2c.ts';
import { generate } from '../../src/model/generate.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { GOLDEN_IDS_20, readFixture, STORIES_BIN, TOK512_BIN } from '../helpers/fixtures.ts';
import { closeness, testGpu } from '../helpers/gpu.ts';

describe('Hugging Face export of stories260K', () => {
  it('loads back through the HF path with the same logits (≤ 1e-5) and the same greedy text', async () => {
    const gpu = await testGpu();
    const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
    const tok = Llama2cTokenizer.fromBytes(readFixture(TOK512_BIN), 'tok512.bin');
    const files = exportHfModel(weights, llama2cToTokenizerJson(tok), llama2cTokenizerConfig());
    const loaded = await loadModelFromFiles([...files].map(([name, bytes]) => ({ name, bytes })));
    expect(loaded.tokenizer).toBeDefined();

    const a = LlamaModel.upload(gpu, weights);
    const b = LlamaModel.upload(gpu, loaded.weights);
    const ids = [...GOLDEN_IDS_20, 100, 200, 300, 400, 500, 42, 7, 3, 259, 511, 2, 1];
    const la = await a.logits(ids), lb = await b.logits(ids);
    const diff = closeness(lb, la, 1e-5, 0);
    expect(diff.maxAbs).toBeLessThanOrEqual(1e-5);

    const ga = await generate(a, tok, { maxTokens: 60 });
    const gb = await generate(b, loaded.tokenizer!, { maxTokens: 60 });
    expect(gb.ids).toEqual(ga.ids);
    expect(gb.text).toBe(ga.text);
    a.dispose();
    b.dispose();
  });
});
