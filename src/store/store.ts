/**
 * The app's one zustand store, built from slices. Read it with atomic selectors:
 * useAppStore((s) => s.model); high-frequency data (chart points) through useAppStore.subscribe.
 */
import { create } from 'zustand';
import type { AppState } from './app-state.ts';
import { createChartsSlice } from './charts-slice.ts';
import { createCompareSlice } from './compare-slice.ts';
import { createDataSlice } from './data-slice.ts';
import { createGenerateSlice } from './generate-slice.ts';
import { createGpuSlice } from './gpu-slice.ts';
import { createImportSlice } from './import-slice.ts';
import { createLabSlice } from './lab-slice.ts';
import { createMemorySlice } from './memory-slice.ts';
import { createModelSlice } from './model-slice.ts';
import { createRunSlice } from './run-slice.ts';
import { createRunsSlice } from './runs-slice.ts';
import { createSavedRunsSlice } from './saved-runs-slice.ts';
import { createSpectrumSlice } from './spectrum-slice.ts';

export const useAppStore = create<AppState>()((...a) => ({
  ...createGpuSlice(...a),
  ...createModelSlice(...a),
  ...createGenerateSlice(...a),
  ...createDataSlice(...a),
  ...createRunSlice(...a),
  ...createRunsSlice(...a),
  ...createSavedRunsSlice(...a),
  ...createChartsSlice(...a),
  ...createCompareSlice(...a),
  ...createSpectrumSlice(...a),
  ...createImportSlice(...a),
  ...createLabSlice(...a),
  ...createMemorySlice(...a),
}));
