/** The loaded model: its summary, the load in progress, and the last load error (naming the file). */
import { EngineError } from '../workers/engine-client.ts';
import type { DemoId } from '../schema/data.ts';
import type { ModelOrigin } from '../schema/stored-run.ts';
import type { EventOf, ModelSummary } from '../workers/protocol.ts';
import type { AppState, SliceCreator } from './app-state.ts';
import { fetchDefaultModel, type ModelCard } from './default-model.ts';
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
  /** The card of the built-in model when it is the one loaded. */
  modelCard: ModelCard | null;
  /** Where the loaded model came from (kept with each run, so a resume can load it again). */
  modelOrigin: ModelOrigin | null;
  loadModel(files: readonly File[], card?: ModelCard): Promise<void>;
  /** Files of the last Hub load that could not be cached, explained (the load itself went on). */
  hubCacheProblems: string[];
  /** The Hub file being downloaded now (null when no Hub download runs). */
  hubProgress: Omit<EventOf<'hubProgress'>, 'type' | 'id'> | null;
  /**
   * The Hub access token typed into the page: in memory only (never in the URL, IndexedDB, the Cache API,
   * logs or messages), so a reload forgets it. Sent with every Hub load while set, a resume's too.
   */
  hubToken: string;
  setHubToken(token: string): void;
  /** Download `repo` from the Hugging Face Hub (or the browser's cache) and load it. */
  loadHubModel(repo: string, revision?: string): Promise<void>;
  /** Load the embedded default model (public/models). */
  loadDefaultModel(): Promise<void>;
}

/**
 * Data for the new model: the current source tokenised again, or else the first demo dataset, so a
 * run can start at once. A sequence length beyond the model's context is clamped first.
 */
async function afterLoad(get: () => AppState): Promise<void> {
  const s = get();
  const context = s.model?.config.maxSeqLen ?? Infinity;
  if (s.trainConfig.seq > context) s.setTrainField('seq', context);
  await get().loadDemos();
  const { dataSource, demos, preferredDemo, probeDemo } = get();
  if (probeDemo && demos && !demos.some((d) => d.id === probeDemo)) {
    const note = `probe: "${probeDemo}" is not a demo dataset (use none, ${demos.map((d) => d.id).join(', ')}); no probe is used.`;
    get().setUrlMessage([get().urlMessage, note].filter(Boolean).join(' '));
    get().setProbeDemo(null);
  }
  if (dataSource) await get().refreshData();
  else if (demos && demos.length > 0) {
    const preferred = demos.find((d) => d.id === preferredDemo);
    if (preferredDemo && !preferred) {
      const note = `demo: "${preferredDemo}" is not a demo dataset (use ${demos.map((d) => d.id).join(', ')}); the first one is used.`;
      get().setUrlMessage([get().urlMessage, note].filter(Boolean).join(' '));
    }
    await get().chooseData({ kind: 'demo', id: (preferred ?? demos[0]!).id });
  }
}

/** The demo holding held-out text of the built-in model's corpus (see corpus/demos.ts forgetProbeDemo). */
const FORGET_PROBE_DEMO: DemoId = 'forget-probe';

/** Loads in flight: only the latest one's outcome is shown (a file picked during start-up wins). */
let latestLoad = 0;

type SetState = Parameters<SliceCreator<ModelSlice>>[0];

export const createModelSlice: SliceCreator<ModelSlice> = (set, get) => {
  const runLoad = loadRunner(set, get);
  return {
    model: null,
    modelLoading: false,
    loadProgress: null,
    modelError: null,
    modelCard: null,
    modelOrigin: null,
    hubProgress: null,
    hubCacheProblems: [],
    hubToken: '',
    setHubToken(token) {
      set({ hubToken: token });
    },
    async loadModel(files, card) {
      if (files.length === 0) return;
      const origin: ModelOrigin = card ? { kind: 'builtin', name: card.name } : { kind: 'files', files: files.map((f) => f.name) };
      await runLoad(`Reading ${files.map((f) => f.name).join(', ')}`, () => engine().loadModel(files), origin, card);
    },
    async loadHubModel(repo, revision) {
      repo = repo.trim();
      if (!repo) {
        set({ modelError: { message: 'Enter a Hugging Face repo id, e.g. "owner/name".', code: 'hub-invalid-repo' } });
        return;
      }
      await runLoad(`Fetching ${repo} from the Hugging Face Hub`, () => {
        const token = get().hubToken.trim();
        const pending = engine().request({ type: 'loadHubModel', repo, revision, ...(token ? { token } : {}) });
        set({ hubCacheProblems: [] });
        const off = engine().subscribe((e) => {
          if (e.type === 'hubCacheProblem' && e.id === pending.id) set((s) => ({ hubCacheProblems: [...s.hubCacheProblems, e.message] }));
          if (e.type === 'hubProgress' && e.id === pending.id) {
            const { type: _t, id: _i, ...p } = e;
            set({ hubProgress: p, loadProgress: p.cached ? `${p.file} from the browser cache` : `Downloading ${p.file}` });
          }
        });
        return pending.result.finally(() => {
          off();
          set({ hubProgress: null });
        });
      }, { kind: 'hub', repo, ...(revision ? { revision } : {}) });
    },
    ...loadDefault(set, get),
  };
};

/** One load: progress while it runs; on success the new model replaces the old and data is re-tokenised. */
function loadRunner(set: SetState, get: () => AppState) {
  return async (label: string, start: () => Promise<{ model: ModelSummary }>, origin: ModelOrigin, card?: ModelCard): Promise<void> => {
    const load = ++latestLoad;
    set({ modelLoading: true, modelError: null, loadProgress: label });
    const off = engine().subscribe((e) => {
      if (e.type === 'progress' && e.stage !== 'prefill') set({ loadProgress: e.message });
    });
    try {
      const { model } = await start();
      if (load === latestLoad) {
        // The held-out base text is the built-in model's own corpus: the default probe for it only.
        const link = get().probeFromLink;
        set({ probeDemo: link ? (link === 'none' ? null : (link as DemoId)) : card ? FORGET_PROBE_DEMO : null });
        set({ model, modelCard: card ?? null, modelOrigin: origin, output: '', lastRun: null, generateError: null, compareBase: '', compareTuned: '', compareLabel: null });
        // The engine dropped the last run's training and the data tokenised for the previous model.
        get().clearRun();
        if (model.hasTokenizer) void afterLoad(get);
      }
    } catch (e) {
      const err = e instanceof EngineError ? e : new EngineError(String((e as Error)?.message ?? e));
      if (load === latestLoad) set({ modelError: { message: err.message, file: err.file, code: err.code } });
    } finally {
      off();
      if (load === latestLoad) set({ modelLoading: false, loadProgress: null });
    }
  };
}

const loadDefault = (set: SetState, get: () => AppState) => ({
  async loadDefaultModel() {
    const before = latestLoad;
    try {
      const { files, card } = await fetchDefaultModel();
      if (latestLoad === before) await get().loadModel(files, card); // unless a model was picked meanwhile
    } catch (e) {
      if (latestLoad === before) set({ modelError: { message: (e as Error).message } });
    }
  },
});
