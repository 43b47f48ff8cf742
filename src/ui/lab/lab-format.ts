/** How the Lab panel words settings, estimates and measured numbers. */
import type { LabRunSummary, PlanEstimate, RunResult } from '../../workers/protocol.ts';
import { formatInt, formatMs } from '../shared/format.ts';

/** "LoRA r 8, α 16 · q k v o · lr 0.01 · 60 steps of 4 × 64 tokens · constant lr". */
export function runSettingsText(r: LabRunSummary): string {
  const s = r.settings;
  const adapter = s.method === 'full' ? 'every weight' : `r ${s.rank}${s.method === 'mora' ? `, type ${s.moraType}` : `, α ${s.alpha}`} · ${s.targets.join(' ')}`;
  return `${s.method} · ${adapter} · lr ${s.lr} · ${s.steps} steps of ${s.batch} × ${s.seq} tokens · ${s.schedule} lr · seed ${s.seed}`;
}

/** "About 52.1 s on this GPU, …" with how it was measured. */
export function estimateText(e: PlanEstimate): string {
  const parts = e.runs.map((r) => `${r.name}: ${formatMs(r.setupMs)} set-up + ${r.steps} steps × ${formatMs(r.stepMs)} + ${r.points} measurements × ${formatMs(r.pointMs)}`);
  return `About ${formatMs(e.totalMs)} on this GPU (an estimate from running each run for a few steps with a measurement before and after: ${parts.join('; ')}).`;
}

const n2 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));
const pct = (x: number | undefined): string => (x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);

/** A run's headline numbers, as the result card lists them. */
export function measuredText(r: RunResult): string {
  const m = r.metrics;
  const last = m.curve.at(-1);
  return [
    last?.char_accuracy !== undefined ? `character accuracy ${pct(last.char_accuracy)}, exact match ${pct(last.exact_match)}` : '',
    m.learning !== undefined ? `learning ${n2(m.learning)}` : '',
    m.forgetting !== undefined ? `forgetting ${n2(m.forgetting)}` : '',
    last?.forgetting_ce !== undefined ? `CE vs base ${n2(last.forgetting_ce)}` : '',
    m.delta_rank90_mean !== undefined ? `ΔW rank90 ${n2(m.delta_rank90_mean)}` : '',
    m.overlap_principal_mean !== undefined ? `principal ${n2(m.overlap_principal_mean)} / minor ${n2(m.overlap_minor_mean)}` : '',
    m.intruders_mean ? `intruders ${Object.entries(m.intruders_mean).map(([e, v]) => `${n2(v)} (ε ${e})`).join(', ')}` : '',
    `${formatInt(r.trainable)} trainable`,
  ].filter(Boolean).join('; ');
}
