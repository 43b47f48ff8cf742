/**
 * Which tensors AdamW decays (../shared/design/METHODS.md, Optimiser — the HF Trainer's rule): one
 * training step on stories260K with weight decay 0.1, every trainable tensor checked against a float64
 * AdamW step from the same gradient. A DoRA magnitude vector IS decayed; in full fine-tuning the RMSNorm
 * gains are not, and every matrix is.
 */
import { describe, expect, it } from 'vitest';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { adamwStepRef } from '../../src/reference/train-ops.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../src/schema/train-config.ts';
import { decaysWeight, Trainer } from '../../src/train/trainer.ts';
import { readFixture, STORIES_BIN } from '../helpers/fixtures.ts';
import { closeness, expectClose, testGpu } from '../helpers/gpu.ts';

const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
const B = 2, T = 8;
const batch = {
  inputs: Uint32Array.from([1, 403, 407, 261, 378, 432, 383, 286, 1, 259, 300, 301, 302, 303, 304, 305]),
  targets: Int32Array.from([403, 407, 261, 378, 432, 383, 286, -1, 259, 300, 301, 302, 303, 304, 305, 306]),
  batchSize: B, seqLen: T, epoch: 0,
};
const WD = 0.1;
// Every setting the step depends on, spelled out: constant lr, no warmup, no clipping (the gradient read back is the one applied).
const settings: Partial<TrainConfig> = {
  batch: B, seq: T, gradAccum: 1, lr: 1e-2, schedule: 'constant', warmup: 0, weightDecay: WD, maxGradNorm: 0,
  beta1: 0.9, beta2: 0.999, eps: 1e-8, dropout: 0, seed: 3,
};
// One f32 AdamW step against float64 from the same θ₀ and g: rtol 1e-5, atol 1e-6·max|θ| (as tests/kernels/optimizer.test.ts).
const RTOL = 1e-5;
const ATOL_REL = 1e-6;

interface Moved {
  name: string;
  got: Float32Array;
  decayed: Float64Array; // θ₀ − lr·(m̂/(√v̂ + eps) + wd·θ₀), in float64
  undecayed: Float64Array; // the same with wd = 0
  theta0: Float32Array;
}

/** One recorded step of `config`: each trainable tensor after it, and the two float64 AdamW results from θ₀ and its gradient. */
async function oneStep(config: TrainConfig): Promise<Moved[]> {
  const gpu = await testGpu();
  const model = LlamaModel.upload(gpu, weights);
  try {
    const trainer = Trainer.create(model, config);
    const before = await gpu.readMany(trainer.params.map((p) => p.value));
    trainer.recordStep([batch]);
    await trainer.readMetrics();
    const after = await gpu.readMany(trainer.params.map((p) => p.value));
    const grads = await gpu.readMany(trainer.params.map((p) => p.grad));
    const lr = trainer.lrAt(1);
    expect(lr).toBe(1e-2);
    return trainer.params.map((p, i) => {
      const ref = (wd: number): Float64Array => {
        const theta = Float64Array.from(before[i]!);
        const n = theta.length;
        adamwStepRef(theta, grads[i]!, new Float64Array(n), new Float64Array(n), 1, { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd, step: 1 });
        return theta;
      };
      return { name: p.name, got: after[i]!, decayed: ref(WD), undecayed: ref(0), theta0: before[i]! };
    });
  } finally {
    model.dispose();
  }
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** `m.got` is the decayed (or, with `decayed` false, the undecayed) float64 step, and clearly not the other one. */
function expectStep(m: Moved, decayed: boolean): void {
  const atol = ATOL_REL * maxAbs(m.decayed);
  const want = decayed ? m.decayed : m.undecayed;
  const other = decayed ? m.undecayed : m.decayed;
  expectClose(m.got, want, atol, RTOL, `${m.name} vs the ${decayed ? 'decayed' : 'undecayed'} float64 step`);
  // The two differ by lr·wd·θ₀: a thousand times the tolerance here, so the check tells them apart.
  const gap = closeness(m.got, other, 0, 0).maxAbs;
  expect(gap, m.name).toBeGreaterThan(1e-2 * WD * maxAbs(m.theta0) * 0.5);
}

describe('weight decay: which tensors AdamW decays', () => {
  it('the rule by name: biases and norm weights are kept out, everything else decays', () => {
    const kept = ['model.layers.0.input_layernorm.weight', 'model.layers.3.post_attention_layernorm.weight', 'model.norm.weight', 'model.layers.0.self_attn.q_proj.bias', 'encoder.LayerNorm.weight', 'x.q_norm.weight'];
    const decayed = [
      'model.embed_tokens.weight', 'lm_head.weight', 'model.layers.0.self_attn.q_proj.weight', 'model.layers.4.mlp.down_proj.weight',
      'model.layers.0.self_attn.q_proj.lora_A.weight', 'model.layers.0.self_attn.q_proj.lora_B.weight',
      'model.layers.0.self_attn.q_proj.lora_magnitude_vector', 'model.layers.0.self_attn.v_proj.mora_M.weight',
    ];
    expect(kept.filter(decaysWeight)).toEqual([]);
    expect(decayed.filter((n) => !decaysWeight(n))).toEqual([]);
  });

  it('DoRA: A, B and the magnitude vector all move by the decoupled decay θ ← θ − lr·(m̂/(√v̂+eps) + wd·θ)', async () => {
    const moved = await oneStep({ ...DEFAULT_TRAIN_CONFIG, ...settings, method: 'dora', rank: 4, alpha: 8, targets: ['q', 'v'] });
    const magnitudes = moved.filter((m) => m.name.endsWith('.lora_magnitude_vector'));
    expect(magnitudes).toHaveLength(10); // 5 layers × (q, v)
    for (const m of magnitudes) expectStep(m, true);
    // A fresh B is 0, so its decay term is 0 too: checked against the step without the gap check. A (B = 0: no
    // gradient) moves by the decay alone.
    for (const m of moved.filter((x) => x.name.endsWith('.lora_B.weight'))) {
      expect(maxAbs(m.theta0)).toBe(0);
      expectClose(m.got, m.decayed, ATOL_REL * maxAbs(m.decayed), RTOL, `${m.name} vs the float64 step`);
    }
    for (const m of moved.filter((x) => x.name.endsWith('.lora_A.weight'))) expectStep(m, true);
  });

  it('full fine-tuning: the 11 RMSNorm gains are not decayed; the embedding and every matrix are', async () => {
    const moved = await oneStep({ ...DEFAULT_TRAIN_CONFIG, ...settings, method: 'full' });
    const norms = moved.filter((m) => m.theta0.length === weights.config.dim && /norm/.test(m.name));
    expect(norms.map((m) => m.name).sort()).toEqual([
      ...Array.from({ length: 5 }, (_, l) => [`model.layers.${l}.input_layernorm.weight`, `model.layers.${l}.post_attention_layernorm.weight`]).flat(),
      'model.norm.weight',
    ].sort());
    for (const m of norms) expectStep(m, false);
    const rest = moved.filter((m) => !norms.includes(m));
    expect(rest.length).toBe(moved.length - 11);
    expect(rest.map((m) => m.name)).toContain('model.embed_tokens.weight');
    for (const m of rest) expectStep(m, true);
  });
});
