/** The whole store's shape: one interface per slice, merged. */
import type { StateCreator } from 'zustand';
import type { ChartsSlice } from './charts-slice.ts';
import type { CompareSlice } from './compare-slice.ts';
import type { DataSlice } from './data-slice.ts';
import type { GenerateSlice } from './generate-slice.ts';
import type { GpuSlice } from './gpu-slice.ts';
import type { ImportSlice } from './import-slice.ts';
import type { LabSlice } from './lab-slice.ts';
import type { MemorySlice } from './memory-slice.ts';
import type { ModelSlice } from './model-slice.ts';
import type { RunSlice } from './run-slice.ts';
import type { RunsSlice } from './runs-slice.ts';
import type { SavedRunsSlice } from './saved-runs-slice.ts';
import type { SpectrumSlice } from './spectrum-slice.ts';

export type AppState = GpuSlice & ModelSlice & GenerateSlice & DataSlice & RunSlice & RunsSlice & SavedRunsSlice & ChartsSlice & CompareSlice & SpectrumSlice & ImportSlice & LabSlice & MemorySlice;

/** A slice creator that can read and write the whole state. */
export type SliceCreator<S> = StateCreator<AppState, [], [], S>;
