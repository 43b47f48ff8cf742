/** Hugging Face LLaMA config.json ⇄ LlamaConfig. */
import { validateConfig, type LlamaConfig } from '../schema/llama-config.ts';
import { ModelFileError } from './errors.ts';

type Json = Record<string, unknown>;

/**
 * Python's truth value of a JSON value, as transformers tests flags (`if config.attention_bias:`,
 * `nn.Linear(bias=config.mlp_bias)`): false, 0, null, "", [] and {} are false; everything else, the
 * string "false" included, is true.
 */
function pythonTruthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** Parse config.json text; throws ModelFileError ('json' / 'config') naming `file`. */
export function parseHfConfig(text: string, file = 'config.json'): LlamaConfig {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(file, `not valid JSON (${(e as Error).message})`, 'json');
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new ModelFileError(file, 'not a JSON object', 'json');
  return hfConfigFromJson(j as Json, file);
}

/**
 * LlamaConfig from an already-parsed config.json object. attention_bias, mlp_bias and
 * tie_word_embeddings are read as transformers reads them, by Python truthiness (so "true", 1 or even
 * "false" mean true, and biases are then refused as unsupported); rope_scaling and rope_parameters must
 * be an object or null, as transformers requires (it fails on a string or a list).
 */
export function hfConfigFromJson(j: Json, file = 'config.json'): LlamaConfig {
  const bad = (problem: string): never => { throw new ModelFileError(file, problem, 'config'); };

  const archs = Array.isArray(j.architectures) ? j.architectures.filter((a): a is string => typeof a === 'string') : [];
  const modelType = typeof j.model_type === 'string' ? j.model_type : undefined;
  const llamaArch = archs.some((a) => a === 'LlamaForCausalLM' || a === 'LlamaModel');
  if (!(llamaArch || (modelType === 'llama' && archs.length === 0))) {
    const what = [archs.length ? `architectures ${JSON.stringify(archs)}` : '', modelType ? `model_type "${modelType}"` : '']
      .filter(Boolean).join(', ') || 'no architectures or model_type';
    bad(`not a LLaMA model (${what}); expected "LlamaForCausalLM" / model_type "llama"`);
  }

  const int = (key: string, fallback?: number): number => {
    const v = j[key] ?? fallback;
    if (v === undefined) return bad(`missing "${key}"`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) return bad(`"${key}" must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const num = (key: string, v: unknown, fallback: number): number => {
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) return bad(`"${key}" must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  const tokenId = (key: string, fallback: number): number => {
    let v = j[key];
    if (Array.isArray(v)) v = v[0]; // e.g. eos_token_id: [128001, 128008]
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return bad(`"${key}" must be a token id, got ${JSON.stringify(j[key])}`);
    return v;
  };

  const dim = int('hidden_size');
  const nHeads = int('num_attention_heads');
  const object = (key: string): Json | null => {
    const v = j[key] ?? null;
    if (v !== null && (typeof v !== 'object' || Array.isArray(v))) {
      return bad(`"${key}" must be an object like {"rope_type": "default"} or null, got ${JSON.stringify(v)}`);
    }
    return v as Json | null;
  };
  const ropeParams = object('rope_parameters') ?? {};
  const scaling = object('rope_scaling');
  const c: LlamaConfig = {
    dim,
    hiddenDim: int('intermediate_size'),
    nLayers: int('num_hidden_layers'),
    nHeads,
    nKvHeads: int('num_key_value_heads', nHeads),
    vocabSize: int('vocab_size'),
    maxSeqLen: int('max_position_embeddings', 2048),
    normEps: num('rms_norm_eps', j.rms_norm_eps, 1e-6),
    ropeTheta: num('rope_theta', j.rope_theta ?? ropeParams.rope_theta, 10000),
    tiedEmbeddings: pythonTruthy(j.tie_word_embeddings ?? false),
    bosId: tokenId('bos_token_id', 1),
    eosId: tokenId('eos_token_id', 2),
  };

  // Features the engine does not implement: refuse rather than compute something else.
  if (j.hidden_act !== undefined && j.hidden_act !== 'silu') bad(`hidden_act "${String(j.hidden_act)}" is not supported (only silu)`);
  for (const key of ['attention_bias', 'mlp_bias']) {
    const v = j[key];
    if (pythonTruthy(v ?? false)) {
      const as = v === true ? '' : ` (transformers reads ${JSON.stringify(v)} as true: \`if config.${key}:\`)`;
      bad(`"${key}" is ${JSON.stringify(v)}${as}: biases on the ${key === 'mlp_bias' ? 'MLP' : 'attention'} projections are not supported`);
    }
  }
  if (j.head_dim !== undefined && j.head_dim !== null && j.head_dim !== dim / nHeads) {
    bad(`head_dim ${String(j.head_dim)} differs from hidden_size / num_attention_heads = ${dim / nHeads}; not supported`);
  }
  const ropeType = scaling?.rope_type ?? scaling?.type ?? ropeParams.rope_type ?? 'default';
  if (ropeType !== 'default') bad(`RoPE scaling "${String(ropeType)}" is not supported (only plain RoPE)`);

  try {
    validateConfig(c, file);
  } catch (e) {
    throw new ModelFileError(file, (e as Error).message.replace(`${file}: `, ''), 'config');
  }
  if (c.bosId >= c.vocabSize || c.eosId >= c.vocabSize) bad(`bos/eos ids ${c.bosId}/${c.eosId} out of range for vocab_size ${c.vocabSize}`);
  return c;
}

/** config.json text for `c`, as transformers writes it for LlamaForCausalLM (float32 weights). */
export function configToHfJson(c: LlamaConfig): string {
  const j = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.dim / c.nHeads,
    hidden_act: 'silu',
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    rope_scaling: null,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxSeqLen,
    tie_word_embeddings: c.tiedEmbeddings,
    bos_token_id: c.bosId,
    eos_token_id: c.eosId,
    attention_bias: false,
    attention_dropout: 0.0,
    mlp_bias: false,
    initializer_range: 0.02,
    pretraining_tp: 1,
    use_cache: true,
    torch_dtype: 'float32',
  };
  return JSON.stringify(j, null, 2) + '\n';
}
