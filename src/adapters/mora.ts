/**
 * MoRA (arXiv 2405.12130, following the official code): one trainable square M (r̂, r̂) per module,
 *   y = x·Wᵀ + decompress(M · compress(drop(x))),   scaling 1 (α unused),   M initialised to 0,
 * with r̂ = floor(√((in + out)·r) + 0.5) (type 6: rounded down to even), so r̂² ≈ LoRA's (in + out)·r.
 * Type 1 shares (sums wrapped chunks of x, tiles M·u over the output); type 6 rotates each chunk
 * RoPE-style and applies M block-diagonally. Exact index maps: src/reference/mora.ts.
 *
 * Row order: the maps act on W's rows and columns as the engine stores them, and the engine keeps
 * every weight in Hugging Face layout — q_proj/k_proj rows in HF order (RoPE on halves), also for
 * llama2.c checkpoints, which are permuted at load (src/model/weights.ts). So chunk boundaries fall
 * where peft-mora puts them on the HF model (tests/train/mora.test.ts checks this on stories260K).
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { dropout, dropoutBackwardAdd } from '../kernels/dropout.ts';
import { matmul } from '../kernels/matmul.ts';
import { moraBackward, moraDelta, moraForward } from '../kernels/mora.ts';
import type { Rng } from '../model/sampling.ts';
import { moraGeometry, moraRank, moraRotationTable, type MoraGeometry, type MoraType } from '../schema/mora.ts';
import type { LinearAdapter, Saved, TrainableParam } from '../model/linear-adapter.ts';

export interface MoraConfig {
  /** The LoRA rank whose parameter count MoRA matches; r̂ follows from it and the module's shape. */
  rank: number;
  type: MoraType;
  /** On the MoRA branch's input only, as the official code does. */
  dropout: number;
}

export class MoraAdapter implements LinearAdapter {
  readonly params: TrainableParam[];
  readonly geometry: MoraGeometry;
  /** Type 6: cos/sin (nU, r̂) of the chunk rotations; null for type 1. */
  readonly rot: Tensor | null;
  dropoutCalls = 0;

  constructor(
    readonly name: string, // e.g. model.layers.0.self_attn.q_proj
    readonly M: Tensor, // (r̂, r̂)
    out: number,
    inF: number,
    readonly config: MoraConfig,
    private readonly dropoutSeed: number,
    gpu: Gpu,
  ) {
    const rHat = moraRank(inF, out, config.rank, config.type);
    if (M.shape[0] !== rHat || M.shape[1] !== rHat) {
      throw new Error(`${name}: MoRA M has shape [${M.shape.join(', ')}], expected [${rHat}, ${rHat}] for (${out}, ${inF}) at r = ${config.rank}`);
    }
    this.geometry = moraGeometry(inF, out, rHat, config.type);
    this.rot = config.type === 6
      ? gpu.upload(`${name}.mora_rot`, [this.geometry.nU, rHat], Float32Array.from(moraRotationTable(rHat, this.geometry.nU)))
      : null;
    const grad = gpu.tensor(`${name}.mora_M.grad`, M.shape);
    gpu.clear(grad);
    this.params = [{ name: `${name}.mora_M.weight`, value: M, grad }];
  }

  /** A fresh adapter for a weight of shape (out, in): M = 0, so the model's output is unchanged. */
  static create(gpu: Gpu, name: string, out: number, inF: number, config: MoraConfig, rng: Rng): MoraAdapter {
    const rHat = moraRank(inF, out, config.rank, config.type);
    const M = gpu.tensor(`${name}.mora_M`, [rHat, rHat]);
    gpu.clear(M);
    return new MoraAdapter(name, M, out, inF, config, rng.nextU32(), gpu);
  }

  get rHat(): number {
    return this.geometry.rHat;
  }

  forward(gpu: Gpu, W: Tensor, x: Tensor, rows: number, saved: Saved | null): Tensor {
    const g = this.geometry;
    const y = gpu.tensor(`${this.name}.y`, [rows, g.out]); // (rows, out)
    matmul(gpu, x, W, y, rows, g.out, g.inF); // base x·Wᵀ
    let xd = x; // drop(x) (rows, in)
    if (saved && this.config.dropout > 0) {
      const seed = (this.dropoutSeed + this.dropoutCalls++) >>> 0;
      xd = gpu.tensor(`${this.name}.dropped`, [rows, g.inF]);
      dropout(gpu, x, xd, this.config.dropout, seed);
      saved.tensors.push(xd);
      saved.seed = seed;
    }
    const u = gpu.tensor(`${this.name}.u`, [rows * g.nU, g.rHat]); // compress(drop(x)), for the backward
    moraForward(gpu, g, xd, this.M, this.rot, y, u, rows, true); // y += decompress(M·u)
    if (saved) saved.tensors.push(u);
    else gpu.release(u);
    return y;
  }

  // y = x·Wᵀ + D(M·C(drop(x))), D and C linear index maps:
  //   dx = dy·W + mask ⊙ Cᵀ(Mᵀ·Dᵀ(dy)),   dM += Dᵀ(dy)·uᵀ  (kernels/mora.ts moraBackward)
  backward(gpu: Gpu, W: Tensor, _x: Tensor, dy: Tensor, rows: number, saved: Saved, dx: Tensor, accumulate: boolean): void {
    const g = this.geometry;
    const dropped = saved.seed !== undefined;
    const u = saved.tensors[saved.tensors.length - 1]!; // (rows·nU, r̂)
    const dM = this.params[0]!.grad;
    matmul(gpu, dy, W, dx, rows, g.inF, g.out, { bKN: true, accumulate });
    if (!dropped) {
      moraBackward(gpu, g, this.M, this.rot, u, dy, dM, dx, rows, this.name);
      return;
    }
    const gx = gpu.tensor(`${this.name}.gx`, [rows, g.inF]); // gradient w.r.t. drop(x)
    moraBackward(gpu, g, this.M, this.rot, u, dy, dM, gx, rows, this.name, false);
    dropoutBackwardAdd(gpu, gx, dx, this.config.dropout, saved.seed!);
    gpu.release(gx);
  }

  /** ΔW is not s·B·A: the spectra take the dense ΔW. */
  lowRank(): null {
    return null;
  }

  deltaWeight(gpu: Gpu, W: Tensor): Tensor {
    const g = this.geometry;
    if (W.shape[0] !== g.out || W.shape[1] !== g.inF) throw new Error(`${this.name}: MoRA built for (${g.out}, ${g.inF}), W is [${W.shape.join(', ')}]`);
    const delta = gpu.tensor(`${this.name}.delta`, [g.out, g.inF]);
    moraDelta(gpu, g, this.M, this.rot, delta);
    return delta;
  }

  dispose(gpu: Gpu): void {
    gpu.release(this.M, this.rot, ...this.params.map((p) => p.grad));
  }
}
