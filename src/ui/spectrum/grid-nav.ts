/** Keyboard movement in a rows × cols grid of cells (the heatmap's roving tab stop). */

/** A cell by row and column, both from 0. */
export interface Cell {
  row: number;
  col: number;
}

/**
 * The cell that `key` moves to from `at` in a rows × cols grid: arrows by one (stopping at the
 * edges), Home/End to the row's first/last cell, PageUp/PageDown to the column's first/last cell.
 * null when `key` is not a movement key.
 */
export function moveCell(at: Cell, key: string, rows: number, cols: number): Cell | null {
  const clamp = (v: number, n: number) => Math.max(0, Math.min(n - 1, v));
  switch (key) {
    case 'ArrowRight':
      return { row: at.row, col: clamp(at.col + 1, cols) };
    case 'ArrowLeft':
      return { row: at.row, col: clamp(at.col - 1, cols) };
    case 'ArrowDown':
      return { row: clamp(at.row + 1, rows), col: at.col };
    case 'ArrowUp':
      return { row: clamp(at.row - 1, rows), col: at.col };
    case 'Home':
      return { row: at.row, col: 0 };
    case 'End':
      return { row: at.row, col: cols - 1 };
    case 'PageUp':
      return { row: 0, col: at.col };
    case 'PageDown':
      return { row: rows - 1, col: at.col };
    default:
      return null;
  }
}
