/** Typed access to parsed command-line values, with errors that name the flag. */
export type Values = Record<string, string | boolean | undefined>;

/** A problem with what the user typed: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function requireString(v: Values, flag: string): string {
  const s = v[flag];
  if (typeof s !== 'string' || s === '') throw new UsageError(`--${flag} is required`);
  return s;
}

export function optionalString(v: Values, flag: string): string | undefined {
  const s = v[flag];
  return typeof s === 'string' ? s : undefined;
}

/** A number flag, checked against [min, max] and integrality. */
export function optionalNumber(
  v: Values, flag: string, o: { min?: number; max?: number; integer?: boolean } = {},
): number | undefined {
  const s = v[flag];
  if (s === undefined) return undefined;
  const n = Number(s);
  const bad =
    typeof s !== 'string' || s.trim() === '' || !Number.isFinite(n) ||
    (o.integer && !Number.isInteger(n)) || (o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max);
  if (bad) {
    const range = [o.integer ? 'a whole number' : 'a number', o.min !== undefined ? `≥ ${o.min}` : '', o.max !== undefined ? `≤ ${o.max}` : '']
      .filter(Boolean).join(' ');
    throw new UsageError(`--${flag} must be ${range}, got "${String(s)}"`);
  }
  return n;
}
