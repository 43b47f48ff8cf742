/**
 * The training run: the method and hyperparameters being edited, and the run in the engine —
 * its status, progress (step, tokens/s, ETA), result, and the fine-tuned model it leaves behind.
 */
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../train/config.ts';
import type { LinearModule } from '../model/weights.ts';
import { LINEAR_MODULES } from '../model/weights.ts';
import type { EventOf, ExportKind, FinishReason, RunInfo, StepPoint } from '../workers/protocol.ts';
import type { SliceCreator } from './app-state.ts';
import { engine } from './engine.ts';
import { methodRow, withMethod, type MethodId } from './methods.ts';

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

export interface RunSlice {
  methodId: MethodId;
  trainConfig: TrainConfig;
  runStatus: RunStatus;
  runInfo: RunInfo | null;
  /** What the engine is doing before the first step (copying weights, re-cutting data). */
  runStage: string | null;
  runProgress: RunProgress | null;
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
  pauseRun(): Promise<void>;
  resumeRun(): Promise<void>;
  stopRun(): Promise<void>;
  /** Forget the run state (a new model was loaded: the engine dropped the fine-tuned weights). */
  clearRun(): void;
  /** The last run's adapter or merged model as a ZIP from the engine. */
  exportRun(kind: ExportKind): Promise<EventOf<'exported'>>;
}

/**
 * The engine's defaults, sized for a browser: short runs on short windows, an eval loss every 10
 * steps over at most 8 eval batches.
 */
export const STUDIO_TRAIN_DEFAULTS: TrainConfig = {
  ...DEFAULT_TRAIN_CONFIG,
  steps: 50,
  batch: 4,
  seq: 64,
  evalEvery: 10,
  evalBatches: 8,
};

/** Fields whose change re-cuts the data into windows. */
const SPLIT_FIELDS: readonly (keyof TrainConfig)[] = ['seq', 'seed'];

function progressOf(p: StepPoint, totalSteps: number): RunProgress {
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

export const createRunSlice: SliceCreator<RunSlice> = (set, get) => ({
  methodId: 'lora',
  trainConfig: STUDIO_TRAIN_DEFAULTS,
  runStatus: 'idle',
  runInfo: null,
  runStage: null,
  runProgress: null,
  runResult: null,
  runError: null,
  runMethodId: null,
  tuned: null,
  urlMessage: null,
  setUrlMessage(message) {
    set({ urlMessage: message });
  },
  setMethod(id) {
    set((s) => ({ methodId: id, trainConfig: withMethod(s.trainConfig, id) }));
  },
  setTrainField(key, value) {
    set((s) => ({ trainConfig: { ...s.trainConfig, [key]: value } }));
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
    const status = get().runStatus;
    if (status === 'starting' || status === 'running' || status === 'paused' || status === 'stopping') return;
    const { trainConfig: config, methodId, evalFraction } = get();
    methodRow(methodId); // the picker only offers known rows
    set({
      runStatus: 'starting', runInfo: null, runProgress: null, runResult: null, runError: null, runStage: 'Starting…',
      runMethodId: methodId, tuned: null, compareBase: '', compareTuned: '', compareLabel: null,
    });
    const pending = engine().startTraining(config, evalFraction, (e) => {
      switch (e.type) {
        case 'progress':
          set({ runStage: e.message });
          break;
        case 'trainStarted':
          get().resetMetrics(e.run.runId, e.run.config.steps);
          set({
            runInfo: e.run, runStatus: 'running', runStage: null,
            tuned: { runId: e.run.runId, methodId, steps: 0 },
            dataSummary: e.run.data, // as the run cut it
          });
          break;
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
        });
      }
    } catch (e) {
      set({ runStatus: 'failed', runStage: null, runError: (e as Error).message });
    }
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
  exportRun(kind) {
    const s = get();
    return engine().exportRun(kind, s.modelCard?.name ?? s.model?.files.join('+') ?? 'base-model');
  },
  clearRun() {
    set({ runStatus: 'idle', runInfo: null, runProgress: null, runResult: null, runError: null, runStage: null, tuned: null, runMethodId: null });
  },
});
