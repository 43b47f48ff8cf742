/** Training data: the demo list, the chosen source (demo, pasted text, a file), and what the engine made of it. */
import type { DemoId } from '../schema/data.ts';
import type { DataFormat, DataProblem } from '../schema/data.ts';
import { EngineError } from '../workers/engine-client.ts';
import type { DataSource, DataSummary, DemoSummary } from '../workers/protocol.ts';
import type { DataSplit } from '../schema/data.ts';
import type { AppState, SliceCreator } from './app-state.ts';
import { engine } from './engine.ts';

export type DataMode = 'demo' | 'paste' | 'file';

/** Why the data could not be used; `line` and `field` point into a JSONL file. */
export interface DataLoadError {
  message: string;
  file?: string;
  line?: number;
  field?: string;
  /** Every bad line of the file when it has several (the first ones; `unlisted` more). */
  problems?: readonly DataProblem[];
  unlisted?: number;
}

export interface DataSlice {
  demos: DemoSummary[] | null;
  dataMode: DataMode;
  pasteText: string;
  pasteFormat: DataFormat | 'auto';
  /** The data the engine holds, re-sent when the split or the model changes. */
  dataSource: DataSource | null;
  /** The mode `dataSource` was chosen in: the engine trains the shown data only when it is `dataMode`. */
  dataSourceMode: DataMode | null;
  /** What each mode last sent to the engine, chosen again when the mode is switched back to. */
  modeSources: Partial<Record<DataMode, DataSource>>;
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
  /** Show `mode`; the engine gets that mode's data (its demo, the pasted text, its file) or Start is blocked until it has it. */
  setDataMode(mode: DataMode): void;
  setPasteText(text: string): void;
  setPasteFormat(format: DataFormat | 'auto'): void;
  setEvalFraction(v: number): void;
  loadDemos(): Promise<void>;
  /** Tokenise `source` in the engine with the current split, as the data of `mode` (default: a demo's mode, else the shown one). */
  chooseData(source: DataSource, mode?: DataMode): Promise<void>;
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

/** The source pasted `text` makes with the chosen format. */
export function pasteSource(text: string, chosen: DataFormat | 'auto'): Extract<DataSource, { kind: 'text' }> {
  const format = pastedFormat(text, chosen);
  return { kind: 'text', fileName: format === 'jsonl' ? 'pasted.jsonl' : 'pasted.txt', text, format };
}

/** Why the data panel's shown data is not (yet) what a run would train, or null when it is. */
export function dataBlocker(s: AppState): string | null {
  const mode = s.dataMode;
  if (mode === 'paste' && s.pasteText.trim() === '') return 'Paste some text to train on.';
  if (!s.dataSource || s.dataSourceMode !== mode) {
    if (mode === 'demo') return 'Choose a demo dataset.';
    if (mode === 'paste') return 'Click Tokenise to train on the pasted text.';
    return 'Upload a .txt or .jsonl file to train on.';
  }
  if (mode === 'paste') {
    const shown = pasteSource(s.pasteText, s.pasteFormat);
    const used = s.dataSource;
    if (used.kind !== 'text' || used.text !== shown.text || used.format !== shown.format) {
      return 'The pasted text changed since it was tokenised: click Tokenise to train on it.';
    }
  }
  if (s.dataPreparing) return 'Tokenising the data…';
  if (s.dataError) return 'Fix the training data first.';
  if (!s.dataSummary) return 'Choose training data first.';
  return null;
}

let latest = 0;

export const createDataSlice: SliceCreator<DataSlice> = (set, get) => ({
  demos: null,
  dataMode: 'demo',
  pasteText: '',
  pasteFormat: 'auto',
  dataSource: null,
  dataSourceMode: null,
  modeSources: {},
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
    const s = get();
    if (mode === s.dataMode) return;
    set({ dataMode: mode });
    // Pasted text is tokenised as shown; the other modes get back what they last had.
    const next = mode === 'paste' ? (s.pasteText.trim() === '' ? undefined : pasteSource(s.pasteText, s.pasteFormat)) : s.modeSources[mode];
    if (next && s.model?.hasTokenizer) void get().chooseData(next, mode);
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
  async chooseData(source, mode) {
    const request = ++latest;
    const as = mode ?? (source.kind === 'demo' ? 'demo' : get().dataMode);
    set((s) => ({ dataSource: source, dataSourceMode: as, modeSources: { ...s.modeSources, [as]: source }, dataPreparing: true, dataError: null }));
    try {
      const { data } = await engine().prepareData(source, splitOf(get())).result;
      if (request === latest) set({ dataSummary: data });
    } catch (e) {
      const err = e instanceof EngineError ? e : new EngineError(String((e as Error)?.message ?? e));
      if (request === latest) set({ dataSummary: null, dataError: { message: err.message, file: err.file, line: err.line, field: err.field, problems: err.problems, unlisted: err.unlisted } });
    } finally {
      if (request === latest) set({ dataPreparing: false });
    }
  },
  async refreshData() {
    const { dataSource, dataSourceMode, model } = get();
    if (dataSource && model?.hasTokenizer) await get().chooseData(dataSource, dataSourceMode ?? undefined);
  },
});
