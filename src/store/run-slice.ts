/**
 * The training run: the method and hyperparameters being edited, and the run in the engine —
 * its status, progress (step, tokens/s, ETA), result, and the fine-tuned model it leaves behind.
 */
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../schema/train-config.ts';
import type { LinearModule } from '../schema/tensors.ts';
import { LINEAR_MODULES } from '../schema/tensors.ts';
import type { CommandBody, DataSource, EngineEvent, EventOf, ExportKind, ExportOptions, FinishReason, RunInfo, RunSaveSettings } from '../workers/protocol.ts';
import type { RunStep } from '../schema/metrics.ts';
import type { AppState, SliceCreator } from './app-state.ts';
import { runActive } from './run-status.ts';
import { dataBlocker } from './data-slice.ts';
import { engine } from './engine.ts';
import { isMethodId, methodRow, switchMethod, type MethodId } from './methods.ts';
import { historyRounds } from './spectrum-slice.ts';
import { updateSummary } from './update-rank.ts';

export type RunStatus = 'idle' | 'starting' | 'running' | 'paused' | 'stopping' | 'finished' | 'failed';

export interface RunProgress {
  step: number;
  totalSteps: number;
  loss: number;
  tokensPerSec: number;
  elapsedMs: number;
  /** Remaining time at the average step time so far. */
  etaMs: number;
}

export interface RunResult {
  reason: FinishReason;
  steps: number;
  ms: number;
  finalLoss: number | null;
  evalLoss: number | null;
}

/** The fine-tuned model the engine holds after a run. */
export interface TunedModel {
  runId: number;
  methodId: MethodId;
  steps: number;
}

/** A settings field whose typed text is not a valid value: what it shows, and what is wrong. */
export interface FieldDraft {
  /** The field's label as a blocker names it, e.g. "Rank". */
  label: string;
  raw: string;
  error: string;
}

export interface RunSlice {
  methodId: MethodId;
  /** The last valid value of every field: what a run would train once no field is in error. */
  trainConfig: TrainConfig;
  /** Fields the user typed a value into: switching method keeps them instead of the method's default lr and steps. */
  editedFields: (keyof TrainConfig)[];
  /**
   * Fields on screen whose text is invalid, by key (a TrainConfig key, 'evalFraction',
   * 'checkpointEvery'), in the order they went wrong. Any entry blocks Start.
   */
  fieldDrafts: Record<string, FieldDraft>;
  /** Record (or, with null, clear) field `key`'s invalid text. */
  setFieldDraft(key: string, draft: FieldDraft | null): void;
  runStatus: RunStatus;
  runInfo: RunInfo | null;
  /** What the engine is doing before the first step (copying weights, re-cutting data). */
  runStage: string | null;
  /** How far that is, when it counts (the SVDs of a PiSSA/MiLoRA init). */
  runStageProgress: { done: number; total: number } | null;
  runProgress: RunProgress | null;
  /** After the last step (or a stop): what the engine is finishing (final eval, spectra, checkpoint), else null. */
  runFinishing: string | null;
  runResult: RunResult | null;
  runError: string | null;
  /** The methodId of the run in runInfo. */
  runMethodId: MethodId | null;
  tuned: TunedModel | null;
  /** What was wrong with the settings in the page's URL, shown once until dismissed. */
  urlMessage: string | null;
  setUrlMessage(message: string | null): void;
  setMethod(id: MethodId): void;
  setTrainField<K extends keyof TrainConfig>(key: K, value: TrainConfig[K]): void;
  setTarget(module: LinearModule, on: boolean): void;
  startRun(): Promise<void>;
  /** Continue a saved run from its checkpoint (loading its base model first when it can). */
  resumeSavedRun(runId: number): Promise<void>;
  pauseRun(): Promise<void>;
  resumeRun(): Promise<void>;
  stopRun(): Promise<void>;
  /** Forget the run state (a new model was loaded: the engine dropped the fine-tuned weights). */
  clearRun(): void;
  /** The last run's adapter or merged model as a ZIP from the engine. */
  exportRun(kind: ExportKind, options?: ExportOptions): Promise<EventOf<'exported'>>;
  /** "Run the export here" (protocol.ts runOnnx); `onProgress` gets each progress message. */
  runOnnxExport(req: Omit<CommandBody<'runOnnx'>, 'type'>, onProgress?: (message: string) => void): Promise<EventOf<'onnxRan'>>;
}

/**
 * The engine's defaults (LoRA's lr and steps, windows of 128 tokens that every demo record fits),
 * with an eval loss every 10 steps over at most 8 eval batches.
 */
export const STUDIO_TRAIN_DEFAULTS: TrainConfig = {
  ...DEFAULT_TRAIN_CONFIG,
  batch: 4,
  evalEvery: 10,
  evalBatches: 8,
};

/** Fields whose change re-cuts the data into windows. */
const SPLIT_FIELDS: readonly (keyof TrainConfig)[] = ['seq', 'seed'];

function progressOf(p: RunStep, totalSteps: number): RunProgress {
  const perStep = p.elapsedMs / p.step;
  return {
    step: p.step,
    totalSteps,
    loss: p.loss,
    tokensPerSec: p.tokensPerSec,
    elapsedMs: p.elapsedMs,
    etaMs: Math.max(0, totalSteps - p.step) * perStep,
  };
}


/** The base model's name for labels, saved runs and an export's base_model_name_or_path. */
export function modelName(s: AppState): string {
  return s.modelCard?.name ?? (s.modelOrigin?.kind === 'hub' ? s.modelOrigin.repo : undefined) ?? s.model?.files.join(' + ') ?? 'base-model';
}

type SetState = Parameters<SliceCreator<RunSlice>>[0];

/**
 * Follow a run the engine starts (a new one or a resumed saved one): its stream into the run state,
 * the charts and the fine-tuned model; when it ends, its result, its record for comparison and the
 * saved-runs list.
 */
async function followRun(
  set: SetState,
  get: () => AppState,
  methodId: MethodId,
  begin: (onEvent: (e: EngineEvent) => void) => { result: Promise<EventOf<'trainFinished'>> },
): Promise<void> {
  set({
    runStatus: 'starting', runInfo: null, runProgress: null, runFinishing: null, runResult: null, runError: null, runStage: 'Starting…', runStageProgress: null,
    runMethodId: methodId, tuned: null, compareBase: '', compareTuned: '', compareLabel: null, lastSaved: null, storageProblem: null,
  });
  const pending = begin((e) => {
    switch (e.type) {
      case 'progress':
        if (e.stage === 'finishing') set({ runFinishing: e.message });
        else set({ runStage: e.message, runStageProgress: e.total ? { done: e.done ?? 0, total: e.total } : null });
        break;
      case 'trainStarted': {
        const resumed = e.run.resumed;
        get().resetMetrics(e.run.runId, e.run.config.steps, resumed);
        const last = resumed?.train.at(-1);
        set({
          runInfo: e.run, runStatus: 'running', runStage: null, runStageProgress: null,
          runProgress: last ? progressOf(last, e.run.config.steps) : null,
          tuned: { runId: e.run.runId, methodId, steps: resumed?.fromStep ?? 0 },
          dataSummary: e.run.data, // as the run cut it
        });
        break;
      }
      case 'trainStep': {
        get().addStep(e.point);
        const total = get().runInfo?.config.steps ?? e.point.step;
        set((s) => ({ runProgress: progressOf(e.point, total), tuned: s.tuned && { ...s.tuned, steps: e.point.step } }));
        break;
      }
      case 'trainEval':
        get().addEval(e.point);
        break;
      case 'trainState': {
        const now = get().runStatus;
        if (now === 'running' || now === 'paused' || now === 'stopping') set({ runStatus: e.state });
        break;
      }
      default:
        break;
    }
  });
  try {
    const r = await pending.result;
    set({
      runStatus: 'finished',
      runStage: null,
      runFinishing: null,
      runResult: { reason: r.reason, steps: r.steps, ms: r.ms, finalLoss: r.finalLoss, evalLoss: r.evalLoss },
    });
    const info = get().runInfo;
    const log = get().metrics;
    if (info && log.runId === info.runId && r.steps > 0) {
      get().addRunRecord({
        runId: info.runId, methodId, config: info.config, trainableCount: info.trainableCount,
        train: log.train.slice(), eval: log.eval.slice(),
        reason: r.reason, steps: r.steps, finalLoss: r.finalLoss, evalLoss: r.evalLoss,
        tokensPerSec: r.ms > 0 ? (info.tokensPerStep * r.steps) / (r.ms / 1000) : 0,
        update: get().spectraRunId === info.runId ? updateSummary(historyRounds(get().spectraHistory)) : null,
        dataId: info.dataId ?? null, probeId: info.probeId ?? null,
      });
    }
  } catch (e) {
    set({ runStatus: 'failed', runStage: null, runStageProgress: null, runFinishing: null, runError: (e as Error).message });
  } finally {
    void get().refreshSavedRuns();
  }
}

export const createRunSlice: SliceCreator<RunSlice> = (set, get) => ({
  methodId: 'lora',
  trainConfig: STUDIO_TRAIN_DEFAULTS,
  editedFields: [],
  fieldDrafts: {},
  setFieldDraft(key, draft) {
    set((s) => {
      const old = s.fieldDrafts[key];
      if (!draft && !old) return {};
      if (draft && old && old.raw === draft.raw && old.error === draft.error && old.label === draft.label) return {};
      const next = { ...s.fieldDrafts };
      if (draft) next[key] = draft;
      else delete next[key];
      return { fieldDrafts: next };
    });
  },
  runStatus: 'idle',
  runInfo: null,
  runStage: null,
  runStageProgress: null,
  runProgress: null,
  runFinishing: null,
  runResult: null,
  runError: null,
  runMethodId: null,
  tuned: null,
  urlMessage: null,
  setUrlMessage(message) {
    set({ urlMessage: message });
  },
  setMethod(id) {
    set((s) => ({ methodId: id, trainConfig: switchMethod(s.trainConfig, s.methodId, id, s.editedFields) }));
  },
  setTrainField(key, value) {
    set((s) => ({
      trainConfig: { ...s.trainConfig, [key]: value },
      // Typed, even the value it had: the user's choice, kept over a method's default.
      editedFields: s.editedFields.includes(key) ? s.editedFields : [...s.editedFields, key],
    }));
    if (SPLIT_FIELDS.includes(key)) void get().refreshData();
  },
  setTarget(module, on) {
    set((s) => {
      const chosen = new Set(s.trainConfig.targets);
      if (on) chosen.add(module);
      else chosen.delete(module);
      return { trainConfig: { ...s.trainConfig, targets: LINEAR_MODULES.filter((m) => chosen.has(m)) } };
    });
  },
  async startRun() {
    // Start is disabled then; never train a value other than the one the page shows.
    if (runActive(get().runStatus) || Object.keys(get().fieldDrafts).length > 0 || dataBlocker(get()) !== null) return;
    const { trainConfig: config, methodId, evalFraction } = get();
    methodRow(methodId); // the picker only offers known rows
    const save: RunSaveSettings = {
      methodId,
      modelName: modelName(get()),
      origin: get().modelOrigin ?? { kind: 'files', files: get().model?.files ?? [] },
      checkpointEvery: get().checkpointEvery,
    };
    const probeId = get().probeDemo;
    const probe: DataSource | undefined = probeId ? { kind: 'demo', id: probeId } : undefined;
    await followRun(set, get, methodId, (onEvent) => engine().startTraining(config, { evalFraction, save, probe }, onEvent));
  },
  async resumeSavedRun(runId) {
    if (runActive(get().runStatus)) return;
    const saved = get().savedRuns?.find((r) => r.runId === runId);
    if (!saved) {
      set({ runError: `Run ${runId} is not among the saved runs.` });
      return;
    }
    // The run's base model first: the built-in one and Hub models load by themselves; files must be picked.
    if (get().model?.fingerprint !== saved.model.fingerprint) {
      const origin = saved.model.origin;
      set({ runError: null, runStage: `Loading ${saved.model.name} to resume run ${runId}` });
      if (origin.kind === 'builtin') await get().loadDefaultModel();
      else if (origin.kind === 'hub') await get().loadHubModel(origin.repo, origin.revision);
      if (get().model?.fingerprint !== saved.model.fingerprint) {
        const how = origin.kind === 'files' ? `load ${origin.files.join(' + ')} (the files it trained on) first` : `${saved.model.name} could not be loaded`;
        set({ runStage: null, runError: `Run ${runId} trained ${saved.model.name}: to resume it, ${how}.` });
        return;
      }
    }
    const methodId = (isMethodId(saved.methodId) ? saved.methodId : saved.config.method) as MethodId;
    set({ methodId, trainConfig: { ...saved.config, targets: [...saved.config.targets] } });
    await followRun(set, get, methodId, (onEvent) => engine().resumeRun(runId, get().checkpointEvery, onEvent));
    // The engine trained on the run's own data; a new run trains on what the data panel shows again.
    void get().refreshData();
  },
  async pauseRun() {
    if (get().runStatus !== 'running') return;
    try {
      await engine().controlTraining('pause');
    } catch (e) {
      set({ runError: (e as Error).message });
    }
  },
  async resumeRun() {
    if (get().runStatus !== 'paused') return;
    try {
      await engine().controlTraining('resume');
    } catch (e) {
      set({ runError: (e as Error).message });
    }
  },
  async stopRun() {
    const status = get().runStatus;
    if (status !== 'running' && status !== 'paused') return;
    set({ runStatus: 'stopping' });
    try {
      await engine().controlTraining('stop');
    } catch (e) {
      set({ runError: (e as Error).message });
    }
  },
  exportRun(kind, options) {
    return engine().exportRun(kind, modelName(get()), options);
  },
  runOnnxExport(req, onProgress) {
    return engine().runOnnx(req, (e) => {
      if (e.type === 'progress') onProgress?.(e.message);
    }).result;
  },
  clearRun() {
    set({ runStatus: 'idle', runInfo: null, runProgress: null, runFinishing: null, runResult: null, runError: null, runStage: null, tuned: null, runMethodId: null });
  },
});
