/** A run's update summary for Compare runs: each module's latest round, from saved rounds or the live history. */
import { describe, expect, test } from 'vitest';
import { historyRounds } from '../../src/store/spectrum-slice.ts';
import { updateSummary } from '../../src/store/update-rank.ts';

const entry = (name: string, delta_rank90: number, overlap_principal = 0.1, overlap_minor = 0.2) => ({ name, delta_rank90, overlap_principal, overlap_minor });

describe('updateSummary', () => {
  test('means of each module\'s latest rank90 and overlaps, whatever order the rounds come in; null without rounds', () => {
    // Budgeted rounds cover different modules: q at steps 10 and 20, v only at step 10.
    const rounds = [{ step: 20, entries: [entry('q', 6, 0.5, 0.0)] }, { step: 10, entries: [entry('q', 2), entry('v', 3, 0.1, 0.4)] }];
    expect(updateSummary(rounds)).toEqual({ rank90: (6 + 3) / 2, principal: (0.5 + 0.1) / 2, minor: (0 + 0.4) / 2 });
    expect(updateSummary([])).toBeNull();
    expect(updateSummary([{ step: 5, entries: [] }])).toBeNull();
  });

  test('the studio\'s per-module history gives the same rounds back', () => {
    const p = (step: number, delta_rank90: number) => ({ step, delta_rank90, overlap_principal: 0.1, overlap_minor: 0.2 });
    const rounds = historyRounds({ q: [p(10, 2), p(20, 6)], v: [p(10, 3)] });
    expect(rounds.map((r) => [r.step, r.entries.map((e) => `${e.name}:${e.delta_rank90}`)])).toEqual([[10, ['q:2', 'v:3']], [20, ['q:6']]]);
    expect(updateSummary(rounds)?.rank90).toBe(4.5);
  });
});
