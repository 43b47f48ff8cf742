/** A training run's settings, their defaults, and the checks that explain bad combinations. */
import { FieldError } from './field-error.ts';
import type { LlamaConfig } from './llama-config.ts';
import { LINEAR_MODULES, type LinearModule } from './tensors.ts';
import { METHOD_DEFAULTS } from './method-defaults.ts';
import type { ScheduleKind } from './schedule.ts';

export type Method = 'full' | 'lora' | 'mora' | 'dora' | 'pissa' | 'milora';
export const METHODS: readonly Method[] = ['full', 'lora', 'mora', 'dora', 'pissa', 'milora'];
/** Methods that start from a spectral (SVD) init and rewrite the base to W_res: plain LoRA afterwards. */
export const SPECTRAL_METHODS: readonly Method[] = ['pissa', 'milora'];

export interface TrainConfig {
  method: Method;
  // adapter (LoRA family)
  rank: number; // r
  alpha: number; // α; s = α/r (rsLoRA: α/√r)
  rslora: boolean;
  dropout: number; // on the adapter branch only
  targets: LinearModule[]; // linear modules that get an adapter
  loraInit: 'kaiming' | 'gaussian';
  // MoRA: one square M (r̂, r̂) per target with r̂² ≈ (in + out)·rank; rank, dropout and targets as above, α unused
  moraType: 1 | 6; // 1 = sharing (recommended for large r), 6 = RoPE-style rotation (small r)
  pissaNiter: number; // PiSSA only: > 0 = randomized top-r SVD with this many power iterations (0 = full SVD)
  // optimisation
  lr: number;
  steps: number; // optimizer steps
  batch: number; // sequences per micro-batch
  seq: number; // tokens per sequence T
  gradAccum: number; // micro-batches per optimizer step
  warmup: number; // steps of linear warmup
  schedule: ScheduleKind;
  minLrRatio: number; // decay floor as a fraction of lr
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  maxGradNorm: number; // 0 = no clipping
  seed: number;
  /** Keep only each layer's input and recompute the layer in backward: less memory, about a third more compute. */
  recompute: boolean;
  // evaluation
  evalEvery: number; // steps between eval losses (0 = only at the end)
  evalBatches: number; // eval micro-batches per evaluation (0 = all eval windows)
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  method: 'lora',
  rank: 8,
  alpha: 16,
  rslora: false,
  dropout: 0,
  targets: ['q', 'v'], // peft's default for LLaMA
  loraInit: 'kaiming',
  moraType: 6, // the default rank 8 is small
  pissaNiter: 0,
  lr: METHOD_DEFAULTS.lora.lr, // per method: method-defaults.ts
  steps: METHOD_DEFAULTS.lora.steps,
  batch: 4,
  seq: 128, // the pretraining's; every built-in demo record fits one window
  gradAccum: 1,
  warmup: 0,
  schedule: 'constant',
  minLrRatio: 0,
  weightDecay: 0,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  maxGradNorm: 1,
  seed: 0,
  recompute: false,
  evalEvery: 0,
  evalBatches: 0,
};

/** LoRA's scale s: α/r, or α/√r for rsLoRA. */
export function loraScale(c: Pick<TrainConfig, 'rank' | 'alpha' | 'rslora'>): number {
  return c.rslora ? c.alpha / Math.sqrt(c.rank) : c.alpha / c.rank;
}

/** Parse a target list: "q,k,v", "all-linear", or module names like "q_proj". */
export function parseTargets(spec: string): LinearModule[] {
  if (spec.trim() === 'all-linear') return [...LINEAR_MODULES];
  const out: LinearModule[] = [];
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = raw.replace(/_proj$/, '') as LinearModule;
    if (!LINEAR_MODULES.includes(m)) {
      throw new FieldError('targets', `unknown target module "${raw}": use ${LINEAR_MODULES.join(', ')} or all-linear`);
    }
    if (!out.includes(m)) out.push(m);
  }
  if (out.length === 0) throw new FieldError('targets', 'give at least one module');
  return out;
}

/** Throw a FieldError naming the field when `c` cannot train `model`. */
export function validateTrainConfig(c: TrainConfig, model: LlamaConfig): void {
  const fail = (field: string, problem: string) => {
    throw new FieldError(field, problem);
  };
  const int = (field: keyof TrainConfig, min: number) => {
    const v = c[field] as number;
    if (!Number.isInteger(v) || v < min) fail(field, `must be a whole number ≥ ${min}, got ${v}`);
  };
  if (!METHODS.includes(c.method)) fail('method', `must be one of ${METHODS.join(', ')}, got "${c.method}"`);
  int('steps', 1);
  int('batch', 1);
  int('seq', 1);
  int('gradAccum', 1);
  int('warmup', 0);
  int('evalEvery', 0);
  int('evalBatches', 0);
  if (!(Number.isInteger(c.pissaNiter) && c.pissaNiter >= 0)) fail('pissaNiter', `must be a whole number ≥ 0, got ${c.pissaNiter}`);
  if (c.pissaNiter > 0 && c.method !== 'pissa') fail('pissaNiter', 'the randomized SVD fast path is for PiSSA only (MiLoRA needs the smallest singular values)');
  if (typeof c.recompute !== 'boolean') fail('recompute', `must be true or false, got ${String(c.recompute)}`);
  if (!Number.isInteger(c.seed)) fail('seed', `must be a whole number, got ${c.seed}`);
  if (c.seq > model.maxSeqLen) fail('seq', `${c.seq} is longer than the model's context (${model.maxSeqLen})`);
  if (!(c.lr > 0 && c.lr < 10)) fail('lr', `must be in (0, 10), got ${c.lr}`);
  if (!(c.weightDecay >= 0)) fail('weightDecay', `must be ≥ 0, got ${c.weightDecay}`);
  if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1)) fail('betas', 'must be in [0, 1)');
  if (!(c.eps > 0)) fail('eps', `must be > 0, got ${c.eps}`);
  if (!(c.maxGradNorm >= 0)) fail('maxGradNorm', `must be ≥ 0 (0 disables clipping), got ${c.maxGradNorm}`);
  if (!(c.minLrRatio >= 0 && c.minLrRatio <= 1)) fail('minLrRatio', `must be in [0, 1], got ${c.minLrRatio}`);
  if (c.method !== 'full') {
    int('rank', 1);
    const maxRank = Math.min(model.dim, model.hiddenDim);
    if (c.rank > maxRank) fail('rank', `${c.rank} exceeds the smallest layer dimension (${maxRank})`);
    if (!(c.alpha > 0)) fail('alpha', `must be > 0, got ${c.alpha}`);
    if (!(c.dropout >= 0 && c.dropout < 1)) fail('dropout', `must be in [0, 1), got ${c.dropout}`);
    if (c.targets.length === 0) fail('targets', 'give at least one module');
  }
  if (c.method === 'mora' && c.moraType !== 1 && c.moraType !== 6) {
    fail('moraType', `must be 1 (sharing) or 6 (rotation), got ${c.moraType}`);
  }
}
