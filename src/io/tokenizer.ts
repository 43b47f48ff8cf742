/** What the engine needs from any tokenizer (llama2.c tokenizer.bin or a Hugging Face tokenizer.json). */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  /** Token ids of `text`, with BOS first when `bos` and EOS last when `eos`. */
  encode(text: string, opts?: { bos?: boolean; eos?: boolean }): number[];
  /** Text of `ids` (BOS/EOS dropped), as generation prints it. */
  decode(ids: readonly number[]): string;
}
