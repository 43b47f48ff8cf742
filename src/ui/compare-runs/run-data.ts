/**
 * What each compared run trained on and measured forgetting with, as the table shows it, and which
 * runs are not comparable: learning and forgetting mean something side by side only for runs trained
 * on the same data (forgetting also needs the same probe).
 */
import type { RunRecord } from '../../store/runs-slice.ts';
import { identityKey, type DataIdentity } from '../../schema/data-identity.ts';
import type { DemoSummary } from '../../workers/protocol.ts';
import { dataLabel } from '../shared/run-caption.ts';

/** Whether a run's learning (data) and forgetting (data and probe) compare with the other runs'. */
export interface Comparable {
  data: boolean;
  probe: boolean;
}

export interface Comparability {
  byRun: Map<number, Comparable>;
  /** What the table says about runs that do not compare; null when all do. */
  note: string | null;
}

const key = (d: DataIdentity | null, runId: number): string => (d ? identityKey(d) : `unknown-${runId}`);

/** "Run 3", "Runs 1 and 2", "Runs 1, 2 and 4". */
function runsText(runs: readonly RunRecord[]): string {
  const n = runs.map((r) => String(r.index));
  if (n.length === 1) return `Run ${n[0]}`;
  return `Runs ${n.slice(0, -1).join(', ')} and ${n.at(-1)}`;
}

/** The runs grouped by `keyOf`, the reference group first: the largest, ties to the group of the earliest run. */
function groups(runs: readonly RunRecord[], keyOf: (r: RunRecord) => string): RunRecord[][] {
  const byKey = new Map<string, RunRecord[]>();
  for (const r of runs) byKey.set(keyOf(r), [...(byKey.get(keyOf(r)) ?? []), r]);
  return [...byKey.values()].sort((a, b) => b.length - a.length || runs.indexOf(a[0]!) - runs.indexOf(b[0]!));
}

/**
 * Compare every run with the reference group (most runs on the same data; ties go to the first run's):
 * runs on other data are not comparable, nor, for forgetting, runs whose probe differs from the
 * reference probe among the runs with one.
 */
export function comparability(runs: readonly RunRecord[], demos: readonly DemoSummary[] | null): Comparability {
  const byRun = new Map<number, Comparable>(runs.map((r) => [r.runId, { data: true, probe: true }]));
  const notes: string[] = [];
  const [ref, ...others] = groups(runs, (r) => key(r.dataId, r.runId));
  if (ref && others.length > 0) {
    const refLabel = dataLabel(ref[0]!.dataId, demos);
    for (const g of others) {
      for (const r of g) byRun.get(r.runId)!.data = false;
      notes.push(`${runsText(g)} trained on other data (${dataLabel(g[0]!.dataId, demos)}) than ${runsText(ref)} (${refLabel})`);
    }
  }
  const probed = runs.filter((r) => r.probeId !== null);
  const [probeRef, ...otherProbes] = groups(probed, (r) => key(r.probeId, r.runId));
  if (probeRef && otherProbes.length > 0) {
    const refLabel = dataLabel(probeRef[0]!.probeId, demos);
    for (const g of otherProbes) {
      for (const r of g) byRun.get(r.runId)!.probe = false;
      notes.push(`${runsText(g)} measured forgetting on another probe (${dataLabel(g[0]!.probeId, demos)}) than ${runsText(probeRef)} (${refLabel})`);
    }
  }
  return {
    byRun,
    note: notes.length === 0 ? null : `Not comparable: ${notes.join('; ')}. Their learning and forgetting cells are marked ≠.`,
  };
}
