/** tokenizer.json and tokenizer_config.json to ship beside an exported model. */
import { jsonBytes } from '../io/peft.ts';
import { llama2cToTokenizerJson, llama2cTokenizerConfig } from '../io/tokenizer-hf.ts';
import { Llama2cTokenizer } from '../io/tokenizer-llama2c.ts';
import type { Tokenizer } from '../io/tokenizer.ts';

export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/**
 * A llama2.c tokenizer converted to Hugging Face's files; otherwise the loaded tokenizer.json and
 * tokenizer_config.json copied byte for byte from `loadedFiles` (those of them that exist).
 */
export function tokenizerFiles(tokenizer: Tokenizer | undefined, loadedFiles: ReadonlyMap<string, Uint8Array>, maxSeqLen: number): Map<string, Uint8Array> {
  if (tokenizer instanceof Llama2cTokenizer) {
    return new Map([
      ['tokenizer.json', jsonBytes(llama2cToTokenizerJson(tokenizer))],
      ['tokenizer_config.json', jsonBytes(llama2cTokenizerConfig({ modelMaxLength: maxSeqLen }))],
    ]);
  }
  const out = new Map<string, Uint8Array>();
  for (const name of TOKENIZER_FILES) {
    const bytes = loadedFiles.get(name);
    if (bytes) out.set(name, bytes);
  }
  return out;
}
