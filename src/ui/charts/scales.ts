/** Linear and log scales with readable ticks, for the SVG charts. */

export interface Scale {
  (v: number): number;
  ticks: number[];
  format(v: number): string;
}

/** A "nice" step (1, 2 or 5 × 10^k) giving about `count` intervals over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0).replace('e+', 'e');
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return v.toFixed(Math.min(decimals, 6));
}

/** Map [lo, hi] to [from, to] linearly, with nice ticks covering the domain. */
export function linearScale(lo: number, hi: number, from: number, to: number, count = 5): Scale {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.05 || 1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(hi - lo, count);
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  const s = ((v: number) => from + ((v - lo) / (hi - lo)) * (to - from)) as Scale;
  s.ticks = ticks;
  s.format = (v) => formatTick(v, step);
  return s;
}

/** Map [lo, hi] (both > 0) to [from, to] on log10, with ticks at 1, 2, 5 × 10^k (or nice linear ticks within a decade). */
export function logScale(lo: number, hi: number, from: number, to: number): Scale {
  lo = Math.max(lo, 1e-12);
  if (!(hi > lo)) {
    lo /= 1.1;
    hi = lo * 1.21;
  }
  const l0 = Math.log10(lo);
  const l1 = Math.log10(hi);
  const s = ((v: number) => from + ((Math.log10(Math.max(v, 1e-12)) - l0) / (l1 - l0)) * (to - from)) as Scale;
  let ticks: number[] = [];
  for (let k = Math.floor(l0); k <= Math.ceil(l1); k++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** k;
      if (t >= lo && t <= hi) ticks.push(t);
    }
  }
  let step = 10 ** Math.floor(l0);
  if (ticks.length < 3) {
    step = niceStep(hi - lo, 4);
    ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  }
  s.ticks = ticks;
  s.format = (v) => formatTick(v, Math.min(step, v));
  return s;
}
