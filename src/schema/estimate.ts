/**
 * What a training run will train and how much GPU memory it takes, before it starts (pure arithmetic,
 * shared by the engine, the CLI and the studio). The memory model follows the engine's buffers one
 * by one — the same tensors the buffer pool hands out — and is checked against the pool's measured
 * peak in tests/model/memory-estimate.test.ts.
 */
import type { LlamaConfig } from './llama-config.ts';
import { moraGeometry, moraRank } from './mora.ts';
import { LINEAR_MODULES, moduleShape, type LinearModule } from './tensors.ts';
import type { TrainConfig } from './train-config.ts';

/** Bytes the logits of one row chunk of the LM-head loss may take (src/model/lm-head-loss.ts). */
export const LOGITS_CHUNK_BYTES = 64 * 1024 * 1024;

/** Rows per chunk of the LM-head loss: as many (V floats each) as fit `chunkBytes`, at least 1, at most `rows`. */
export function logitsChunkRows(rows: number, vocab: number, chunkBytes = LOGITS_CHUNK_BYTES): number {
  if (!(chunkBytes >= 4)) throw new Error(`logits chunk of ${chunkBytes} bytes cannot hold one logit`);
  return Math.max(1, Math.min(rows, Math.floor(chunkBytes / (4 * vocab))));
}

/** How the model's weight matrices are stored on the GPU: 16-bit as in a BF16/F16 file, or f32. */
export type WeightStorage = 'f32' | '16-bit';

/** Parameters of a LLaMA config (tied embeddings counted once). */
export function llamaParamCount(c: LlamaConfig): number {
  const perLayer = LINEAR_MODULES.reduce((a, m) => a + moduleShape(c, m)[0] * moduleShape(c, m)[1], 0) + 2 * c.dim;
  return c.nLayers * perLayer + c.vocabSize * c.dim * (c.tiedEmbeddings ? 1 : 2) + c.dim;
}

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
  /** The model's parameters as stored (16-bit matrices 2 bytes; trained or rewritten ones f32). */
  weights: number;
  /** Adapter tensors (0 for full fine-tuning: the trained tensors are the weights). */
  adapters: number;
  gradients: number;
  /** Adam's two moments. */
  adam: number;
  /** What the forward keeps for backward: every layer's activations, or only each layer's input with recompute. */
  activations: number;
  /** The largest of the step's transient phases: the LM-head loss with its logits chunk, or one layer's backward. */
  transients: number;
  total: number;
}

/** Floats per row one linear module's forward keeps for its backward (adapters' saved tensors; the output is the block's). */
function savedPerRow(config: TrainConfig, c: LlamaConfig, m: LinearModule): number {
  const [out, inF] = moduleShape(c, m);
  const dropped = config.dropout > 0 ? inF : 0; // drop(x), kept for backward
  switch (config.method) {
    case 'full': return 0;
    case 'dora': return config.rank + out + dropped; // x·Aᵀ and z
    case 'mora': {
      const g = moraGeometry(inF, out, moraRank(inF, out, config.rank, config.moraType), config.moraType);
      return g.nU * g.rHat + dropped; // u = compress(drop(x))
    }
    default: return config.rank + dropped; // x·Aᵀ
  }
}

/** Floats per row one linear module's backward allocates for itself (beyond the block's scratch). */
function backwardPerRow(config: TrainConfig, c: LlamaConfig, m: LinearModule): number {
  const [out, inF] = moduleShape(c, m);
  switch (config.method) {
    case 'full': return 0;
    case 'dora': return out + config.rank + (config.dropout > 0 ? inF : 0); // dz, dz·B, d drop(x)
    case 'mora': return inF; // the gradient w.r.t. drop(x)
    default: return config.rank + (config.dropout > 0 ? inF : 0); // dy·B, and dy·B·A for dropout
  }
}

/**
 * GPU memory of a training run in bytes, as the engine allocates it (f32 unless said otherwise; R = B·T
 * rows, D width, K key/value width, H FFN width, h heads, V vocabulary, L layers, P parameters):
 *
 *   weights      the parameters as stored: 16-bit matrices 2 bytes each (`storage` '16-bit'), 4 bytes
 *                when f32, trained in place (full fine-tuning) or promoted (PiSSA/MiLoRA's residual and
 *                DoRA's targets); norms 4
 *   adapters     4·N, N trainable parameters; gradients 4·N; Adam m and v 8·N
 *   activations  4·R·(L·(4D + 2K + 2H + h + Σ saved) + D): per layer q, the attention output, the residual
 *                between and after the blocks (4D), k and v, gate and up, a log-sum-exp per head and what
 *                the adapters keep (x·Aᵀ; z for DoRA; u for MoRA; drop(x) with dropout); plus the
 *                embedding output. With `recompute` only each layer's input: 4·R·(L + 1)·D, and one
 *                layer's activations again during its backward.
 *   transients   the larger of the LM-head loss — the final hidden state and its gradient (2D per row)
 *                and a row chunk of logits with its hidden rows (≤ 64 MiB, see logitsChunkRows) — and
 *                one layer's backward: the running gradient and the block's scratch (3H + 5D + 2K per
 *                row, with the hidden state and its gradient) plus the largest adapter backward's own.
 *
 * Uniform buffers, the KV cache of generation and the rope table are not counted (under 1 MiB here).
 */
export function memoryEstimate(
  config: TrainConfig, c: LlamaConfig, paramCount: number, storage: WeightStorage = 'f32',
): MemoryEstimate {
  const N = trainableParams(config, c, paramCount);
  const full = config.method === 'full';
  const R = config.batch * config.seq;
  const D = c.dim, H = c.hiddenDim, V = c.vocabSize;
  const K = (D / c.nHeads) * c.nKvHeads;

  // Weights: matrices at 2 bytes when 16-bit and not rewritten; everything else 4.
  const matrixParams = paramCount - c.dim * (2 * c.nLayers + 1);
  let weights = 4 * paramCount;
  if (storage === '16-bit' && !full) {
    // PiSSA/MiLoRA write W_res in place and DoRA's norm kernels read W: their targets become f32.
    const promoted = config.method === 'pissa' || config.method === 'milora' || config.method === 'dora';
    const rewritten = promoted ? config.targets.reduce((a, m) => a + moduleShape(c, m)[0] * moduleShape(c, m)[1], 0) * c.nLayers : 0;
    weights = 4 * (paramCount - matrixParams) + 2 * (matrixParams - rewritten) + 4 * rewritten;
  }

  const saved = config.targets.reduce((a, m) => a + savedPerRow(config, c, m), 0);
  const perLayer = 4 * D + 2 * K + 2 * H + c.nHeads + saved; // floats per row
  const activations = 4 * R * (config.recompute ? (c.nLayers + 1) * D : c.nLayers * perLayer + D);

  const Rc = logitsChunkRows(R, V);
  const head = 4 * (2 * R * D + (Rc === R ? R * V : Rc * (V + 2 * D)));
  const adapterBackward = Math.max(0, ...config.targets.map((m) => backwardPerRow(config, c, m)));
  const layerBackward = 4 * R * (3 * H + 5 * D + 2 * K + adapterBackward) + (config.recompute ? 4 * R * perLayer : 0);
  const transients = Math.max(head, layerBackward);

  const m: Omit<MemoryEstimate, 'total'> = {
    weights,
    adapters: full ? 0 : 4 * N,
    gradients: 4 * N,
    adam: 8 * N,
    activations,
    transients,
  };
  return { ...m, total: m.weights + m.adapters + m.gradients + m.adam + m.activations + m.transients };
}

/**
 * The GPU memory a studio run is assumed to have when nobody says otherwise: 4 GiB. WebGPU tells no
 * memory size (an adapter reports buffer limits, not how much VRAM or shared memory the tab may use),
 * so the budget is a stated guess the user can change: 4 GiB is what integrated GPUs and browsers
 * commonly leave a tab, and SmolLM2-135M with LoRA at 8 × 256 tokens fits it with room (about 1 GiB
 * recomputing, 2 GiB storing the activations: issue 12's targets).
 */
export const DEFAULT_GPU_BUDGET_BYTES = 4 * 1024 ** 3;

/**
 * Whether to recompute activations: only when the stored-activation estimate exceeds `budgetBytes` (the GPU
 * memory the run may use) and recomputing lowers it (a run still over the budget is warned about by the caller).
 */
export function chooseRecompute(
  config: TrainConfig, c: LlamaConfig, paramCount: number, storage: WeightStorage, budgetBytes: number,
): boolean {
  const stored = memoryEstimate({ ...config, recompute: false }, c, paramCount, storage).total;
  if (stored <= budgetBytes) return false;
  return memoryEstimate({ ...config, recompute: true }, c, paramCount, storage).total < stored;
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
 * The largest single buffer of a training step that grows with the batch: one (B·T, H) FFN activation.
 * The logits are cut into row chunks of at most LOGITS_CHUNK_BYTES, so they only count while the whole
 * batch fits in one chunk. Weights, gradients and Adam moments are at most a weight's size, which the
 * model's load already fitted; attention's scratch is cut into chunks under the binding limit.
 */
export function largestStepBuffer(config: TrainConfig, c: LlamaConfig): StepBuffer {
  const tokens = config.batch * config.seq;
  const logits = 4 * logitsChunkRows(tokens, c.vocabSize) * c.vocabSize;
  const ffn = 4 * tokens * c.hiddenDim;
  return logits > ffn
    ? { name: 'logits', bytes: logits, bytesPerToken: 4 * c.vocabSize }
    : { name: 'FFN activation', bytes: ffn, bytesPerToken: 4 * c.hiddenDim };
}

/** What is wrong with a batch whose step's largest buffer exceeds what the device binds, or null when it fits. */
export function stepBufferProblem(config: TrainConfig, c: LlamaConfig, limits: BufferLimits): string | null {
  const cap = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  const buffer = largestStepBuffer(config, c);
  if (buffer.bytes <= cap) return null;
  // Bytes per token of what must fit: the FFN activation, and the logits too when even a full chunk exceeds the cap.
  const fullChunk = 4 * c.vocabSize * logitsChunkRows(Number.MAX_SAFE_INTEGER, c.vocabSize);
  const perToken = 4 * (fullChunk > cap ? Math.max(c.hiddenDim, c.vocabSize) : c.hiddenDim);
  const maxBatch = Math.floor(cap / (perToken * config.seq));
  const fix = maxBatch >= 1 ? `use a batch of at most ${maxBatch}` : `shorten the sequence length to at most ${Math.floor(cap / perToken)}`;
  return (
    `a step of ${config.batch} × ${config.seq} tokens needs a ${formatBytes(buffer.bytes)} ${buffer.name} buffer, ` +
    `more than this GPU allows in one buffer (${formatBytes(cap)}): ${fix}.`
  );
}
