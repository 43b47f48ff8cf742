/** The loaded model: its summary, the load in progress, and the last load error (naming the file). */
import { EngineError } from '../workers/engine-client.ts';
import type { ModelSummary } from '../workers/protocol.ts';
import type { SliceCreator } from './app-state.ts';
import { engine } from './engine.ts';

export interface ModelLoadError {
  message: string;
  /** The file at fault, when the engine could tell. */
  file?: string;
  code?: string;
}

export interface ModelSlice {
  /** The model the engine holds now (a failed load keeps the previous one). */
  model: ModelSummary | null;
  modelLoading: boolean;
  /** What the engine is doing while loading, e.g. "Uploading weights to the GPU". */
  loadProgress: string | null;
  modelError: ModelLoadError | null;
  loadModel(files: readonly File[]): Promise<void>;
}

export const createModelSlice: SliceCreator<ModelSlice> = (set, get) => ({
  model: null,
  modelLoading: false,
  loadProgress: null,
  modelError: null,
  async loadModel(files) {
    if (files.length === 0 || get().modelLoading) return;
    set({ modelLoading: true, modelError: null, loadProgress: `Reading ${files.map((f) => f.name).join(', ')}` });
    const off = engine().subscribe((e) => {
      if (e.type === 'progress' && e.stage !== 'prefill') set({ loadProgress: e.message });
    });
    try {
      const { model } = await engine().loadModel(files);
      set({ model, output: '', lastRun: null, generateError: null });
    } catch (e) {
      const err = e instanceof EngineError ? e : new EngineError(String((e as Error)?.message ?? e));
      set({ modelError: { message: err.message, file: err.file, code: err.code } });
    } finally {
      off();
      set({ modelLoading: false, loadProgress: null });
    }
  },
});
