/** LLaMA architecture numbers, whatever file format they came from. */
export interface LlamaConfig {
  /** Model width (hidden_size). */
  dim: number;
  /** FFN width (intermediate_size). */
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  /** Key/value heads; nHeads is a multiple of it (grouped-query attention). */
  nKvHeads: number;
  vocabSize: number;
  /** Longest context the model supports (max_position_embeddings / llama2.c seq_len). */
  maxSeqLen: number;
  /** RMSNorm epsilon (rms_norm_eps; llama2.c uses 1e-5). */
  normEps: number;
  /** RoPE base (rope_theta; 10000 for llama2.c). */
  ropeTheta: number;
  /** The output head shares the token embedding matrix. */
  tiedEmbeddings: boolean;
  bosId: number;
  eosId: number;
}

export const headDim = (c: LlamaConfig): number => c.dim / c.nHeads;
export const kvDim = (c: LlamaConfig): number => (c.dim / c.nHeads) * c.nKvHeads;

/** Throw a descriptive error when the numbers cannot describe a LLaMA model. `where` names the source. */
export function validateConfig(c: LlamaConfig, where: string): void {
  const ints: (keyof LlamaConfig)[] = ['dim', 'hiddenDim', 'nLayers', 'nHeads', 'nKvHeads', 'vocabSize', 'maxSeqLen'];
  for (const k of ints) {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${where}: ${k} must be a positive integer, got ${v}`);
  }
  if (c.dim % c.nHeads !== 0) throw new Error(`${where}: dim ${c.dim} is not a multiple of nHeads ${c.nHeads}`);
  if ((c.dim / c.nHeads) % 2 !== 0) throw new Error(`${where}: head size ${c.dim / c.nHeads} must be even for RoPE`);
  if (c.nHeads % c.nKvHeads !== 0) throw new Error(`${where}: nHeads ${c.nHeads} is not a multiple of nKvHeads ${c.nKvHeads}`);
  if (!(c.normEps > 0)) throw new Error(`${where}: normEps must be positive, got ${c.normEps}`);
  if (!(c.ropeTheta > 0)) throw new Error(`${where}: ropeTheta must be positive, got ${c.ropeTheta}`);
}
