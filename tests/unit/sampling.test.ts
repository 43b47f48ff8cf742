import { describe, expect, it } from 'vitest';
import { argmax, Rng, sampleToken, softmax } from '../../src/model/sampling.ts';

describe('sampling', () => {
  it('greedy picks the first maximum', () => {
    expect(argmax([0.1, 3, -2, 3])).toBe(1);
    expect(sampleToken([0.1, 3, -2, 3], 0, 0.9, new Rng(1))).toBe(1);
  });

  it('the seeded generator is deterministic and uniform in [0, 1)', () => {
    const a = new Rng(42), b = new Rng(42);
    const xs = Array.from({ length: 20000 }, () => a.next());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b.next()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01); // 20000 draws: std of the mean ≈ 0.002
  });

  it('temperature sampling follows the softmax', () => {
    const logits = [0, Math.log(3), Math.log(6)]; // probabilities 0.1, 0.3, 0.6
    const rng = new Rng(7);
    const counts = [0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleToken(logits, 1, 1, rng)]++;
    const p = softmax(logits);
    for (let i = 0; i < 3; i++) expect(Math.abs(counts[i] / n - p[i])).toBeLessThan(0.015); // > 4 std
  });

  it('top-p keeps only the smallest set reaching the mass', () => {
    const logits = [0, Math.log(3), Math.log(6)]; // 0.1, 0.3, 0.6: top-p 0.85 keeps tokens 2 and 1
    const rng = new Rng(3);
    const counts = [0, 0, 0];
    for (let i = 0; i < 10000; i++) counts[sampleToken(logits, 1, 0.85, rng)]++;
    expect(counts[0]).toBe(0);
    expect(Math.abs(counts[2] / 10000 - 0.6 / 0.9)).toBeLessThan(0.02);
  });
});
