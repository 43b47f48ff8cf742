/** A run's headline numbers, derived from its curve, spectra and intruders (so a reader can recompute them). */
import { INTRUDER_EPSILONS } from '../spectra/intruders.ts';
import type { CurvePoint, RunMetrics } from './types.ts';

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The first and last points of `curve` that have `key`. */
function ends(curve: readonly CurvePoint[], key: 'eval_loss' | 'probe_loss'): [number, number] | undefined {
  const has = curve.filter((p) => p[key] !== undefined && Number.isFinite(p[key]));
  return has.length >= 2 ? [has[0]![key]!, has.at(-1)![key]!] : undefined;
}

/** Learning = eval loss fall from the first point to the last; forgetting = probe loss rise. */
export function learnForget(curve: readonly CurvePoint[], upTo = Infinity): { learning?: number; forgetting?: number } {
  const c = curve.filter((p) => p.step <= upTo);
  const e = ends(c, 'eval_loss'), pr = ends(c, 'probe_loss');
  return { ...(e ? { learning: e[0] - e[1] } : {}), ...(pr ? { forgetting: pr[1] - pr[0] } : {}) };
}

/** Mean intruder count per module at each ε. */
export function intrudersMean(modules: readonly { intruders: Record<string, number> }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const eps of INTRUDER_EPSILONS) out[String(eps)] = modules.length === 0 ? 0 : mean(modules.map((m) => m.intruders[String(eps)]!));
  return out;
}

/** Fill the summary fields of `m` from its curve, last spectra and last intruders. */
export function summarise(m: RunMetrics): void {
  Object.assign(m, learnForget(m.curve));
  const s = m.spectra?.at(-1)?.modules;
  if (s && s.length > 0) {
    m.delta_rank90_mean = mean(s.map((x) => x.delta_rank90));
    m.overlap_principal_mean = mean(s.map((x) => x.overlap_principal));
    m.overlap_minor_mean = mean(s.map((x) => x.overlap_minor));
  }
  const i = m.intruders?.at(-1)?.modules;
  if (i) m.intruders_mean = intrudersMean(i);
}
