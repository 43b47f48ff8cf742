/**
 * The base weight W (out, in) of layer `l`'s module `m` for a DoRA adapter, in f32: DoRA's norm and
 * ΔW kernels read W as f32, so a 16-bit weight is promoted (once) before an adapter is attached.
 */
export function doraBaseWeight(model: LlamaModel, l: number, m: LinearModule): Tensor {
  return model.promoteToF32(linearName(l, m));
}

/**
 * DoRA (peft use_dora) on top of the fused LoRA matmul: A (r, in), B (out, r), s as LoRA, and a
 * trainable magnitude m (out), initialised to the row norms of W. With V = W + s·B·A and
 * n = ‖V‖ per output row, DETACHED (no gradient flows through n), g = m/n (out), xd = drop(x):
 *   peft:  y = x·Wᵀ + (g − 1) ⊙ (xd·Wᵀ) + g ⊙ s·(xd·Aᵀ)·Bᵀ
 *   here:  z = xd·Wᵀ + s·(xd·Aᵀ)·Bᵀ (fused low-rank matmul);  y = (x − xd)·Wᵀ + g ⊙ z
 *          (without dropout, or at inference: y = g ⊙ z, the first term vanishes and is not computed).
 *   merge: W' = g ⊙ V, i.e. ΔW = g ⊙ V − W.
 * n is computed on the GPU every forward without materialising V (dora.norm.wgsl: a loop over in × r
 * per row); a fresh adapter (B = 0) has m and n from the same kernel on the same W, so g = 1 exactly
 * and the outputs equal the base outputs bit for bit.
 * Backward with dz = g ⊙ dy: dm += Σ_rows dy ⊙ z / n; dB += s·dzᵀ·xa; dA += s·(dz·B)ᵀ·xd;
 *   dx (+)= dz·W + s·(dz·B)·A without dropout; with dropout dx (+)= dy·W + drop'(dz·V − dy·W).
 * Reference: src/reference/dora.ts.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { doraBackward, doraDelta, doraNorm, doraScale } from '../kernels/dora.ts';
import { dropout, dropoutBackwardAdd } from '../kernels/dropout.ts';
import { loraMatmul } from '../kernels/lora-matmul.ts';
import { matmul } from '../kernels/matmul.ts';
import type { LlamaModel } from '../model/llama.ts';
import type { Rng } from '../model/sampling.ts';
import type { LinearAdapter, Saved, TrainableParam } from '../model/linear-adapter.ts';
import { linearName, type LinearModule } from '../schema/tensors.ts';
import { loraScale } from '../schema/train-config.ts';
import { loraInitA, type LoraConfig } from './lora.ts';

export class DoraAdapter implements LinearAdapter {
  readonly params: TrainableParam[];
  readonly scale: number;
  /** Dropout masks differ per call: the seed advances every training forward. */
  dropoutCalls = 0;

  constructor(
    readonly name: string, // e.g. model.layers.0.self_attn.q_proj
    readonly A: Tensor, // (r, in)
    readonly B: Tensor, // (out, r)
    readonly magnitude: Tensor, // m (out)
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
      { name: `${name}.lora_magnitude_vector`, value: magnitude, grad: grad(magnitude) },
    ];
  }

  /** A fresh adapter for base weight W (out, in): A drawn from `rng` as LoRA, B = 0, m = ‖W‖ per row. */
  static create(gpu: Gpu, name: string, W: Tensor, config: LoraConfig, rng: Rng): DoraAdapter {
    const [out, inF] = W.shape as [number, number];
    const { rank } = config;
    const A = gpu.upload(`${name}.lora_A`, [rank, inF], loraInitA(rank, inF, config.init, rng));
    const B = gpu.tensor(`${name}.lora_B`, [out, rank]);
    gpu.clear(B);
    const m = gpu.tensor(`${name}.lora_magnitude_vector`, [out]);
    doraNorm(gpu, W, A, B, loraScale(config), m); // B = 0: exactly ‖W_j‖
    return new DoraAdapter(name, A, B, m, config, rng.nextU32(), gpu);
  }

  get rank(): number {
    return this.config.rank;
  }

  /** The detached row norm n (out) = ‖W + s·B·A‖ into a new tensor. */
  private norm(gpu: Gpu, W: Tensor): Tensor {
    const n = gpu.tensor(`${this.name}.dora_norm`, [W.shape[0]!]);
    doraNorm(gpu, W, this.A, this.B, this.scale, n);
    return n;
  }

  forward(gpu: Gpu, W: Tensor, x: Tensor, rows: number, saved: Saved | null): Tensor {
    const [out, inF] = W.shape as [number, number];
    const r = this.rank;
    const n = this.norm(gpu, W); // (out)
    const dropped = saved !== null && this.config.dropout > 0;
    let xd = x; // drop(x) (rows, in)
    if (dropped) {
      const seed = (this.dropoutSeed + this.dropoutCalls++) >>> 0;
      xd = gpu.tensor(`${this.name}.dropped`, [rows, inF]);
      dropout(gpu, x, xd, this.config.dropout, seed);
      saved.tensors.push(xd);
      saved.seed = seed;
    }
    const xa = gpu.tensor(`${this.name}.xa`, [rows, r]); // (rows, r) = xd·Aᵀ
    matmul(gpu, xd, this.A, xa, rows, r, inF);
    const z = gpu.tensor(`${this.name}.z`, [rows, out]); // xd·Wᵀ + s·xa·Bᵀ
    loraMatmul(gpu, xd, W, xa, this.B, z, rows, out, inF, r, this.scale);
    const y = gpu.tensor(`${this.name}.y`, [rows, out]);
    if (dropped) {
      matmul(gpu, x, W, y, rows, out, inF); // x·Wᵀ
      matmul(gpu, xd, W, y, rows, out, inF, { alpha: -1, accumulate: true }); // − xd·Wᵀ
    }
    doraScale(gpu, z, this.magnitude, n, y, rows, dropped);
    if (saved) saved.tensors.push(xa, z, n);
    else gpu.release(xa, z, n);
    return y;
  }

  backward(gpu: Gpu, W: Tensor, x: Tensor, dy: Tensor, rows: number, saved: Saved, dx: Tensor, accumulate: boolean): void {
    const [out, inF] = W.shape as [number, number];
    const r = this.rank, s = this.scale;
    const dropped = saved.seed !== undefined;
    const t = saved.tensors;
    const [xa, z, n] = [t[t.length - 3]!, t[t.length - 2]!, t[t.length - 1]!]; // (rows, r), (rows, out), (out)
    const xd = dropped ? t[0]! : x; // (rows, in)
    const [dA, dB, dm] = [this.params[0]!.grad, this.params[1]!.grad, this.params[2]!.grad];
    const dz = gpu.tensor(`${this.name}.dz`, [rows, out]); // dy ⊙ m/n
    doraBackward(gpu, dy, z, this.magnitude, n, dz, dm, rows);
    matmul(gpu, dz, xa, dB, out, r, rows, { aKM: true, bKN: true, alpha: s, accumulate: true }); // dB += s·dzᵀ·xa
    const g = gpu.tensor(`${this.name}.dzB`, [rows, r]); // dz·B
    matmul(gpu, dz, this.B, g, rows, r, out, { bKN: true });
    matmul(gpu, g, xd, dA, r, inF, rows, { aKM: true, bKN: true, alpha: s, accumulate: true }); // dA += s·gᵀ·xd
    if (!dropped) {
      loraMatmul(gpu, dz, W, g, this.A, dx, rows, inF, out, r, s, { bKN: true, lRN: true, accumulate }); // dz·W + s·g·A
    } else {
      matmul(gpu, dy, W, dx, rows, inF, out, { bKN: true, accumulate }); // dy·W (from x·Wᵀ)
      const dxd = gpu.tensor(`${this.name}.dxd`, [rows, inF]); // dz·V − dy·W
      loraMatmul(gpu, dz, W, g, this.A, dxd, rows, inF, out, r, s, { bKN: true, lRN: true });
      matmul(gpu, dy, W, dxd, rows, inF, out, { bKN: true, alpha: -1, accumulate: true });
      dropoutBackwardAdd(gpu, dxd, dx, this.config.dropout, saved.seed!);
      gpu.release(dxd);
    }
    gpu.release(dz, g);
  }

  /** ΔW is not s·B·A: the spectra take the dense ΔW. */
  lowRank(): null {
    return null;
  }

  deltaWeight(gpu: Gpu, W: Tensor): Tensor {
    const [out, inF] = W.shape as [number, number];
    const n = this.norm(gpu, W);
    const delta = gpu.tensor(`${this.name}.delta`, [out, inF]); // g ⊙ (W + s·B·A) − W
    doraDelta(gpu, W, this.A, this.B, this.magnitude, n, this.scale, delta);
    gpu.release(n);
    return delta;
  }

  dispose(gpu: Gpu): void {
    gpu.release(this.A, this.B, this.magnitude, ...this.params.map((p) => p.grad));
  }
}
