/**
 * The GPU memory budget a run is checked against before Start, and who decides activation
 * recomputation: the user (the checkbox, or a link's recompute=1/0) or the studio, which turns it on
 * when the estimate exceeds the budget and recomputing helps (chooseRecompute), and off again when not.
 */
import { DEFAULT_GPU_BUDGET_BYTES } from '../schema/estimate.ts';
import type { SliceCreator } from './app-state.ts';

export interface MemorySlice {
  /** What the run may use of the GPU's memory (WebGPU tells no size: DEFAULT_GPU_BUDGET_BYTES until changed). */
  gpuBudgetBytes: number;
  /** true: the studio sets trainConfig.recompute from the estimate; false: the user's choice stands. */
  recomputeAuto: boolean;
  setGpuBudget(bytes: number): void;
  /** The checkbox: the user's choice, kept over the automatic one. */
  setRecompute(on: boolean): void;
  /** Let the studio choose again. */
  setRecomputeAuto(): void;
}

export const createMemorySlice: SliceCreator<MemorySlice> = (set) => ({
  gpuBudgetBytes: DEFAULT_GPU_BUDGET_BYTES,
  recomputeAuto: true,
  setGpuBudget(bytes) {
    if (!(Number.isFinite(bytes) && bytes > 0)) throw new Error(`GPU memory budget must be a positive number of bytes, got ${bytes}`);
    set({ gpuBudgetBytes: bytes });
  },
  setRecompute(on) {
    set((s) => ({
      recomputeAuto: false,
      trainConfig: { ...s.trainConfig, recompute: on },
      editedFields: s.editedFields.includes('recompute') ? s.editedFields : [...s.editedFields, 'recompute'],
    }));
  },
  setRecomputeAuto() {
    set((s) => ({ recomputeAuto: true, editedFields: s.editedFields.filter((f) => f !== 'recompute') }));
  },
});
