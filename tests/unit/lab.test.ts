/** The Lab's pure parts: the UUID task, generation scoring, the forgetting CE's maths, intruder cosines, charts, findings' helpers. */
import { describe, expect, it } from 'vitest';
import { correlation, EXPERIMENTS } from '../../src/lab/experiments.ts';
import { measurementPoints } from '../../src/lab/estimate.ts';
import { crossEntropyRow, logSoftmax } from '../../src/lab/forgetting.ts';
import { generatedValue, scoreGenerations } from '../../src/lab/generations.ts';
import { svgChart, ticks } from '../../src/schema/svg-chart.ts';
import { uuidJsonl, uuidPairs } from '../../src/lab/uuid-task.ts';
import { countIntruders, maxCosines } from '../../src/spectra/intruders.ts';

describe('uuidPairs', () => {
  it('distinct keys in UUID layout, the same for the same seed, different for another', () => {
    const a = uuidPairs({ pairs: 50, groups: [8, 4, 4, 4, 12], seed: 3 });
    expect(a.length).toBe(50);
    expect(new Set(a.map((p) => p.key)).size).toBe(50);
    for (const p of a) {
      expect(p.key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(p.value).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    expect(uuidPairs({ pairs: 50, groups: [8, 4, 4, 4, 12], seed: 3 })).toEqual(a);
    expect(uuidPairs({ pairs: 50, groups: [8, 4, 4, 4, 12], seed: 4 })[0]).not.toEqual(a[0]);
    const lines = uuidJsonl(a.slice(0, 2)).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ prompt: `${a[0]!.key} ->`, completion: ` ${a[0]!.value}` });
  });

  it('bad options name the field', () => {
    expect(() => uuidPairs({ pairs: 0, groups: [4], seed: 0 })).toThrow(/pairs must be a whole number ≥ 1, got 0/);
    expect(() => uuidPairs({ pairs: 2, groups: [4, 0], seed: 0 })).toThrow(/groups must be whole numbers ≥ 1/);
  });
});

describe('generation scoring', () => {
  it('the value is the text after the prompt, one leading space dropped, cut to the expected length', () => {
    expect(generatedValue('ab12 -> cd34\nmore', 'ab12 ->', 4)).toBe('cd34');
    expect(generatedValue('ab12 ->cd3', 'ab12 ->', 4)).toBe('cd3');
    expect(generatedValue('ab12 ->  cd34', 'ab12 ->', 4)).toBe(' cd3');
  });

  it('exact match per pair; character accuracy per character, a missing one wrong', () => {
    const s = scoreGenerations([
      { prompt: 'a', expected: 'abcd', generated: 'abcd' },
      { prompt: 'b', expected: 'abcd', generated: 'abxd' },
      { prompt: 'c', expected: 'abcd', generated: 'ab' },
    ]);
    expect(s.exactMatch).toBe(1 / 3);
    expect(s.charAccuracy).toBe((4 + 3 + 2) / 12);
    expect(() => scoreGenerations([])).toThrow(/no generations/);
  });
});

describe('forgetting CE maths', () => {
  it('log softmax sums to 1 in probability and is shift-invariant; CE(p, p) is the entropy, CE(p, q) ≥ H(p)', () => {
    const logits = [2, -1, 0.5, 3, -4];
    const lp = logSoftmax(logits);
    expect(lp.reduce((a, b) => a + Math.exp(b), 0)).toBeCloseTo(1, 14);
    const shifted = logSoftmax(logits.map((x) => x + 1000));
    lp.forEach((v, i) => expect(shifted[i]).toBeCloseTo(v, 10));
    const H = -lp.reduce((a, b) => a + Math.exp(b) * b, 0);
    expect(crossEntropyRow(lp, lp)).toBeCloseTo(H, 14);
    const lq = logSoftmax([0, 0, 0, 0, 0]);
    expect(crossEntropyRow(lp, lq)).toBeCloseTo(Math.log(5), 14); // uniform q: −Σ p log(1/5)
    expect(crossEntropyRow(lp, lq)).toBeGreaterThan(H);
  });
});

describe('intruder cosines', () => {
  /** An orthonormal (n, n) basis: a rotation of the identity by Givens rotations. */
  function basis(n: number, angle: number): Float64Array {
    const U = new Float64Array(n * n);
    for (let i = 0; i < n; i++) U[i * n + i] = 1;
    for (let p = 0; p + 1 < n; p++) {
      const c = Math.cos(angle * (p + 1)), s = Math.sin(angle * (p + 1));
      for (let r = 0; r < n; r++) {
        const a = U[r * n + p]!, b = U[r * n + p + 1]!;
        U[r * n + p] = c * a - s * b;
        U[r * n + p + 1] = s * a + c * b;
      }
    }
    return U;
  }

  it('the same basis: every |cos| is 1 and nothing intrudes; a vector spread evenly over W₀\'s basis intrudes below 1/√n', () => {
    const n = 9;
    const U0 = basis(n, 0.3);
    const same = maxCosines(U0, n, U0, n, n, 4);
    for (const c of same) expect(c).toBeCloseTo(1, 12);
    expect(countIntruders(same, 0.9)).toBe(0);
    // U's first column: Σⱼ u⁰ⱼ / √n has cosine 1/√n = 1/3 with every u⁰ⱼ; the other columns any orthonormal completion.
    const spread = new Float64Array(n);
    for (let r = 0; r < n; r++) for (let j = 0; j < n; j++) spread[r] = spread[r]! + U0[r * n + j]! / Math.sqrt(n);
    const U = new Float64Array(n * 2);
    for (let r = 0; r < n; r++) {
      U[r * 2] = spread[r]!;
      U[r * 2 + 1] = U0[r * n]!; // not orthogonal to the first, but maxCosines looks at each column alone
    }
    const cos = maxCosines(U0, n, U, 2, n, 2);
    expect(cos[0]).toBeCloseTo(1 / 3, 12);
    expect(cos[1]).toBeCloseTo(1, 12);
    expect(countIntruders(cos, 0.5)).toBe(1);
    expect(countIntruders(cos, 0.3)).toBe(0);
    expect(() => maxCosines(U0, n, U, 2, n, 3)).toThrow(/k = 3 of 2/);
  });
});

describe('charts and findings helpers', () => {
  it('an SVG chart has its title, axis labels and a legend entry per series', () => {
    const svg = svgChart({ title: 'A & B', xLabel: 'step', yLabel: 'loss', series: [{ name: 'LoRA <r8>', points: [[0, 1], [10, 0.5]] }, { name: 'MoRA', points: [[0, 1], [10, NaN]] }] });
    expect(svg).toContain('<title>A &amp; B</title>');
    expect(svg).toContain('>step<');
    expect(svg).toContain('>loss<');
    expect(svg).toContain('LoRA &lt;r8&gt;');
    expect(svg).toContain('>MoRA<');
    expect(ticks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('Pearson correlation', () => {
    expect(correlation([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 14);
    expect(correlation([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 14);
    expect(correlation([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 14);
  });

  it('every experiment has a quick and a full plan whose run names are unique and whose every divides into steps sensibly', () => {
    for (const e of EXPERIMENTS) {
      for (const quick of [true, false]) {
        const p = e.plan(quick);
        expect(new Set(p.runs.map((r) => r.name)).size, e.id).toBe(p.runs.length);
        expect(p.every).toBeGreaterThan(0);
        expect(p.every).toBeLessThanOrEqual(p.base.steps!);
      }
    }
  });
});

describe('time estimate', () => {
  it('counts a run\'s measurement points as runExperiment takes them: step 0, every N steps, and the last', () => {
    expect(measurementPoints(60, 15)).toBe(5); // 0 15 30 45 60
    expect(measurementPoints(3, 3)).toBe(2); // 0 3
    expect(measurementPoints(7, 3)).toBe(4); // 0 3 6 7
    expect(measurementPoints(40, 10)).toBe(5);
    expect(measurementPoints(2, 5)).toBe(2); // 0 2
  });
});
