/**
 * The training loop's engine: sets up what a method trains (base weights for full fine-tuning,
 * adapters otherwise), gradients and AdamW state, and records whole optimizer steps on the GPU.
 * Losses and gradient norms are copied into a GPU ring and read back only when asked for.
 */
import type { LinearAdapter, TrainableParam } from '../model/linear-adapter.ts';
import { DoraAdapter, doraBaseWeight } from '../adapters/dora.ts';
import { LoraAdapter } from '../adapters/lora.ts';
import { MoraAdapter } from '../adapters/mora.ts';
import { initSpectralAdapters, restoreSpectralAdapters, type SpectralInit } from './spectral-init.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { axpy } from '../kernels/axpy.ts';
import { adamwStep, clipGradNorm } from '../kernels/optimizer.ts';
import type { LlamaModel } from '../model/llama.ts';
import { recordTrainPass } from '../model/llama-train.ts';
import { Rng } from '../model/sampling.ts';
import { linearName, moduleName } from '../schema/tensors.ts';
import { checkCheckpoint, type TrainerCheckpoint } from './checkpoint.ts';
import { SPECTRAL_METHODS, validateTrainConfig, type TrainConfig } from '../schema/train-config.ts';
import type { Batch } from './packing.ts';
import { learningRate } from '../schema/schedule.ts';

/** Per-step numbers recorded on the GPU. */
export interface StepMetrics {
  step: number; // 1-based optimizer step
  loss: number; // mean over the step's micro-batches
  gradNorm: number; // global norm before clipping
  lr: number;
}

const RING = 256; // steps of metrics kept on the GPU between readbacks

/** Names the HF Trainer keeps out of weight decay (get_decay_parameter_names): biases and norm weights. */
const NO_DECAY = /bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.)/;

/**
 * Whether AdamW decays the trainable tensor `name` (../shared/design/METHODS.md, Optimiser): every one
 * but biases and norm weights (input_layernorm, post_attention_layernorm, model.norm), so LoRA's A and
 * B, MoRA's M, a DoRA magnitude vector (lora_magnitude_vector) and full fine-tuning's matrices are.
 */
export function decaysWeight(name: string): boolean {
  return !NO_DECAY.test(name.toLowerCase());
}

interface OptState {
  param: TrainableParam;
  m: Tensor;
  v: Tensor;
}

export class Trainer {
  readonly params: TrainableParam[] = [];
  /** Base-weight gradients by HF name (full fine-tuning). */
  private readonly baseGrads = new Map<string, Tensor>();
  private readonly opt: OptState[] = [];
  private readonly loss: Tensor; // (1) one micro-batch's loss
  private readonly sumsq: Tensor; // (1)
  private readonly clip: Tensor; // (1)
  private readonly ring: Tensor; // (RING, 2): [loss sum, grad sumsq] per step
  private readonly inputs: Tensor; // (B·T) u32: the micro-batch being recorded
  private readonly targets: Tensor; // (B·T) i32
  private readonly stagedInputs: Tensor; // (gradAccum·B·T) u32: a step's micro-batches, written before recording
  private readonly stagedTargets: Tensor; // (gradAccum·B·T) i32
  private pending: { step: number; lr: number }[] = [];
  /** Optimizer steps taken. */
  step = 0;
  /** PiSSA/MiLoRA: the initial A₀, B₀ and SVD reports (set by Trainer.init), for the export conversion. */
  spectral?: SpectralInit;

  private constructor(
    readonly model: LlamaModel,
    readonly config: TrainConfig,
  ) {
    const gpu = model.gpu;
    const n = config.batch * config.seq;
    this.loss = gpu.tensor('train.loss', [1]);
    this.sumsq = gpu.tensor('train.sumsq', [1]);
    this.clip = gpu.tensor('train.clip', [1]);
    this.ring = gpu.tensor('train.metrics', [RING, 2]);
    this.inputs = gpu.tensor('train.inputs', [n]);
    this.targets = gpu.tensor('train.targets', [n]);
    this.stagedInputs = gpu.tensor('train.staged_inputs', [config.gradAccum * n]);
    this.stagedTargets = gpu.tensor('train.staged_targets', [config.gradAccum * n]);
  }

  /**
   * Like create, for every method: PiSSA and MiLoRA first run their SVD init on the GPU (adapters
   * attached, targeted base weights replaced by W_res); the initial A₀, B₀ are kept in `spectral`.
   * `onSvd` hears of each module's SVD as it finishes.
   */
  static async init(model: LlamaModel, config: TrainConfig, onSvd?: (done: number, total: number, name: string) => void): Promise<Trainer> {
    let spectral: SpectralInit | undefined;
    if (SPECTRAL_METHODS.includes(config.method) && model.adapters.size === 0) {
      validateTrainConfig(config, model.config);
      const lora = { rank: config.rank, alpha: config.alpha, rslora: config.rslora, dropout: config.dropout, init: config.loraInit };
      spectral = await initSpectralAdapters(model, lora, config.targets, config.method === 'pissa' ? 'top' : 'bottom', config.seed, config.pissaNiter, onSvd);
    }
    const t = Trainer.create(model, config);
    t.spectral = spectral;
    return t;
  }

  /**
   * Continue a run from `checkpoint` on `model`, a fresh upload of the run's base weights: the same
   * adapters (PiSSA/MiLoRA rebuilt from A₀, B₀ without an SVD), then the saved tensors, moments,
   * step and dropout draws. The next recordStep is the one the interrupted run would have taken.
   */
  static async restore(model: LlamaModel, checkpoint: TrainerCheckpoint): Promise<Trainer> {
    checkCheckpoint(checkpoint);
    // recompute: false for checkpoints written before the setting existed (it changes memory, not results).
    const config: TrainConfig = { ...checkpoint.config, recompute: checkpoint.config.recompute ?? false, targets: [...checkpoint.config.targets] };
    validateTrainConfig(config, model.config);
    if (model.adapters.size > 0) throw new Error('a checkpoint is restored onto the base weights: load the model without an adapter');
    let spectral: SpectralInit | undefined;
    if (SPECTRAL_METHODS.includes(config.method)) {
      if (!checkpoint.spectralInitial) throw new Error(`the ${config.method} checkpoint has no initial A₀, B₀`);
      const lora = { rank: config.rank, alpha: config.alpha, rslora: config.rslora, dropout: config.dropout, init: config.loraInit };
      restoreSpectralAdapters(model, lora, config.targets, checkpoint.spectralInitial, config.seed);
      spectral = { initial: checkpoint.spectralInitial, reports: [] };
    }
    const t = Trainer.create(model, config);
    t.spectral = spectral;
    const saved = new Map(checkpoint.params.map((p) => [p.name, p]));
    if (saved.size !== t.opt.length) throw new Error(`the checkpoint holds ${saved.size} tensors, the run trains ${t.opt.length}`);
    const gpu = model.gpu;
    for (const { param, m, v } of t.opt) {
      const p = saved.get(param.name);
      if (!p) throw new Error(`the checkpoint has no tensor ${param.name}`);
      if (p.shape.join() !== param.value.shape.join()) throw new Error(`checkpoint tensor ${param.name} is [${p.shape}], the run trains [${param.value.shape}]`);
      gpu.write(param.value, p.value);
      gpu.write(m, p.m);
      gpu.write(v, p.v);
    }
    for (const [name, adapter] of model.adapters) adapter.dropoutCalls = checkpoint.dropoutCalls[name] ?? 0;
    t.step = checkpoint.step;
    return t;
  }

  /** Prepare `model` for training with `config`: adapters attached (or base weights made trainable). */
  static create(model: LlamaModel, config: TrainConfig): Trainer {
    validateTrainConfig(config, model.config);
    if (model.adapters.size > 0 && config.method === 'full') {
      throw new Error('full fine-tuning trains the base weights: load the model without an adapter');
    }
    const t = new Trainer(model, config);
    const gpu = model.gpu;
    const rng = new Rng(config.seed + 1);
    if (config.method === 'full') {
      for (const name of [...model.params.keys()]) {
        const value = model.promoteToF32(name); // trained in place: an f32 master of a 16-bit weight
        const grad = gpu.tensor(`${name}.grad`, value.shape);
        gpu.clear(grad);
        t.baseGrads.set(name, grad);
        t.params.push({ name, value, grad });
      }
    } else if (model.adapters.size > 0) {
      // Continue training the adapters the model carries (e.g. loaded with --adapter).
      for (const adapter of model.adapters.values()) t.params.push(...adapter.params);
    } else if (SPECTRAL_METHODS.includes(config.method)) {
      throw new Error(`${config.method} needs its SVD init: use await Trainer.init(model, config)`);
    } else {
      const lora = { rank: config.rank, alpha: config.alpha, rslora: config.rslora, dropout: config.dropout, init: config.loraInit };
      const mora = { rank: config.rank, type: config.moraType, dropout: config.dropout };
      for (let l = 0; l < model.config.nLayers; l++) {
        for (const m of config.targets) {
          const [out, inF] = model.param(linearName(l, m)).shape as [number, number];
          const name = moduleName(l, m);
          const adapter: LinearAdapter = config.method === 'mora'
            ? MoraAdapter.create(gpu, name, out, inF, mora, rng)
            : config.method === 'dora'
              ? DoraAdapter.create(gpu, name, doraBaseWeight(model, l, m), lora, rng)
              : LoraAdapter.create(gpu, name, out, inF, lora, rng);
          model.adapters.set(name, adapter);
          t.params.push(...adapter.params);
        }
      }
    }
    for (const param of t.params) {
      const m = gpu.tensor(`${param.name}.adam_m`, param.value.shape);
      const v = gpu.tensor(`${param.name}.adam_v`, param.value.shape);
      gpu.clear(m);
      gpu.clear(v);
      t.opt.push({ param, m, v });
    }
    gpu.clear(t.ring);
    return t;
  }

  /** Trainable parameter count. */
  get trainableCount(): number {
    return this.params.reduce((n, p) => n + p.value.shape.reduce((a, b) => a * b, 1), 0);
  }

  /** Change the schedule's length mid-run (e.g. once a time budget turns into a step count). */
  setTotalSteps(steps: number): void {
    if (!(Number.isInteger(steps) && steps >= this.step)) throw new Error(`total steps ${steps} must be ≥ the steps taken (${this.step})`);
    this.config.steps = steps;
  }

  /** The learning rate of optimizer step `step` (1-based). */
  lrAt(step: number): number {
    const c = this.config;
    return learningRate(step - 1, { lr: c.lr, schedule: c.schedule, warmup: c.warmup, totalSteps: c.steps, minLrRatio: c.minLrRatio });
  }

  /**
   * Record one optimizer step over `microBatches` (gradAccum of them): forward, backward, clipping
   * and AdamW, in one submission. Nothing is read back; see readMetrics.
   */
  recordStep(microBatches: readonly Batch[]): void {
    const { model, config: c } = this;
    const gpu = model.gpu;
    if (microBatches.length !== c.gradAccum) throw new Error(`expected ${c.gradAccum} micro-batches, got ${microBatches.length}`);
    for (const b of microBatches) {
      if (b.batchSize !== c.batch || b.seqLen !== c.seq) {
        throw new Error(`batch is ${b.batchSize}×${b.seqLen}, the run trains on ${c.batch}×${c.seq}`);
      }
    }
    // Every micro-batch is written before anything is recorded (a write submits what was recorded
    // before it), then copied into place inside the step's one command buffer.
    const n = c.batch * c.seq;
    microBatches.forEach((b, i) => {
      gpu.write(this.stagedInputs, b.inputs, i * n);
      gpu.write(this.stagedTargets, b.targets, i * n);
    });
    this.step++;
    const slot = ((this.step - 1) % RING) * 2;
    for (const p of this.params) gpu.clear(p.grad);
    gpu.clear(this.ring, slot, 1);
    for (let i = 0; i < microBatches.length; i++) {
      gpu.copy(this.stagedInputs, this.inputs, n * 4, i * n * 4);
      gpu.copy(this.stagedTargets, this.targets, n * 4, i * n * 4);
      recordTrainPass(model, this.baseGrads, this.inputs, this.targets, this.loss, {
        B: c.batch, T: c.seq, gradScale: 1 / c.gradAccum, recompute: c.recompute,
      });
      axpy(gpu, this.loss, this.ring, 1 / c.gradAccum, slot);
    }
    const grads = this.params.map((p) => p.grad);
    clipGradNorm(gpu, grads, this.sumsq, this.clip, c.maxGradNorm);
    gpu.copy(this.sumsq, this.ring, 4, 0, (slot + 1) * 4);
    const lr = this.lrAt(this.step);
    for (const { param, m, v } of this.opt) {
      adamwStep(gpu, param.value, param.grad, m, v, c.maxGradNorm > 0 ? this.clip : null, {
        lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: decaysWeight(param.name) ? c.weightDecay : 0, step: this.step,
      });
    }
    gpu.submit();
    this.pending.push({ step: this.step, lr });
    if (this.pending.length >= RING) throw new Error('read the training metrics at least every 256 steps');
  }

  /** Read back the metrics of every step recorded since the last call. */
  async readMetrics(): Promise<StepMetrics[]> {
    const pending = this.pending;
    if (pending.length === 0) return [];
    this.pending = [];
    const ring = await this.model.gpu.read(this.ring);
    return pending.map(({ step, lr }) => {
      const slot = ((step - 1) % RING) * 2;
      return { step, lr, loss: ring[slot]!, gradNorm: Math.sqrt(ring[slot + 1]!) };
    });
  }

  /** Copy the run's state to the host (see TrainerCheckpoint); call between steps. */
  async checkpoint(): Promise<TrainerCheckpoint> {
    // One readback for every value and moment.
    const host = await this.model.gpu.readMany(this.opt.flatMap(({ param, m, v }) => [param.value, m, v]));
    const params = this.opt.map(({ param }, i) => ({ name: param.name, shape: [...param.value.shape], value: host[3 * i]!, m: host[3 * i + 1]!, v: host[3 * i + 2]! }));
    const dropoutCalls: Record<string, number> = {};
    for (const [name, adapter] of this.model.adapters) dropoutCalls[name] = adapter.dropoutCalls;
    return {
      version: 1,
      config: { ...this.config, targets: [...this.config.targets] },
      step: this.step,
      params,
      dropoutCalls,
      ...(this.spectral ? { spectralInitial: this.spectral.initial } : {}),
    };
  }

  /**
   * Mean loss over `batches` (forward only), weighting batches by their counted targets. Each batch's
   * loss is copied into a slot of one buffer and all are read back at once.
   */
  async evaluate(batches: Iterable<Batch>): Promise<number> {
    const { model, config: c } = this;
    const gpu = model.gpu;
    const counted = [...batches].map((b) => ({ b, n: b.targets.reduce((a, t) => a + (t >= 0 ? 1 : 0), 0) })).filter((x) => x.n > 0);
    if (counted.length === 0) return NaN;
    const losses = gpu.tensor('train.eval_losses', [counted.length]); // (batches)
    try {
      counted.forEach(({ b }, i) => {
        gpu.write(this.inputs, b.inputs);
        gpu.write(this.targets, b.targets);
        recordTrainPass(model, this.baseGrads, this.inputs, this.targets, this.loss, { B: c.batch, T: c.seq, gradScale: 1, backward: false });
        gpu.copy(this.loss, losses, 4, 0, i * 4);
      });
      const read = await gpu.read(losses);
      let total = 0, count = 0;
      counted.forEach(({ n }, i) => {
        total += read[i]! * n;
        count += n;
      });
      return total / count;
    } finally {
      gpu.release(losses);
    }
  }

  /** Free the optimizer state and gradients (adapters stay on the model). */
  dispose(): void {
    const gpu = this.model.gpu;
    for (const { m, v } of this.opt) gpu.release(m, v);
    gpu.release(...this.baseGrads.values(), this.loss, this.sumsq, this.clip, this.ring, this.inputs, this.targets, this.stagedInputs, this.stagedTargets);
  }
}
