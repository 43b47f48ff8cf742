/**
 * Importing an adapter: the engine applies it to a fresh copy of the base weights and records it as
 * a 0-step run, which becomes the run slice's `tuned` model, so generate, compare and export use it.
 */
import type { ImportedAdapter } from '../schema/imported-adapter.ts';
import { EngineError } from '../workers/engine-client.ts';
import type { AppState, SliceCreator } from './app-state.ts';
import { engine } from './engine.ts';
import { modelName } from './run-slice.ts';
import { runActive } from './run-status.ts';
import type { MethodId } from './methods.ts';
import type { TunedModel } from './run-slice.ts';

export type ImportStatus = 'idle' | 'importing';

export interface ImportError {
  message: string;
  /** The file at fault, when the engine could tell (e.g. "adapter.zip/adapter_model.safetensors"). */
  file?: string;
  code?: string;
}

/** An imported adapter and the engine run id it was recorded under. */
export type ImportedRun = ImportedAdapter & { runId: number };

export interface ImportSlice {
  importStatus: ImportStatus;
  importError: ImportError | null;
  /** The last import; the current fine-tuned model while `tuned` is still `importedTuned` (see importIsCurrent). */
  imported: ImportedRun | null;
  /** The run slice's `tuned` the import set: a run or a model load replaces it. */
  importedTuned: TunedModel | null;
  importAdapter(files: readonly File[]): Promise<void>;
}

/** The method row an imported adapter belongs to. */
export function importedMethodId(adapter: Pick<ImportedAdapter, 'method' | 'rslora'>): MethodId {
  if (adapter.method === 'lora') return adapter.rslora ? 'rslora' : 'lora';
  return adapter.method;
}

/** Whether the fine-tuned model is the imported adapter (not a run trained or loaded since). */
export function importIsCurrent(s: AppState): boolean {
  return s.imported !== null && s.tuned !== null && s.tuned === s.importedTuned;
}

export const createImportSlice: SliceCreator<ImportSlice> = (set, get) => ({
  importStatus: 'idle',
  importError: null,
  imported: null,
  importedTuned: null,
  async importAdapter(files) {
    const s = get();
    if (files.length === 0 || s.importStatus !== 'idle') return;
    const run = s.runStatus;
    if (runActive(run)) {
      set({ importError: { message: 'A training run holds the model: let it finish or stop it before importing an adapter.', code: 'busy' } });
      return;
    }
    if (!s.model) {
      set({ importError: { message: 'Load the model the adapter was trained on first.', code: 'no-model' } });
      return;
    }
    set({ importStatus: 'importing', importError: null });
    try {
      const r = await engine().importAdapter(files, modelName(s));
      const tuned: TunedModel = { runId: r.runId, methodId: importedMethodId(r.adapter), steps: 0 };
      set({
        imported: { ...r.adapter, runId: r.runId },
        importedTuned: tuned,
        tuned,
        compareBase: '', compareTuned: '', compareLabel: null,
      });
    } catch (e) {
      const err = e instanceof EngineError ? e : new EngineError(String((e as Error)?.message ?? e));
      set({ importError: { message: err.message, file: err.file, code: err.code } });
    } finally {
      set({ importStatus: 'idle' });
    }
  },
});
