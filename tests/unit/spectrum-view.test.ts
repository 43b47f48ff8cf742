/** The spectrum view's choices: which runs are on screen, which can be picked, each run's rounds, and why a module has fewer points. */
import { describe, expect, test } from 'vitest';
import type { SavedRunSummary } from '../../src/schema/stored-run.ts';
import { runLabel, type RunRecord } from '../../src/store/runs-slice.ts';
import { missingRoundsNote, shownRunIds, viewedRunId } from '../../src/store/spectrum-slice.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../src/schema/train-config.ts';
import { roundsHistory, runHistory, spectrumRunOptions, trainsModule } from '../../src/ui/spectrum/spectrum-runs.ts';

const config = { ...DEFAULT_TRAIN_CONFIG, steps: 3 };
const record = (runId: number, methodId: 'lora' | 'mora'): RunRecord => ({
  runId, index: runId, methodId, label: runLabel(runId, methodId, { ...config, method: methodId }), config: { ...config, method: methodId }, trainableCount: 1,
  train: [], eval: [], reason: 'completed', steps: 3, finalLoss: 1, evalLoss: 1, tokensPerSec: 1, update: null, dataId: null, probeId: null,
});
const entry = (name: string, r: number) => ({ name, delta_rank90: r, overlap_principal: 0.5, overlap_minor: 0.25 });
const saved = (runId: number, fingerprint: string, spectra: SavedRunSummary['spectra'] = []) =>
  ({ runId, model: { name: 'tinyworld', fingerprint }, spectra }) as unknown as SavedRunSummary;

describe('runs on screen', () => {
  test('null follows the model\'s current run (0: the base model); a second run shows beside it, never twice', () => {
    expect(viewedRunId({ tuned: null, spectrumRunId: null })).toBe(0);
    expect(viewedRunId({ tuned: { runId: 4, methodId: 'lora', steps: 3 }, spectrumRunId: null })).toBe(4);
    expect(viewedRunId({ tuned: { runId: 4, methodId: 'lora', steps: 3 }, spectrumRunId: 2 })).toBe(2);
    const tuned = { runId: 4, methodId: 'mora' as const, steps: 3 };
    expect(shownRunIds({ tuned, spectrumRunId: null, spectrumCompareRunId: 2 })).toEqual([4, 2]);
    expect(shownRunIds({ tuned, spectrumRunId: 2, spectrumCompareRunId: 2 })).toEqual([2]);
    expect(shownRunIds({ tuned, spectrumRunId: null, spectrumCompareRunId: null })).toEqual([4]);
  });

  test('the options: the base model, the run training now, the finished runs; another model\'s runs disabled', () => {
    const options = spectrumRunOptions({
      runs: [record(1, 'lora'), record(3, 'lora')],
      runInfo: { runId: 4, config: { ...config, method: 'mora' } } as never,
      runMethodId: 'mora',
      tuned: { runId: 4, methodId: 'mora', steps: 1 },
      savedRuns: [saved(1, 'aaaa'), saved(3, 'bbbb')],
      model: { fingerprint: 'aaaa' } as never,
    });
    expect(options.map((o) => [o.runId, o.label, o.unavailable])).toEqual([
      [0, 'Base model', null],
      [1, 'Run 1 · LoRA r8', null],
      [3, 'Run 3 · LoRA r8', 'trained tinyworld'],
      [4, 'Run 4 · MoRA r8', null],
    ]);
    expect(trainsModule(options[1], 'q')).toBe(true);
    expect(trainsModule(options[1], 'k')).toBe(false);
    expect(trainsModule(options[0], 'q')).toBe(false);
  });
});

describe('rounds', () => {
  test('a saved run\'s rounds become its history, whatever order they are stored in', () => {
    const h = roundsHistory([{ step: 4, entries: [entry('q', 3)] }, { step: 2, entries: [entry('q', 2), entry('v', 5)] }]);
    expect(h.roundSteps).toEqual([2, 4]);
    expect(h.history.q!.map((p) => [p.step, p.delta_rank90])).toEqual([[2, 2], [4, 3]]);
    expect(h.history.v!.map((p) => p.step)).toEqual([2]);
  });

  test('the live history for the run the rounds stream for, the stored rounds for the others', () => {
    const live = { q: [{ step: 1, delta_rank90: 1, overlap_principal: 0, overlap_minor: 0 }] };
    const s = { spectraRunId: 5, spectraHistory: live, spectraRoundSteps: [1], savedRuns: [saved(2, 'a', [{ step: 3, entries: [entry('v', 7)] }])] };
    expect(runHistory(s, 5)).toEqual({ history: live, roundSteps: [1] });
    expect(runHistory(s, 2).history.v![0]!.delta_rank90).toBe(7);
    expect(runHistory(s, 9)).toEqual({ history: {}, roundSteps: [] });
  });

  test('a module with fewer points than rounds says how many and why', () => {
    expect(missingRoundsNote(3, 10)).toBe("3 of 10 rounds: the round's time budget covered other modules");
    expect(missingRoundsNote(0, 1)).toBe("0 of 1 round: the round's time budget covered other modules");
    expect(missingRoundsNote(10, 10)).toBeNull();
    expect(missingRoundsNote(0, 0)).toBeNull();
  });
});
