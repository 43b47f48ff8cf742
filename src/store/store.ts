/** The app's one zustand store, built from slices. Read it with atomic selectors: useAppStore((s) => s.model). */
import { create } from 'zustand';
import type { AppState } from './app-state.ts';
import { createGenerateSlice } from './generate-slice.ts';
import { createGpuSlice } from './gpu-slice.ts';
import { createModelSlice } from './model-slice.ts';

export const useAppStore = create<AppState>()((...a) => ({
  ...createGpuSlice(...a),
  ...createModelSlice(...a),
  ...createGenerateSlice(...a),
}));
