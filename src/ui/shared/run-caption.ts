/** A run in words, for tables and exported charts: its data ("New facts", "pasted text, 120 tokens") and its settings line. */
import { methodRow, type MethodId } from '../../store/methods.ts';
import type { TrainConfig } from '../../schema/train-config.ts';
import { isPasted, type DataIdentity } from '../../schema/data-identity.ts';
import type { DemoSummary } from '../../workers/protocol.ts';
import { formatInt } from './format.ts';

/** "New facts" (a demo, by its title), "pasted text, 1,234 tokens", or the uploaded file's name. */
export function dataLabel(d: DataIdentity | null, demos: readonly DemoSummary[] | null): string {
  if (!d) return 'unknown data';
  if (d.source === 'demo') return demos?.find((m) => m.fileName === d.fileName)?.title ?? d.fileName;
  if (isPasted(d)) return d.tokens === null ? 'pasted text' : `pasted text, ${formatInt(d.tokens)} tokens`;
  return d.fileName;
}

/** What a settings line needs to know of a run. */
export interface CaptionRun {
  label: string;
  methodId: MethodId;
  config: TrainConfig;
  /** Steps taken (default: the configured steps). */
  steps?: number;
  dataId: DataIdentity | null;
  probeId: DataIdentity | null;
}

/** "Run 2 · MoRA r8: lr 1.0e-2, 6 steps, batch 2×32, targets q, v, α 16; data New facts; probe Held-out base text". */
export function runSettingsLine(r: CaptionRun, demos: readonly DemoSummary[] | null): string {
  const row = methodRow(r.methodId);
  const c = r.config;
  const steps = r.steps === undefined || r.steps === c.steps ? `${c.steps} steps` : `${r.steps} of ${c.steps} steps`;
  const parts = [`lr ${c.lr.toExponential(1)}`, steps, `batch ${c.batch}×${c.seq}`];
  if (row.uses.targets) parts.push(`targets ${c.targets.join(', ')}`);
  if (row.uses.alpha) parts.push(`α ${c.alpha}`);
  const probe = r.probeId ? `; probe ${dataLabel(r.probeId, demos)}` : '';
  return `${r.label}: ${parts.join(', ')}; data ${dataLabel(r.dataId, demos)}${probe}`;
}
