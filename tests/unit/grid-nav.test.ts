/** The heatmap's keyboard movement: arrows by one cell, stopping at the edges; Home/End, PageUp/PageDown. */
import { describe, expect, test } from 'vitest';
import { moveCell } from '../../src/ui/spectrum/grid-nav.ts';

// stories260K's heatmap: 5 layers × 7 modules.
const ROWS = 5;
const COLS = 7;
const move = (row: number, col: number, key: string) => moveCell({ row, col }, key, ROWS, COLS);

describe('moveCell', () => {
  test('arrows move one cell', () => {
    expect(move(1, 1, 'ArrowRight')).toEqual({ row: 1, col: 2 });
    expect(move(1, 1, 'ArrowLeft')).toEqual({ row: 1, col: 0 });
    expect(move(1, 1, 'ArrowDown')).toEqual({ row: 2, col: 1 });
    expect(move(1, 1, 'ArrowUp')).toEqual({ row: 0, col: 1 });
  });

  test('arrows stop at the edges instead of wrapping', () => {
    expect(move(0, 6, 'ArrowRight')).toEqual({ row: 0, col: 6 });
    expect(move(0, 0, 'ArrowLeft')).toEqual({ row: 0, col: 0 });
    expect(move(4, 3, 'ArrowDown')).toEqual({ row: 4, col: 3 });
    expect(move(0, 3, 'ArrowUp')).toEqual({ row: 0, col: 3 });
  });

  test('Home/End go to the row ends, PageUp/PageDown to the column ends', () => {
    expect(move(2, 3, 'Home')).toEqual({ row: 2, col: 0 });
    expect(move(2, 3, 'End')).toEqual({ row: 2, col: 6 });
    expect(move(2, 3, 'PageUp')).toEqual({ row: 0, col: 3 });
    expect(move(2, 3, 'PageDown')).toEqual({ row: 4, col: 3 });
  });

  test('other keys are not movement (Enter and Space select; Tab leaves the grid)', () => {
    for (const key of ['Enter', ' ', 'Tab', 'a']) expect(move(2, 3, key)).toBeNull();
  });

  test('a one-cell grid keeps every move on that cell', () => {
    for (const key of ['ArrowRight', 'ArrowLeft', 'ArrowDown', 'ArrowUp', 'Home', 'End', 'PageUp', 'PageDown']) {
      expect(moveCell({ row: 0, col: 0 }, key, 1, 1)).toEqual({ row: 0, col: 0 });
    }
  });
});
