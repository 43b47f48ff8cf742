/** `cli convert`: a llama2.c checkpoint and tokenizer.bin → a Hugging Face LLaMA directory. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { exportHfModel } from '../io/export-hf.ts';
import { ModelFileError } from '../io/errors.ts';
import { writeFiles } from '../io/fs-node.ts';
import { isLlama2cCheckpoint, parseLlama2c } from '../io/llama2c.ts';
import { llama2cToTokenizerJson, llama2cTokenizerConfig } from '../io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../io/tokenizer-llama2c.ts';
import { requireString, type Values } from './args.ts';

async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    throw new ModelFileError(file, `cannot read (${(e as Error).message})`, 'missing-file');
  }
}

export async function runConvert(v: Values): Promise<void> {
  const modelPath = requireString(v, 'model');
  const tokenizerPath = requireString(v, 'tokenizer');
  const out = requireString(v, 'out');
  const modelBytes = await readBytes(modelPath);
  if (!isLlama2cCheckpoint(modelBytes)) {
    throw new ModelFileError(modelPath, 'is not a llama2.c checkpoint (convert takes a llama2.c .bin)', 'config');
  }
  const weights = parseLlama2c(modelBytes, modelPath);
  const tokenizer = Llama2cTokenizer.fromBytes(await readBytes(tokenizerPath), tokenizerPath, weights.config.vocabSize);
  const files = exportHfModel(
    weights,
    llama2cToTokenizerJson(tokenizer),
    llama2cTokenizerConfig({ modelMaxLength: weights.config.maxSeqLen }),
  );
  await writeFiles(out, files);
  process.stderr.write(`wrote ${[...files.keys()].map((f) => path.join(out, f)).join(', ')}\n`);
}
