/**
 * Base vs fine-tuned: the same prompt and sampling settings (the generate panel's) run on the base
 * weights, then on the model the last run trained; both outputs stream side by side.
 */
import type { ModelVariant } from '../workers/protocol.ts';
import type { SliceCreator } from './app-state.ts';
import { engine } from './engine.ts';
import { importIsCurrent } from './import-slice.ts';
import { methodRow } from './methods.ts';

export type CompareStatus = 'idle' | 'running' | 'stopping';

export interface CompareSlice {
  compareStatus: CompareStatus;
  /** Which side is generating now. */
  compareSide: ModelVariant | null;
  compareRequest: number | null;
  compareBase: string;
  compareTuned: string;
  /** What the fine-tuned side was, e.g. "run 1 · LoRA · 3 steps". */
  compareLabel: string | null;
  compareError: string | null;
  startCompare(): Promise<void>;
  stopCompare(): void;
}

export const createCompareSlice: SliceCreator<CompareSlice> = (set, get) => ({
  compareStatus: 'idle',
  compareSide: null,
  compareRequest: null,
  compareBase: '',
  compareTuned: '',
  compareLabel: null,
  compareError: null,
  async startCompare() {
    const { tuned, compareStatus, settings } = get();
    if (!tuned || compareStatus !== 'idle') return;
    const method = methodRow(tuned.methodId).label;
    set({
      compareStatus: 'running', compareError: null, compareBase: settings.prompt, compareTuned: settings.prompt,
      compareLabel: importIsCurrent(get())
        ? `imported ${method} adapter`
        : `run ${tuned.runId} · ${method} · ${tuned.steps} step${tuned.steps === 1 ? '' : 's'}`,
    });
    const key = { base: 'compareBase', tuned: 'compareTuned' } as const;
    try {
      for (const side of ['base', 'tuned'] as const) {
        if (get().compareStatus !== 'running') break;
        const pending = engine().generate(settings, (piece) => set((s) => ({ [key[side]]: s[key[side]] + piece })), side);
        set({ compareSide: side, compareRequest: pending.id });
        const r = await pending.result;
        set({ [key[side]]: r.text });
      }
    } catch (e) {
      set({ compareError: (e as Error).message });
    } finally {
      set({ compareStatus: 'idle', compareSide: null, compareRequest: null });
    }
  },
  stopCompare() {
    const id = get().compareRequest;
    if (id === null || get().compareStatus !== 'running') return;
    set({ compareStatus: 'stopping' });
    void engine().cancel(id).catch(() => undefined);
  },
});
