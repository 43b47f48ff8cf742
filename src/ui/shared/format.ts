/** Number formatting for the panels. */

/** 260032 → "260,032". */
export function formatInt(n: number): string {
  return n.toLocaleString('en-US');
}

/** 260032 → "260K", 15_200_000 → "15.2M", 1_100_000_000 → "1.1B". */
export function formatCompact(n: number): string {
  const units: [number, string][] = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [size, unit] of units) {
    if (n >= size) {
      const v = n / size;
      return `${v >= 100 ? Math.round(v) : Number(v.toFixed(1))}${unit}`;
    }
  }
  return String(n);
}

/** Milliseconds as "850 ms" or "3.2 s". */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
