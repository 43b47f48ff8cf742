/** Compare runs: each run's data identity and label, runs on other data or probes flagged, the two-row table, and ticks that survive a reload. */
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, test } from 'vitest';
import { COMPARE_TICKS_KEY, loadTicks, saveTicks } from '../../src/store/compare-ticks.ts';
import { runLabel, type RunRecord } from '../../src/store/runs-slice.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../src/schema/train-config.ts';
import { dataIdentity, textHash, type DataIdentity } from '../../src/schema/data-identity.ts';
import { comparability } from '../../src/ui/compare-runs/run-data.ts';
import { RunsTable } from '../../src/ui/compare-runs/runs-table.tsx';
import { dataLabel, runSettingsLine } from '../../src/ui/shared/run-caption.ts';
import type { DemoSummary } from '../../src/workers/protocol.ts';
import type { EvalPoint } from '../../src/schema/metrics.ts';

const demos: DemoSummary[] = [
  { id: 'new-facts', title: 'New facts', description: '', fileName: 'new-facts.jsonl', records: 10, bytes: 100 },
  { id: 'forget-probe', title: 'Held-out base text', description: '', fileName: 'forget-probe.jsonl', records: 10, bytes: 100 },
];
const facts = dataIdentity({ fileName: 'new-facts.jsonl', text: '{"text":"Lily has a dog."}', source: 'demo' }, 240);
const pasted = dataIdentity({ fileName: 'pasted.txt', text: 'Captain Rosa sails.', source: 'text' }, 1234);
const probe = dataIdentity({ fileName: 'forget-probe.jsonl', text: '{"text":"Tom lives in the park."}', source: 'demo' }, 500);
const otherProbe = dataIdentity({ fileName: 'forget-probe.jsonl', text: '{"text":"Mia lives at the beach."}', source: 'demo' }, 480);

const evals: EvalPoint[] = [{ step: 0, loss: 3.5, forget: 2 }, { step: 6, loss: 2.5, forget: 2.25 }];

function run(runId: number, dataId: DataIdentity | null, probeId: DataIdentity | null, over: Partial<RunRecord> = {}): RunRecord {
  const config = { ...DEFAULT_TRAIN_CONFIG, steps: 6, lr: 0.01, batch: 2, seq: 32 };
  return {
    runId, index: runId, methodId: 'lora', label: runLabel(runId, 'lora', config), config, trainableCount: 8192,
    train: [], eval: evals, reason: 'completed', steps: 6, finalLoss: 2.4, evalLoss: 2.5, tokensPerSec: 321.4,
    update: { rank90: 4.5, principal: 0.25, minor: 0.125 }, dataId, probeId, ...over,
  };
}

describe('data identity', () => {
  test('the same text hashes the same; one changed character does not', () => {
    expect(textHash('Lily has a dog.')).toBe(textHash('Lily has a dog.'));
    expect(textHash('Lily has a dog.')).not.toBe(textHash('Lily has a cat.'));
    expect(textHash('')).toMatch(/^[0-9a-f]{16}$/);
    expect(facts).toEqual({ source: 'demo', fileName: 'new-facts.jsonl', tokens: 240, hash: textHash('{"text":"Lily has a dog."}') });
  });

  test('labels: a demo by its title, pasted text with its tokens, a file by its name', () => {
    expect(dataLabel(facts, demos)).toBe('New facts');
    expect(dataLabel(facts, null)).toBe('new-facts.jsonl');
    expect(dataLabel(pasted, demos)).toBe('pasted text, 1,234 tokens');
    expect(dataLabel({ ...pasted, tokens: null }, demos)).toBe('pasted text');
    expect(dataLabel(dataIdentity({ fileName: 'notes.jsonl', text: 'x', source: 'text' }, 3), demos)).toBe('notes.jsonl');
    expect(dataLabel(null, demos)).toBe('unknown data');
  });

  test('a run\'s settings line names its method, rank, lr, steps, shape, targets, data and probe', () => {
    expect(runSettingsLine(run(2, facts, probe), demos)).toBe(
      'Run 2 · LoRA r8: lr 1.0e-2, 6 steps, batch 2×32, targets q, v, α 16; data New facts; probe Held-out base text',
    );
    expect(runSettingsLine({ ...run(3, pasted, null), steps: 4 }, demos)).toBe(
      'Run 3 · LoRA r8: lr 1.0e-2, 4 of 6 steps, batch 2×32, targets q, v, α 16; data pasted text, 1,234 tokens',
    );
  });
});

describe('comparability', () => {
  test('runs on the same data and probe compare: no note, nothing marked', () => {
    const c = comparability([run(1, facts, probe), run(2, facts, probe)], demos);
    expect(c.note).toBeNull();
    expect([...c.byRun.values()]).toEqual([{ data: true, probe: true }, { data: true, probe: true }]);
  });

  test('the odd run out on other data is flagged against the majority', () => {
    const c = comparability([run(1, pasted, probe), run(2, facts, probe), run(3, facts, probe)], demos);
    expect(c.byRun.get(1)).toEqual({ data: false, probe: true });
    expect(c.byRun.get(2)).toEqual({ data: true, probe: true });
    expect(c.note).toBe(
      'Not comparable: Run 1 trained on other data (pasted text, 1,234 tokens) than Runs 2 and 3 (New facts). Their learning and forgetting cells are marked ≠.',
    );
  });

  test('a tie goes to the first run; another probe flags forgetting only', () => {
    const c = comparability([run(1, facts, probe), run(2, facts, otherProbe)], demos);
    expect(c.byRun.get(1)).toEqual({ data: true, probe: true });
    expect(c.byRun.get(2)).toEqual({ data: true, probe: false });
    expect(c.note).toBe(
      'Not comparable: Run 2 measured forgetting on another probe (Held-out base text) than Run 1 (Held-out base text). Their learning and forgetting cells are marked ≠.',
    );
  });
});

describe('runs table', () => {
  const html = renderToStaticMarkup(createElement(RunsTable, {
    runs: [run(1, facts, probe), run(2, pasted, probe, { methodId: 'mora', config: { ...DEFAULT_TRAIN_CONFIG, method: 'mora', steps: 6, lr: 0.01, batch: 2, seq: 32 } })],
    demos,
  }));
  const cells = (col: string) => [...html.matchAll(new RegExp(`<td data-col="${col}"[^>]*>(.*?)</td>`, 'g'))].map((m) => m[1]);

  test('the key columns and each run\'s data and probe in the main row, the other settings in a details row', () => {
    expect(html.match(/data-testid="compare-runs-row"/g)).toHaveLength(2);
    expect(html.match(/data-testid="compare-runs-details"/g)).toHaveLength(2);
    expect([...html.matchAll(/<th scope="col">(?:<abbr[^>]*>)?([^<]*)/g)].map((m) => m[1])).toEqual(['Run', 'Method', 'Data', 'Learn.', 'Forget.', 'ΔW r90', 'Princ.', 'Minor']);
    expect([...html.matchAll(/data-testid="compare-runs-data">([^<]*)</g)].map((m) => m[1])).toEqual(['New facts', 'pasted text, 1,234 tokens']);
    expect([...html.matchAll(/data-testid="compare-runs-probe"[^>]*>probe: ([^<]*)</g)].map((m) => m[1])).toEqual(['Held-out base text', 'Held-out base text']);
    expect(cells('rank90')).toEqual(['4.5', '4.5']);
    expect(cells('principal')).toEqual(['0.250', '0.250']);
    expect([...html.matchAll(/<li data-col="shape"[^>]*><span class="muted">batch×seq<\/span> <span class="setting-value">([^<]*)</g)].map((m) => m[1])).toEqual(['2×32', '2×32']);
    expect([...html.matchAll(/<li data-col="trainable"[^>]*>/g)]).toHaveLength(2);
  });

  test('differing settings are highlighted; learning and forgetting of runs on other data are marked not comparable', () => {
    expect(html).toMatch(/<td data-col="method" class="differs" data-differs="true">LoRA<\/td>/);
    expect(html).not.toMatch(/<li data-col="shape"[^>]*data-differs/);
    expect(html).toContain('data-testid="compare-runs-not-comparable"');
    expect(html).toContain('Run 2 trained on other data (pasted text, 1,234 tokens) than Run 1 (New facts).');
    expect(cells('learning')).toEqual(['1.0000', '1.0000']);
    expect(html.match(/data-col="learning" class="not-comparable" data-comparable="false"/g)).toHaveLength(1);
    expect(html.match(/data-col="forgetting" class="not-comparable" data-comparable="false"/g)).toHaveLength(1);
  });
});

describe('compare ticks', () => {
  /** A Storage stand-in holding strings, as localStorage does. */
  const memory = () => {
    const m = new Map<string, string>();
    return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), m };
  };

  test('ticks are written sorted and read back; junk reads as none', () => {
    const store = memory();
    saveTicks([3, 1, 2], store);
    expect(store.m.get(COMPARE_TICKS_KEY)).toBe('[1,2,3]');
    expect([...loadTicks(store)]).toEqual([1, 2, 3]);
    store.setItem(COMPARE_TICKS_KEY, '{"not":"a list"}');
    expect(loadTicks(store).size).toBe(0);
    store.setItem(COMPARE_TICKS_KEY, '[1, "2", -3, 4.5, 7]');
    expect([...loadTicks(store)]).toEqual([1, 7]);
    store.setItem(COMPARE_TICKS_KEY, 'not json');
    expect(loadTicks(store).size).toBe(0);
    expect(loadTicks(null).size).toBe(0);
  });

  test('a storage that throws (quota) loses only the memory', () => {
    const full = { getItem: () => null, setItem: () => { throw new Error('QuotaExceededError'); } };
    expect(() => saveTicks([1], full)).not.toThrow();
  });
});
