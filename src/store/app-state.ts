/** The whole store's shape: one interface per slice, merged. */
import type { StateCreator } from 'zustand';
import type { GenerateSlice } from './generate-slice.ts';
import type { GpuSlice } from './gpu-slice.ts';
import type { ModelSlice } from './model-slice.ts';

export type AppState = GpuSlice & ModelSlice & GenerateSlice;

/** A slice creator that can read and write the whole state. */
export type SliceCreator<S> = StateCreator<AppState, [], [], S>;
