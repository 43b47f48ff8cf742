/** What a run will train and roughly how much GPU memory it takes, before it starts (pure arithmetic). */
import type { LlamaConfig } from '../../schema/llama-config.ts';
import { moraRank } from '../../schema/mora.ts';
import { moduleShape } from '../../schema/tensors.ts';
import type { TrainConfig } from '../../schema/train-config.ts';

/**
 * Trainable parameters: full fine-tuning trains all `paramCount`; LoRA r·(in + out) per targeted
 * module per layer (A is (r, in), B is (out, r)); DoRA that plus a magnitude per output (out);
 * MoRA r̂² per targeted module per layer.
 */
export function trainableParams(config: TrainConfig, c: LlamaConfig, paramCount: number): number {
  const method: string = config.method;
  if (method === 'full') return paramCount;
  let perLayer = 0;
  for (const m of config.targets) {
    const [out, inF] = moduleShape(c, m);
    if (method === 'mora') perLayer += moraRank(inF, out, config.rank, config.moraType) ** 2;
    else perLayer += config.rank * (inF + out) + (method === 'dora' ? out : 0);
  }
  return perLayer * c.nLayers;
}

export interface MemoryEstimate {
  weights: number;
  adapters: number;
  gradients: number;
  adam: number;
  activations: number;
  total: number;
}

/**
 * GPU memory of a training step in bytes, everything float32 (4 bytes):
 *
 *   weights      4·P                    P = model parameters
 *   adapters     4·N                    N = trainable parameters (0 for full fine-tuning: they are the weights)
 *   gradients    4·N
 *   Adam m, v    8·N
 *   activations  4·B·T·(L·(7D + 2K + 3H + h + a·r) + D + 2V)
 *
 * with B batch, T sequence length, L layers, D width, K key/value width, H FFN width, h heads,
 * V vocabulary. Per layer the backward keeps, per token: the residual entering, between and leaving
 * the blocks and the two norm outputs, q and the attention output (7 of width D), k and v (K each),
 * gate, up and SwiGLU (H each), one log-sum-exp per head; adapters keep x·Aᵀ (r per targeted
 * module, a modules). Then the final norm (D) and the logits with their gradient (V each).
 * Backward transients (a few (B·T, H) buffers), the KV cache of generation and the pool's rounding
 * are not counted, so real use is somewhat higher.
 */
export function memoryEstimate(config: TrainConfig, c: LlamaConfig, paramCount: number): MemoryEstimate {
  const N = trainableParams(config, c, paramCount);
  const full = config.method === 'full';
  const kv = (c.dim / c.nHeads) * c.nKvHeads;
  const adapterActs = full ? 0 : config.targets.length * config.rank;
  const perToken = c.nLayers * (7 * c.dim + 2 * kv + 3 * c.hiddenDim + c.nHeads + adapterActs) + c.dim + 2 * c.vocabSize;
  const m: Omit<MemoryEstimate, 'total'> = {
    weights: 4 * paramCount,
    adapters: full ? 0 : 4 * N,
    gradients: 4 * N,
    adam: 8 * N,
    activations: 4 * config.batch * config.seq * perToken,
  };
  return { ...m, total: m.weights + m.adapters + m.gradients + m.adam + m.activations };
}

/** 1536 → "1.5 KiB", 3_400_000 → "3.2 MiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** The device's buffer limits a training step must fit (AdapterSummary.limits). */
export interface BufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/** The largest buffer a step allocates, named, and how many bytes each token of the batch adds to it. */
export interface StepBuffer {
  name: 'logits' | 'FFN activation';
  bytes: number;
  bytesPerToken: number;
}

/**
 * The largest single buffer of a training step: the logits (B·T, V) (their gradient overwrites
 * them) or, for an FFN wider than the vocabulary, one (B·T, H) activation. Weights, gradients and
 * Adam moments are at most a weight's size, which the model's load already fitted; attention's
 * scratch is cut into chunks under the binding limit.
 */
export function largestStepBuffer(config: TrainConfig, c: LlamaConfig): StepBuffer {
  const tokens = config.batch * config.seq;
  const logits = c.vocabSize >= c.hiddenDim;
  const width = logits ? c.vocabSize : c.hiddenDim;
  return { name: logits ? 'logits' : 'FFN activation', bytes: 4 * tokens * width, bytesPerToken: 4 * width };
}

/** What is wrong with a batch whose step's largest buffer exceeds what the device binds, or null when it fits. */
export function stepBufferProblem(config: TrainConfig, c: LlamaConfig, limits: BufferLimits): string | null {
  const cap = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  const buffer = largestStepBuffer(config, c);
  if (buffer.bytes <= cap) return null;
  const maxBatch = Math.floor(cap / (buffer.bytesPerToken * config.seq));
  const fix = maxBatch >= 1 ? `use a batch of at most ${maxBatch}` : `shorten the sequence length to at most ${Math.floor(cap / buffer.bytesPerToken)}`;
  return (
    `a step of ${config.batch} × ${config.seq} tokens needs a ${formatBytes(buffer.bytes)} ${buffer.name} buffer, ` +
    `more than this GPU allows in one buffer (${formatBytes(cap)}): ${fix}.`
  );
}
