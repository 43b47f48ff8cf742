/**
 * LoRA with peft's semantics: y = x·Wᵀ + s·(drop(x)·Aᵀ)·Bᵀ, A (r, in), B (out, r), s = α/r (rsLoRA α/√r).
 * Init: A ~ U(−1/√in, 1/√in) (kaiming-uniform, a = √5) or N(0, 1/r²) ("gaussian"); B = 0.
 * The forward is the fused low-rank matmul; backward produces dx, dA, dB and no dW.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { dropout, dropoutBackwardAdd } from '../kernels/dropout.ts';
import { loraMatmul } from '../kernels/lora-matmul.ts';
import { matmul } from '../kernels/matmul.ts';
import { Rng } from '../model/sampling.ts';
import { loraScale } from '../schema/train-config.ts';
import type { LinearAdapter, LowRankUpdate, Saved, TrainableParam } from '../model/linear-adapter.ts';

export interface LoraConfig {
  rank: number;
  alpha: number;
  rslora: boolean;
  dropout: number;
  init: 'kaiming' | 'gaussian';
}

/** Initial A (r, in) as peft draws it, from a seeded generator. */
export function loraInitA(rank: number, inF: number, init: LoraConfig['init'], rng: Rng): Float32Array {
  const a = new Float32Array(rank * inF);
  if (init === 'gaussian') {
    for (let i = 0; i < a.length; i += 2) {
      // Box–Muller: two N(0, 1) draws, scaled to std 1/r.
      const u = Math.max(rng.next(), 1e-12), v = rng.next();
      const m = Math.sqrt(-2 * Math.log(u)) / rank;
      a[i] = m * Math.cos(2 * Math.PI * v);
      if (i + 1 < a.length) a[i + 1] = m * Math.sin(2 * Math.PI * v);
    }
  } else {
    const bound = 1 / Math.sqrt(inF);
    for (let i = 0; i < a.length; i++) a[i] = (rng.next() * 2 - 1) * bound;
  }
  return a;
}

export class LoraAdapter implements LinearAdapter {
  readonly params: TrainableParam[];
  readonly scale: number;
  /** Dropout masks differ per call: the seed advances every training forward. */
  dropoutCalls = 0;

  constructor(
    readonly name: string, // e.g. model.layers.0.self_attn.q_proj
    readonly A: Tensor, // (r, in)
    readonly B: Tensor, // (out, r)
    readonly config: LoraConfig,
    private readonly dropoutSeed: number,
    gpu: Gpu,
  ) {
    this.scale = loraScale(config);
    const grad = (t: Tensor) => {
      const g = gpu.tensor(`${t.label}.grad`, t.shape);
      gpu.clear(g);
      return g;
    };
    this.params = [
      { name: `${name}.lora_A.weight`, value: A, grad: grad(A) },
      { name: `${name}.lora_B.weight`, value: B, grad: grad(B) },
    ];
  }

  /** A fresh adapter for a weight of shape (out, in): A drawn from `rng`, B = 0. */
  static create(gpu: Gpu, name: string, out: number, inF: number, config: LoraConfig, rng: Rng): LoraAdapter {
    const { rank } = config;
    const A = gpu.upload(`${name}.lora_A`, [rank, inF], loraInitA(rank, inF, config.init, rng));
    const B = gpu.tensor(`${name}.lora_B`, [out, rank]);
    gpu.clear(B);
    return new LoraAdapter(name, A, B, config, rng.nextU32(), gpu);
  }

  get rank(): number {
    return this.config.rank;
  }

  forward(gpu: Gpu, W: Tensor, x: Tensor, rows: number, saved: Saved | null): Tensor {
    const [out, inF] = W.shape as [number, number];
    const r = this.rank;
    let xd = x; // drop(x) (rows, in)
    if (saved && this.config.dropout > 0) {
      const seed = (this.dropoutSeed + this.dropoutCalls++) >>> 0;
      xd = gpu.tensor(`${this.name}.dropped`, [rows, inF]);
      dropout(gpu, x, xd, this.config.dropout, seed);
      saved.tensors.push(xd);
      saved.seed = seed;
    }
    const xa = gpu.tensor(`${this.name}.xa`, [rows, r]); // (rows, r) = drop(x)·Aᵀ
    matmul(gpu, xd, this.A, xa, rows, r, inF);
    const y = gpu.tensor(`${this.name}.y`, [rows, out]);
    loraMatmul(gpu, x, W, xa, this.B, y, rows, out, inF, r, this.scale);
    if (saved) saved.tensors.push(xa);
    else gpu.release(xa);
    return y;
  }

  // y = x·Wᵀ + s·xa·Bᵀ, xa = xd·Aᵀ:
  //   dB += s·dyᵀ·xa;  g = dy·B (rows, r);  dA += s·gᵀ·xd;  dx = dy·W + s·mask⊙(g·A)
  backward(gpu: Gpu, W: Tensor, x: Tensor, dy: Tensor, rows: number, saved: Saved, dx: Tensor, accumulate: boolean): void {
    const [out, inF] = W.shape as [number, number];
    const r = this.rank, s = this.scale;
    const dropped = saved.seed !== undefined;
    const xa = saved.tensors[saved.tensors.length - 1]!; // (rows, r)
    const xd = dropped ? saved.tensors[0]! : x; // drop(x) (rows, in)
    const [dA, dB] = [this.params[0]!.grad, this.params[1]!.grad];
    matmul(gpu, dy, xa, dB, out, r, rows, { aKM: true, bKN: true, alpha: s, accumulate: true });
    const g = gpu.tensor(`${this.name}.dyB`, [rows, r]);
    matmul(gpu, dy, this.B, g, rows, r, out, { bKN: true });
    matmul(gpu, g, xd, dA, r, inF, rows, { aKM: true, bKN: true, alpha: s, accumulate: true });
    if (!dropped) {
      loraMatmul(gpu, dy, W, g, this.A, dx, rows, inF, out, r, s, { bKN: true, lRN: true, accumulate });
    } else {
      matmul(gpu, dy, W, dx, rows, inF, out, { bKN: true, accumulate });
      const gA = gpu.tensor(`${this.name}.gA`, [rows, inF]);
      matmul(gpu, g, this.A, gA, rows, inF, r, { bKN: true, alpha: s });
      dropoutBackwardAdd(gpu, gA, dx, this.config.dropout, saved.seed!);
      gpu.release(gA);
    }
    gpu.release(g);
  }

  lowRank(): LowRankUpdate {
    return { A: this.A, B: this.B, scale: this.scale, rank: this.rank };
  }

  deltaWeight(gpu: Gpu, W: Tensor): Tensor {
    const [out, inF] = W.shape as [number, number];
    const delta = gpu.tensor(`${this.name}.delta`, [out, inF]);
    // ΔW (out, in) = s·B (out, r)·A (r, in)
    matmul(gpu, this.B, this.A, delta, out, inF, this.rank, { bKN: true, alpha: this.scale });
    return delta;
  }

  dispose(gpu: Gpu): void {
    gpu.release(this.A, this.B, ...this.params.map((p) => p.grad));
  }
}
