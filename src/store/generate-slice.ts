/** Sampling settings, the running generation and its streamed output. */
import type { GenerateSettings } from '../workers/protocol.ts';
import type { SliceCreator } from './app-state.ts';
import { engine } from './engine.ts';

export type GenerateStatus = 'idle' | 'running' | 'stopping';

export interface RunStats {
  newTokens: number;
  ms: number;
  cancelled: boolean;
}

export interface GenerateSlice {
  settings: GenerateSettings;
  generateStatus: GenerateStatus;
  /** Request id of the running generation, to cancel it. */
  generateRequest: number | null;
  /** The prompt followed by the tokens streamed so far. */
  output: string;
  lastRun: RunStats | null;
  generateError: string | null;
  setSetting<K extends keyof GenerateSettings>(key: K, value: GenerateSettings[K]): void;
  startGenerate(): Promise<void>;
  stopGenerate(): void;
}

/** llama2.c's defaults, except temperature 0 (greedy), which is reproducible. */
export const DEFAULT_SETTINGS: GenerateSettings = { prompt: '', maxTokens: 256, temperature: 0, topP: 0.9, seed: 42 };

export const createGenerateSlice: SliceCreator<GenerateSlice> = (set, get) => ({
  settings: DEFAULT_SETTINGS,
  generateStatus: 'idle',
  generateRequest: null,
  output: '',
  lastRun: null,
  generateError: null,
  setSetting(key, value) {
    set((s) => ({ settings: { ...s.settings, [key]: value } }));
  },
  async startGenerate() {
    if (get().generateStatus !== 'idle') return;
    const settings = get().settings;
    set({ generateStatus: 'running', output: settings.prompt, lastRun: null, generateError: null });
    const pending = engine().generate(settings, (piece) => set((s) => ({ output: s.output + piece })));
    set({ generateRequest: pending.id });
    try {
      const r = await pending.result;
      set({ output: r.text, lastRun: { newTokens: r.newTokens, ms: r.ms, cancelled: r.cancelled } });
    } catch (e) {
      set({ generateError: (e as Error).message });
    } finally {
      set({ generateStatus: 'idle', generateRequest: null });
    }
  },
  stopGenerate() {
    const id = get().generateRequest;
    if (id === null || get().generateStatus !== 'running') return;
    set({ generateStatus: 'stopping' });
    void engine().cancel(id).catch(() => undefined);
  },
});
