import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryWeights } from '../../src/io/weight-source.ts';
import type { LinearAdapter } from '../../src/model/linear-adapter.ts';
import { LoraAdapter } from '../../src/adapters/lora.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { parseLlama2c } from '../../src/io/llama2c.ts';
import type { AdapterTensors } from '../../src/io/peft.ts';
import { matmul } from '../../src/kernels/matmul.ts';
import { moduleSpectrum, spectraRound, spectraSummary, type BaseSvd } from '../../src/spectra/module-spectrum.ts';
import { Rng } from '../../src/model/sampling.ts';
import { matmul64, svdRef } from '../../src/linalg/reference-svd.ts';
import { rank90, updateOverlaps } from '../../src/linalg/spectra.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { LINEAR_MODULES, linearName, moduleName, type LinearModule } from '../../src/schema/tensors.ts';
import { readFixture, STORIES_BIN } from '../helpers/fixtures.ts';
import { testGpu } from '../helpers/gpu.ts';
import { gaussianF32 } from '../linalg/helpers.ts';

const ISSUE_KEYS = ['name', 'shape', 'sigma'];
const ADAPTER_KEYS = [...ISSUE_KEYS, 'delta_sigma', 'delta_rank90', 'overlap_principal', 'overlap_minor'];
const lines: string[] = [];
afterAll(() => console.log(`module spectra on stories260K:\n  ${lines.join('\n  ')}`));

const weights = parseLlama2c(readFixture(STORIES_BIN), 'stories260K.bin');
const host = (l: number, m: LinearModule) => weights.tensors.get(linearName(l, m))!;
let gpu: Gpu;
let model: LlamaModel;
beforeAll(async () => {
  gpu = await testGpu();
  model = LlamaModel.upload(gpu, weights);
});

const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>, scale: number, n = Math.min(a.length, b.length)): number => {
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / scale);
  return worst;
};

/** A LoRA with random A, B (a "trained" state: B ≠ 0) on module m of layer l. */
function attachLora(l: number, m: LinearModule, r: number, seed: number): { a: Float32Array; b: Float32Array; s: number; adapter: LoraAdapter } {
  const [out, inF] = host(l, m).shape as [number, number];
  const a = gaussianF32(r * inF, seed).map((x) => x * 0.1), b = gaussianF32(out * r, seed + 1).map((x) => x * 0.05);
  const name = moduleName(l, m);
  const adapter = new LoraAdapter(name, gpu.upload(`${name}.A`, [r, inF], a), gpu.upload(`${name}.B`, [out, r], b),
    { rank: r, alpha: 2 * r, rslora: false, dropout: 0, init: 'kaiming' }, 1, gpu);
  model.adapters.set(name, adapter);
  return { a, b, s: adapter.scale, adapter };
}

function detach(l: number, m: LinearModule): void {
  const name = moduleName(l, m);
  model.adapters.get(name)?.dispose(gpu);
  model.adapters.delete(name);
}

describe('moduleSpectrum', () => {
  it('σ(W₀) of every module of layer 0 and 4 matches the float64 reference within 1e-4·σ₁; records have the issue\'s keys', async () => {
    for (const l of [0, 4]) {
      for (const m of LINEAR_MODULES) {
        const t = host(l, m);
        const [out, inF] = t.shape as [number, number];
        const rec = await moduleSpectrum(gpu, model, l, m);
        expect(Object.keys(rec)).toEqual(ISSUE_KEYS);
        expect(rec.name).toBe(moduleName(l, m));
        expect(rec.shape).toEqual([out, inF]);
        const ref = svdRef(t.data, out, inF);
        expect(rec.sigma.length).toBe(Math.min(out, inF));
        const err = maxRel(rec.sigma, ref.S, ref.S[0]!);
        lines.push(`${rec.name} (${out}×${inF}): max |σ − σ_ref|/σ₁ = ${err.toExponential(2)}`);
        expect(err).toBeLessThan(1e-4);
        for (let i = 1; i < rec.sigma.length; i++) expect(rec.sigma[i]!).toBeLessThanOrEqual(rec.sigma[i - 1]!);
      }
    }
  });

  it('LoRA: the cheap ΔW spectrum equals the dense one; overlaps, rank90 and σ(W₀ + ΔW) match float64', async () => {
    for (const [l, m, r] of [[0, 'q', 4], [1, 'down', 8], [4, 'gate', 2]] as [number, LinearModule, number][]) {
      const t = host(l, m);
      const [out, inF] = t.shape as [number, number];
      const { a, b, s, adapter } = attachLora(l, m, r, 10 + l);
      const cheap = await moduleSpectrum(gpu, model, l, m);
      // The same adapter behind the generic interface: dense ΔW and the full Jacobi SVD.
      const generic: LinearAdapter = {
        params: adapter.params, dropoutCalls: 0, forward: adapter.forward.bind(adapter), backward: adapter.backward.bind(adapter),
        deltaWeight: adapter.deltaWeight.bind(adapter), lowRank: () => null, dispose: () => {},
      };
      model.adapters.set(moduleName(l, m), generic);
      const dense = await moduleSpectrum(gpu, model, l, m);
      model.adapters.set(moduleName(l, m), adapter);
      detach(l, m);

      for (const k of ADAPTER_KEYS) expect(cheap, k).toHaveProperty(k);
      expect(Object.keys(cheap).sort()).toEqual([...ADAPTER_KEYS, 'sigma_merged', 'overlap_r'].sort());
      expect(cheap.delta_sigma!.length).toBe(r);
      expect(dense.delta_sigma!.length).toBe(Math.min(out, inF));
      expect(cheap.overlap_r).toBe(r);

      const dw64 = matmul64(b, a, out, inF, r).map((x) => x * s);
      const dref = svdRef(dw64, out, inF);
      const wref = svdRef(t.data, out, inF);
      const d1 = dref.S[0]!;
      const cheapVsDense = maxRel(cheap.delta_sigma!, dense.delta_sigma!, d1, r);
      const cheapVsRef = maxRel(cheap.delta_sigma!, dref.S, d1, r);
      expect(cheapVsDense).toBeLessThan(1e-4);
      expect(cheapVsRef).toBeLessThan(1e-4);
      expect(Math.max(...dense.delta_sigma!.slice(r))).toBeLessThan(1e-4 * d1); // zeros past the rank
      expect(cheap.delta_rank90).toBe(rank90(dref.S));
      expect(cheap.delta_rank90).toBeLessThanOrEqual(r);
      // The cheap path compares ΔW's top-r subspaces (r = the LoRA rank); the generic path knows no rank bound and
      // uses r = max(1, rank90(ΔW)) (see module-spectrum.ts), so each is checked against float64 at its own r.
      const o = updateOverlaps(wref, dref, out, inF, r, r);
      const rd = dense.overlap_r!;
      expect(rd).toBe(Math.max(1, rank90(dref.S)));
      const od = updateOverlaps(wref, dref, out, inF, rd, rd);
      const ovErr = Math.max(Math.abs(cheap.overlap_principal! - o.principal.mean), Math.abs(cheap.overlap_minor! - o.minor.mean),
        Math.abs(dense.overlap_principal! - od.principal.mean), Math.abs(dense.overlap_minor! - od.minor.mean));
      if (rd === r) expect(Math.abs(cheap.overlap_principal! - dense.overlap_principal!)).toBeLessThan(1e-5);
      expect(ovErr).toBeLessThan(1e-4);
      const merged = svdRef(Float64Array.from(t.data, (x, i) => x + dw64[i]!), out, inF);
      const mergedErr = maxRel(cheap.sigma_merged!, merged.S, merged.S[0]!);
      expect(mergedErr).toBeLessThan(1e-4);
      lines.push(`LoRA r=${r} on ${cheap.name}: |σ(ΔW) cheap − dense|/σ₁ = ${cheapVsDense.toExponential(2)}, vs f64 ${cheapVsRef.toExponential(2)}; ` +
        `overlaps principal ${cheap.overlap_principal!.toFixed(4)} minor ${cheap.overlap_minor!.toFixed(4)} (f64 ${o.principal.mean.toFixed(4)} / ${o.minor.mean.toFixed(4)}, max err ${ovErr.toExponential(2)}); ` +
        `rank90 ${cheap.delta_rank90}; σ(W₀+ΔW) err ${mergedErr.toExponential(2)}`);
    }
  });

  it('full fine-tuning: with the original weights, W₀ is the original, ΔW = W − W₀ (a known rank-3 change), σ(W) is merged', async () => {
    const [l, m] = [3, 'up'] as [number, LinearModule];
    const t = host(l, m);
    const [out, inF] = t.shape as [number, number];
    // A rank-3 change written onto the model's weight, as training would leave it.
    const b = gaussianF32(out * 3, 70).map((x) => x * 0.05), a = gaussianF32(3 * inF, 71).map((x) => x * 0.1);
    const dw64 = matmul64(b, a, out, inF, 3);
    const W = model.param(linearName(l, m));
    gpu.write(W, Float32Array.from(t.data, (x, i) => x + dw64[i]!));
    const rec = await moduleSpectrum(gpu, model, l, m, { original: memoryWeights(weights) });
    const round = await spectraSummary(model, [l], [m], { original: memoryWeights(weights) });
    gpu.write(W, t.data); // restore W₀
    expect(Object.keys(rec).sort()).toEqual([...ADAPTER_KEYS, 'sigma_merged', 'overlap_r'].sort());
    const wref = svdRef(t.data, out, inF), dref = svdRef(dw64, out, inF);
    const merged = svdRef(Float64Array.from(t.data, (x, i) => x + dw64[i]!), out, inF);
    const errs = {
      sigma: maxRel(rec.sigma, wref.S, wref.S[0]!),
      delta: maxRel(rec.delta_sigma!, dref.S, dref.S[0]!),
      merged: maxRel(rec.sigma_merged!, merged.S, merged.S[0]!),
    };
    expect(errs.sigma).toBeLessThan(1e-4); // W₀ is the original weight, not the trained one
    expect(errs.delta).toBeLessThan(1e-4); // ΔW's σ within 1e-4·σ₁(ΔW); zeros past rank 3
    expect(errs.merged).toBeLessThan(1e-4);
    expect(Math.max(...rec.delta_sigma!.slice(3))).toBeLessThan(1e-4 * dref.S[0]!);
    expect(rec.delta_rank90).toBe(rank90(dref.S));
    const r = Math.max(1, rank90(dref.S));
    const o = updateOverlaps(wref, dref, out, inF, r, r);
    expect(Math.abs(rec.overlap_principal! - o.principal.mean)).toBeLessThan(1e-4);
    expect(Math.abs(rec.overlap_minor! - o.minor.mean)).toBeLessThan(1e-4);
    expect(round.map((x) => [x.name, x.delta_rank90])).toEqual([[rec.name, rec.delta_rank90]]);
    lines.push(`full fine-tuning ΔW (rank 3) on ${rec.name}: σ(W₀) err ${errs.sigma.toExponential(2)}, σ(ΔW) err ${errs.delta.toExponential(2)}, ` +
      `σ(W) err ${errs.merged.toExponential(2)}; rank90 ${rec.delta_rank90}`);
  });

  it('PiSSA/MiLoRA bookkeeping: W₀ = W_res + s·B₀·A₀ and ΔW = s·(B·A − B₀·A₀)', async () => {
    const [l, m, r] = [2, 'v', 4] as [number, LinearModule, number];
    const t = host(l, m);
    const [out, inF] = t.shape as [number, number];
    const { a, b, s } = attachLora(l, m, r, 40);
    const a0 = gaussianF32(r * inF, 50).map((x) => x * 0.1), b0 = gaussianF32(out * r, 51).map((x) => x * 0.05);
    const W = model.param(linearName(l, m));
    const [A0, B0] = [gpu.upload('A0', [r, inF], a0), gpu.upload('B0', [out, r], b0)];
    matmul(gpu, B0, A0, W, out, inF, r, { bKN: true, alpha: -s, accumulate: true }); // W ← W_res
    const initial: AdapterTensors = new Map([[moduleName(l, m), { A: { shape: [r, inF], data: a0 }, B: { shape: [out, r], data: b0 } }]]);
    const rec = await moduleSpectrum(gpu, model, l, m, { initial });
    matmul(gpu, B0, A0, W, out, inF, r, { bKN: true, alpha: s, accumulate: true }); // restore W
    gpu.release(A0, B0);
    detach(l, m);
    const wref = svdRef(t.data, out, inF);
    const ba = matmul64(b, a, out, inF, r), ba0 = matmul64(b0, a0, out, inF, r);
    const dref = svdRef(ba.map((x, i) => s * (x - ba0[i]!)), out, inF);
    expect(maxRel(rec.sigma, wref.S, wref.S[0]!)).toBeLessThan(1e-4);
    expect(rec.delta_sigma!.length).toBe(2 * r);
    expect(maxRel(rec.delta_sigma!, dref.S, dref.S[0]!, 2 * r)).toBeLessThan(1e-4);
    const o = updateOverlaps(wref, dref, out, inF, r, r);
    expect(Math.abs(rec.overlap_principal! - o.principal.mean)).toBeLessThan(1e-3);
    expect(Math.abs(rec.overlap_minor! - o.minor.mean)).toBeLessThan(1e-3);
  });

  it('spectraSummary: adapted modules only, cached W₀ SVDs, the first 16 σ of ΔW; all 35 modules timed', async () => {
    attachLora(0, 'q', 4, 60);
    attachLora(4, 'v', 4, 61);
    const cache = new Map<string, BaseSvd>();
    const t0 = performance.now();
    const first = await spectraSummary(model, [0, 4], ['q', 'v'], { baseCache: cache });
    const t1 = performance.now();
    const again = await spectraSummary(model, [0, 4], ['q', 'v'], { baseCache: cache });
    const t2 = performance.now();
    expect(first.map((x) => x.name)).toEqual([moduleName(0, 'q'), moduleName(4, 'v')]);
    expect(Object.keys(first[0]!).sort()).toEqual(['delta_rank90', 'delta_sigma', 'name', 'overlap_minor', 'overlap_principal']);
    expect([...cache.keys()]).toEqual(first.map((x) => x.name));
    expect(again).toEqual(first);
    detach(0, 'q');
    detach(4, 'v');
    const t3 = performance.now();
    for (let layer = 0; layer < weights.config.nLayers; layer++) for (const m of LINEAR_MODULES) await moduleSpectrum(gpu, model, layer, m);
    const t4 = performance.now();
    lines.push(`spectraSummary of 2 LoRA modules: ${(t1 - t0).toFixed(0)} ms cold, ${(t2 - t1).toFixed(0)} ms with cached W₀ SVDs; ` +
      `σ(W₀) of all 35 modules: ${(t4 - t3).toFixed(0)} ms`);
  });
});

/** stories260K with rank-2 LoRA adapters on q and v of layers 0 and 4: the modules a round covers. */
async function modelWithRoundAdapters(): Promise<LlamaModel> {
  const gpu = await testGpu();
  const model = LlamaModel.upload(gpu, weights);
  const rng = new Rng(5);
  for (const l of [0, 4]) {
    for (const m of ['q', 'v'] as const) {
      const [out, inF] = model.param(linearName(l, m)).shape as [number, number];
      model.adapters.set(moduleName(l, m), LoraAdapter.create(gpu, moduleName(l, m), out, inF, { rank: 2, alpha: 2, rslora: false, dropout: 0, init: 'kaiming' }, rng));
    }
  }
  return model;
}

describe('spectraRound', () => {
  it('stops at the time budget after one module and resumes round-robin where it stopped', async () => {
    const model = await modelWithRoundAdapters();
    const state = { cursor: 0 };
    const seen: string[] = [];
    for (let round = 0; round < 5; round++) {
      const { spectra, pending } = await spectraRound(model, [0, 4], ['q', 'v'], state, 0); // budget 0: one module a round
      expect(spectra).toHaveLength(1);
      expect(pending).toBe(3);
      seen.push(spectra[0]!.name);
    }
    expect(seen).toEqual([moduleName(0, 'q'), moduleName(0, 'v'), moduleName(4, 'q'), moduleName(4, 'v'), moduleName(0, 'q')]);
    const all = await spectraRound(model, [0, 4], ['q', 'v'], { cursor: 0 }, Infinity);
    expect(all.spectra).toHaveLength(4);
    expect(all.pending).toBe(0);
    model.dispose();
  });

  it('with a focus module (the one on screen): puts it first in every round, alone at budget 0; with time the others follow once each', async () => {
    const model = await modelWithRoundAdapters();
    const focus = moduleName(4, 'v');
    const state = { cursor: 0 };
    const rounds: string[][] = [];
    for (let round = 0; round < 4; round++) {
      // Budget 0: the focus module alone (a round goes past its first module only while within budget).
      const { spectra, pending } = await spectraRound(model, [0, 4], ['q', 'v'], state, 0, { focus });
      rounds.push(spectra.map((s) => s.name));
      expect(pending).toBe(4 - spectra.length);
    }
    expect(rounds.every((names) => names[0] === focus)).toBe(true);
    expect(rounds.map((names) => names.length)).toEqual([1, 1, 1, 1]);

    // With a budget the others follow the focus module, round-robin over them only (never the focus twice).
    const all = await spectraRound(model, [0, 4], ['q', 'v'], { cursor: 0 }, Infinity, { focus });
    expect(all.spectra.map((s) => s.name)).toEqual([focus, moduleName(0, 'q'), moduleName(0, 'v'), moduleName(4, 'q')]);
    expect(all.pending).toBe(0);

    // A focus the round does not cover (no adapter there) changes nothing.
    const other = await spectraRound(model, [0, 4], ['q', 'v'], { cursor: 0 }, 0, { focus: moduleName(1, 'k') });
    expect(other.spectra.map((s) => s.name)).toEqual([moduleName(0, 'q')]);
    model.dispose();
  });
});
