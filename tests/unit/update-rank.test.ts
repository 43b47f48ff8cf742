/** A run's mean ΔW rank90 for Compare runs: the latest round per module, from saved rounds or the live history. */
import { describe, expect, test } from 'vitest';
import { historyRounds } from '../../src/store/spectrum-slice.ts';
import { meanRank90 } from '../../src/store/update-rank.ts';

const entry = (name: string, delta_rank90: number) => ({ name, delta_rank90, overlap_principal: 0.1, overlap_minor: 0.2 });

describe('meanRank90', () => {
  test('averages each module\'s latest rank90, whatever order the rounds come in; null without rounds', () => {
    // Budgeted rounds cover different modules: q at steps 10 and 20, v only at step 10.
    const rounds = [{ step: 20, entries: [entry('q', 6)] }, { step: 10, entries: [entry('q', 2), entry('v', 3)] }];
    expect(meanRank90(rounds)).toBe((6 + 3) / 2);
    expect(meanRank90([])).toBeNull();
    expect(meanRank90([{ step: 5, entries: [] }])).toBeNull();
  });

  test('the studio\'s per-module history gives the same rounds back', () => {
    const history = {
      q: [{ step: 10, delta_rank90: 2, overlap_principal: 0.1, overlap_minor: 0.2 }, { step: 20, delta_rank90: 6, overlap_principal: 0.1, overlap_minor: 0.2 }],
      v: [{ step: 10, delta_rank90: 3, overlap_principal: 0.1, overlap_minor: 0.2 }],
    };
    const rounds = historyRounds(history);
    expect(rounds.map((r) => [r.step, r.entries.map((e) => `${e.name}:${e.delta_rank90}`)])).toEqual([[10, ['q:2', 'v:3']], [20, ['q:6']]]);
    expect(meanRank90(rounds)).toBe(4.5);
  });
});
