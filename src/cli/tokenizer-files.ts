/** Tokenizer files to ship next to an exported model: converted from tokenizer.bin, or copied. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { llama2cToTokenizerJson, llama2cTokenizerConfig } from '../io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../io/tokenizer-llama2c.ts';
import type { Tokenizer } from '../io/tokenizer.ts';

export async function tokenizerFilesFor(
  tokenizer: Tokenizer | undefined, tokenizerFile: string | undefined, maxSeqLen: number,
): Promise<{ json?: object; config?: object }> {
  if (tokenizer instanceof Llama2cTokenizer) {
    return { json: llama2cToTokenizerJson(tokenizer), config: llama2cTokenizerConfig({ modelMaxLength: maxSeqLen }) };
  }
  if (!tokenizerFile || !tokenizerFile.endsWith('.json')) return {};
  const json = JSON.parse(await readFile(tokenizerFile, 'utf8')) as object;
  const cfgPath = path.join(path.dirname(tokenizerFile), 'tokenizer_config.json');
  const config = await readFile(cfgPath, 'utf8').then((t) => JSON.parse(t) as object, () => undefined);
  return { json, config };
}

/** tokenizer.json and tokenizer_config.json beside `tokenizerFile` as raw bytes, when it is a tokenizer.json. */
export async function tokenizerJsonFiles(tokenizerFile: string | undefined): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  if (!tokenizerFile || !tokenizerFile.endsWith('.json')) return out;
  out.set('tokenizer.json', new Uint8Array(await readFile(tokenizerFile)));
  const cfg = await readFile(path.join(path.dirname(tokenizerFile), 'tokenizer_config.json')).catch(() => undefined);
  if (cfg) out.set('tokenizer_config.json', new Uint8Array(cfg));
  return out;
}
