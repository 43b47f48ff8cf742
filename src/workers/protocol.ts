/**
 * The typed conversation between the UI thread and the engine worker.
 * Commands go UI → worker, events go worker → UI. Every command carries a request `id`; every
 * event answering or streaming for a command carries the same `id` (0 for events nobody asked for,
 * such as a lost device). A request ends with exactly one terminal event (see ResultOf) or `error`.
 */
import type { DemoId } from '../corpus/demos.ts';
import type { LlamaConfig } from '../model/config.ts';
import type { TrainConfig } from '../train/config.ts';
import type { DataFormat, DataStats, DataWarning, DataWarningKind } from '../train/data.ts';
import type { ModuleSpectrum } from '../linalg/module-spectrum.ts';
import type { LinearModule } from '../model/weights.ts';

/** The WebGPU adapter the engine found. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  features: string[];
}

/** Why there is no WebGPU: no navigator.gpu, no adapter, or the adapter refused a device. */
export type UnavailableReason = 'no-api' | 'no-adapter' | 'no-device';

/** A loaded model, as the UI shows it. */
export interface ModelSummary {
  /** Names of the files it was loaded from. */
  files: string[];
  config: LlamaConfig;
  paramCount: number;
  hasTokenizer: boolean;
  /** Wall time of reading, parsing and uploading, in milliseconds. */
  loadMs: number;
}

/** One file from disk; `bytes` is transferred, not copied. */
export interface FilePayload {
  name: string;
  bytes: ArrayBuffer;
}

/** Sampling settings for one generation (all required on the wire; the UI owns the defaults). */
export interface GenerateSettings {
  /** Text after BOS; empty starts from BOS alone. */
  prompt: string;
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 disables it. */
  topP: number;
  seed: number;
}

/** Which weights a generation runs on: the loaded base model, or it with the last run's training applied. */
export type ModelVariant = 'base' | 'tuned';

/** A built-in demo dataset, as the data panel lists it (the text stays in the worker). */
export interface DemoSummary {
  id: DemoId;
  title: string;
  description: string;
  fileName: string;
  records: number;
  bytes: number;
}

/** Where training data comes from: text the UI read (pasted or a file), or a built-in demo. */
export type DataSource =
  | { kind: 'text'; fileName: string; text: string; format: DataFormat | 'auto' }
  | { kind: 'demo'; id: DemoId };

/** How the worker cuts the data: window length, held-out fraction and split seed. */
export interface DataSplit {
  seqLen: number;
  evalFraction: number;
  seed: number;
}

/** Prepared data as the UI shows it (the windows stay in the worker). */
export interface DataSummary {
  source: 'text' | 'demo';
  stats: DataStats;
  /** The first MAX_LISTED_WARNINGS warnings with their lines; counts cover them all. */
  warnings: DataWarning[];
  warningCounts: Record<DataWarningKind, number>;
  split: DataSplit;
}

/** One optimizer step's numbers, as the run streams them. */
export interface StepPoint {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Trained tokens (batch · seq · grad-accum) per second over this step. */
  tokensPerSec: number;
  /** Wall time since the run started, pauses excluded, in milliseconds. */
  elapsedMs: number;
  /** Passes over the training windows so far. */
  epoch: number;
}

export interface EvalPoint {
  step: number;
  loss: number;
}

export type RunState = 'running' | 'paused' | 'stopping';
export type RunControl = 'pause' | 'resume' | 'stop';
export type FinishReason = 'completed' | 'stopped';

/** What a run is training, sent when it starts. */
export interface RunInfo {
  runId: number;
  config: TrainConfig;
  trainableCount: number;
  paramCount: number;
  tokensPerStep: number;
  data: DataSummary;
}

export type ExportKind = 'peft' | 'mora' | 'merged';

/** One module's spectra numbers from a round during training (see linalg/module-spectrum.ts). */
export interface SpectraEntry {
  /** e.g. "model.layers.0.self_attn.q_proj". */
  name: string;
  delta_rank90: number;
  overlap_principal: number;
  overlap_minor: number;
}

// ---- commands (UI → worker) -----------------------------------------------------------------

export type EngineCommand =
  | { type: 'init'; id: number }
  | { type: 'loadModel'; id: number; files: FilePayload[] }
  /** Download a model from the Hugging Face Hub by repo id (cached), then load it like loadModel. Streams hubProgress. */
  | { type: 'loadHubModel'; id: number; repo: string; revision?: string; endpoint?: string }
  /** Generate with the current model (`variant` absent or 'tuned') or the base weights ('base'). */
  | { type: 'generate'; id: number; settings: GenerateSettings; variant?: ModelVariant }
  /** Stop the request `target` (a running generation) at the next token boundary. */
  | { type: 'cancel'; id: number; target: number }
  | { type: 'listDemos'; id: number }
  /** Tokenise, pack and split data with the loaded model's tokenizer; the worker keeps it for training. */
  | { type: 'prepareData'; id: number; source: DataSource; split: DataSplit }
  /**
   * Train the loaded model on the prepared data, from a fresh copy of the base weights. Streams
   * trainStarted, trainStep per step, trainEval, trainState; ends with trainFinished.
   */
  | { type: 'startTraining'; id: number; config: TrainConfig; evalFraction: number }
  /** Pause, resume or stop the running training run (between two steps). */
  | { type: 'trainControl'; id: number; action: RunControl }
  /** One module's spectra for the current model (base alone before a run); waits for a step boundary while training. */
  | { type: 'spectrum'; id: number; layer: number; module: LinearModule }
  /** Run a spectra round every `every` training steps (0 = off; the engine starts at 10). */
  | { type: 'spectraSettings'; id: number; every: number }
  /** Files of the last run as one ZIP: its adapter (peft or MoRA) or the merged model in HF layout. */
  | { type: 'exportRun'; id: number; kind: ExportKind; baseModelName: string };

export type CommandType = EngineCommand['type'];

// ---- events (worker → UI) -------------------------------------------------------------------

export type EngineEvent =
  | { type: 'ready'; id: number; adapter: AdapterSummary }
  | { type: 'unavailable'; id: number; reason: UnavailableReason; message: string }
  | { type: 'modelLoaded'; id: number; model: ModelSummary }
  | { type: 'token'; id: number; piece: string; tokenId: number }
  | {
      type: 'generated';
      id: number;
      ids: number[];
      text: string;
      /** Tokens produced by this request (prompt excluded). */
      newTokens: number;
      /** True when stopped by `cancel` before maxTokens or end of text. */
      cancelled: boolean;
      ms: number;
    }
  /** `cancel` acknowledged (the cancelled request still ends with its own `generated`). */
  | { type: 'cancelled'; id: number; target: number }
  | { type: 'demos'; id: number; demos: DemoSummary[] }
  | { type: 'dataPrepared'; id: number; data: DataSummary }
  | { type: 'trainStarted'; id: number; run: RunInfo }
  | { type: 'trainStep'; id: number; point: StepPoint }
  | { type: 'trainEval'; id: number; point: EvalPoint }
  /** The run's state changed; `id` is the run's request, or the trainControl that asked. */
  | { type: 'trainState'; id: number; runId: number; state: RunState; step: number }
  | {
      type: 'trainFinished';
      id: number;
      runId: number;
      reason: FinishReason;
      /** Optimizer steps taken. */
      steps: number;
      /** Training wall time, pauses excluded. */
      ms: number;
      finalLoss: number | null;
      evalLoss: number | null;
    }
  /** A `spectrum` answer: the record, the run step it describes (0 = base), and its compute time. */
  | { type: 'spectrum'; id: number; record: ModuleSpectrum; step: number; ms: number }
  | { type: 'spectraSettings'; id: number; every: number }
  /** A budgeted spectra round after step `step` of run `runId` (id = the run's request). */
  | { type: 'spectraStep'; id: number; runId: number; step: number; entries: SpectraEntry[] }
  /** A ZIP archive (transferred): `fileName` is the suggested download name. */
  | { type: 'exported'; id: number; fileName: string; bytes: ArrayBuffer; entries: string[] }
  | {
      type: 'error';
      id: number;
      message: string;
      /** The file at fault, when a model file could not be used. */
      file?: string;
      /** A machine-readable cause, e.g. a ModelFileErrorCode, 'device-lost', 'busy', 'no-model', 'data'. */
      code?: string;
      /** The 1-based line of a data file at fault (code 'data'). */
      line?: number;
      /** The JSON field at fault in that line, when one is. */
      field?: string;
    }
  | { type: 'progress'; id: number; stage: ProgressStage; message: string }
  /** Bytes of one Hub file so far (`total` 0 when unknown); `cached` when it came from the browser's cache. */
  | { type: 'hubProgress'; id: number; file: string; loaded: number; total: number; bytesPerSecond: number; cached: boolean };

export type EventType = EngineEvent['type'];
export type ProgressStage = 'reading' | 'parsing' | 'uploading' | 'prefill' | 'data' | 'export';

/** The event type that ends each command successfully. */
export interface ResultTypes {
  init: 'ready' | 'unavailable';
  loadModel: 'modelLoaded';
  loadHubModel: 'modelLoaded';
  generate: 'generated';
  cancel: 'cancelled';
  listDemos: 'demos';
  prepareData: 'dataPrepared';
  startTraining: 'trainFinished';
  trainControl: 'trainState';
  spectrum: 'spectrum';
  spectraSettings: 'spectraSettings';
  exportRun: 'exported';
}

export type EventOf<T extends EventType> = Extract<EngineEvent, { type: T }>;
export type ResultOf<C extends CommandType> = EventOf<ResultTypes[C]>;

/** A command without its id, as the client's callers write it. */
export type CommandBody<C extends CommandType> = Omit<Extract<EngineCommand, { type: C }>, 'id'>;

const TERMINAL: Record<CommandType, readonly EventType[]> = {
  init: ['ready', 'unavailable'],
  loadModel: ['modelLoaded'],
  loadHubModel: ['modelLoaded'],
  generate: ['generated'],
  cancel: ['cancelled'],
  listDemos: ['demos'],
  prepareData: ['dataPrepared'],
  startTraining: ['trainFinished'],
  trainControl: ['trainState'],
  spectrum: ['spectrum'],
  spectraSettings: ['spectraSettings'],
  exportRun: ['exported'],
};

/** Whether `event` ends a request of type `command` successfully. */
export function isResultOf(command: CommandType, event: EngineEvent): boolean {
  return TERMINAL[command].includes(event.type);
}
