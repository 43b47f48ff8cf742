/** Training data: the demo list, the chosen source (demo, pasted text, a file), and what the engine made of it. */
import type { DemoId } from '../corpus/demos.ts';
import type { DataFormat } from '../train/data.ts';
import { EngineError } from '../workers/engine-client.ts';
import type { DataSource, DataSplit, DataSummary, DemoSummary } from '../workers/protocol.ts';
import type { AppState, SliceCreator } from './app-state.ts';
import { engine } from './engine.ts';

export type DataMode = 'demo' | 'paste' | 'file';

/** Why the data could not be used; `line` and `field` point into a JSONL file. */
export interface DataLoadError {
  message: string;
  file?: string;
  line?: number;
  field?: string;
}

export interface DataSlice {
  demos: DemoSummary[] | null;
  dataMode: DataMode;
  pasteText: string;
  pasteFormat: DataFormat | 'auto';
  /** The data the engine holds, re-sent when the split or the model changes. */
  dataSource: DataSource | null;
  dataSummary: DataSummary | null;
  dataError: DataLoadError | null;
  dataPreparing: boolean;
  /** Fraction of windows held out for eval losses. */
  evalFraction: number;
  /** The demo a link asked for (its id), chosen instead of the first demo when a model loads. */
  preferredDemo: string | null;
  /**
   * The forgetting probe a run evaluates (a demo id; null = none): text the base model already knew,
   * whose loss before and during training shows how much the run forgets. Set to the held-out base
   * text when the built-in model loads (that text is from its own corpus), cleared for other models.
   */
  probeDemo: DemoId | null;
  /** The probe a link asked for ("none" or a demo id; null: the link said nothing), kept over the default. */
  probeFromLink: string | null;
  setProbeDemo(id: DemoId | null): void;
  setDataMode(mode: DataMode): void;
  setPasteText(text: string): void;
  setPasteFormat(format: DataFormat | 'auto'): void;
  setEvalFraction(v: number): void;
  loadDemos(): Promise<void>;
  /** Tokenise `source` in the engine with the current split. */
  chooseData(source: DataSource): Promise<void>;
  /** Tokenise the current source again (split, seed or model changed). */
  refreshData(): Promise<void>;
}

/** The split the current settings ask for. */
export const splitOf = (s: AppState): DataSplit => ({ seqLen: s.trainConfig.seq, evalFraction: s.evalFraction, seed: s.trainConfig.seed });

/** Pasted text is JSONL when its first non-blank line opens an object. */
export function pastedFormat(text: string, chosen: DataFormat | 'auto'): DataFormat {
  if (chosen !== 'auto') return chosen;
  const first = text.split('\n').find((l) => l.trim() !== '');
  return first?.trim().startsWith('{') ? 'jsonl' : 'text';
}

let latest = 0;

export const createDataSlice: SliceCreator<DataSlice> = (set, get) => ({
  demos: null,
  dataMode: 'demo',
  pasteText: '',
  pasteFormat: 'auto',
  dataSource: null,
  dataSummary: null,
  dataError: null,
  dataPreparing: false,
  evalFraction: 0.1,
  preferredDemo: null,
  probeDemo: null,
  probeFromLink: null,
  setProbeDemo(id) {
    set({ probeDemo: id });
  },
  setDataMode(mode) {
    set({ dataMode: mode });
  },
  setPasteText(text) {
    set({ pasteText: text });
  },
  setPasteFormat(format) {
    set({ pasteFormat: format });
  },
  setEvalFraction(v) {
    set({ evalFraction: v });
    void get().refreshData();
  },
  async loadDemos() {
    if (get().demos) return;
    try {
      const { demos } = await engine().listDemos();
      set({ demos });
    } catch (e) {
      set({ dataError: { message: `Could not list the demo datasets: ${(e as Error).message}` } });
    }
  },
  async chooseData(source) {
    const request = ++latest;
    set({ dataSource: source, dataPreparing: true, dataError: null });
    try {
      const { data } = await engine().prepareData(source, splitOf(get())).result;
      if (request === latest) set({ dataSummary: data });
    } catch (e) {
      const err = e instanceof EngineError ? e : new EngineError(String((e as Error)?.message ?? e));
      if (request === latest) set({ dataSummary: null, dataError: { message: err.message, file: err.file, line: err.line, field: err.field } });
    } finally {
      if (request === latest) set({ dataPreparing: false });
    }
  },
  async refreshData() {
    const { dataSource, model } = get();
    if (dataSource && model?.hasTokenizer) await get().chooseData(dataSource);
  },
});
