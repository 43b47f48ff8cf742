/**
 * Which runs are ticked in Compare runs, kept in the browser's localStorage so the choice survives
 * a reload (saved runs come back ticked as they were). No storage (Node, a locked-down profile):
 * ticks live for the session only.
 */

export const COMPARE_TICKS_KEY = 'subspace.compare-runs';

/** The storage to use, or null when there is none or it refuses access. */
function storage(): Pick<Storage, 'getItem' | 'setItem'> | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

/** The run ids ticked last time (empty when nothing, or something unreadable, is stored). */
export function loadTicks(store = storage()): Set<number> {
  try {
    const raw = store?.getItem(COMPARE_TICKS_KEY);
    const ids: unknown = raw ? JSON.parse(raw) : [];
    return new Set(Array.isArray(ids) ? ids.filter((v): v is number => Number.isInteger(v) && v > 0) : []);
  } catch {
    return new Set();
  }
}

/** Remember `ids` as the ticked runs (a full quota only loses the memory, never the ticks on screen). */
export function saveTicks(ids: Iterable<number>, store = storage()): void {
  try {
    store?.setItem(COMPARE_TICKS_KEY, JSON.stringify([...ids].sort((a, b) => a - b)));
  } catch {
    // Quota or privacy mode: the ticks stay for this session.
  }
}
