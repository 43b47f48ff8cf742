/**
 * The typed conversation between the UI thread and the engine worker.
 * Commands go UI → worker, events go worker → UI. Every command carries a request `id`; every
 * event answering or streaming for a command carries the same `id` (0 for events nobody asked for,
 * such as a lost device). A request ends with exactly one terminal event (see ResultOf) or `error`.
 */
import type { ImportedAdapter } from '../schema/imported-adapter.ts';
import type { DataSplit, DemoId } from '../schema/data.ts';
import type { LlamaConfig } from '../schema/llama-config.ts';
import type { TrainConfig } from '../schema/train-config.ts';
import type { DataFormat, DataProblem, DataStats, DataWarning, DataWarningKind } from '../schema/data.ts';
import type { ModuleSpectrum } from '../schema/metrics.ts';
import type { LinearModule } from '../schema/tensors.ts';
import type { WeightStorage } from '../schema/estimate.ts';
import type { StorageProblemCode } from '../schema/stored-run.ts';
import type { ModelOrigin, SavedRunSummary } from '../schema/stored-run.ts';
import type { EvalPoint, SpectraEntry, SpectraRound } from '../schema/metrics.ts';
import type { DataIdentity } from '../schema/data-identity.ts';
import type { RunStep } from '../schema/metrics.ts';
import type { LabListing, LabProgressInfo, LabRunRequest, LabResults, CurvePoint, ExperimentId, RunResult, LabReport, ModuleIntruders, PlanEstimate } from './lab-protocol.ts';
export type * from './lab-protocol.ts';

/** The WebGPU adapter the engine found. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  features: string[];
  /** The device's buffer limits in bytes (the adapter's own, as requested): a training step's buffers must fit them. */
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}

/** Why there is no WebGPU: no navigator.gpu, no adapter, or the adapter refused a device. */
export type UnavailableReason = 'no-api' | 'no-adapter' | 'no-device';

/** A loaded model, as the UI shows it. */
export interface ModelSummary {
  /** Names of the files it was loaded from. */
  files: string[];
  config: LlamaConfig;
  paramCount: number;
  /** How the weight matrices sit on the GPU: '16-bit' when any loaded matrix is bf16/f16, else 'f32' (the memory estimate uses it). */
  weightStorage: WeightStorage;
  hasTokenizer: boolean;
  /** Wall time of reading, parsing and uploading, in milliseconds. */
  loadMs: number;
  /** modelFingerprint of the weights (a saved run resumes only on the same one). */
  fingerprint: string;
}

/**
 * One file from disk, as the File (a Blob) the page was given: posting it copies no bytes, and the
 * engine reads the slices it needs (a model's tensors one at a time, again when it needs them again).
 */
export interface FilePayload {
  name: string;
  file: Blob;
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

/** Where training data comes from: pasted text, a file's bytes (the engine decodes them, UTF-8 only), or a built-in demo. */
export type DataSource =
  | { kind: 'text'; fileName: string; text: string; format: DataFormat | 'auto' }
  | { kind: 'file'; fileName: string; bytes: Uint8Array; format: DataFormat | 'auto' }
  | { kind: 'demo'; id: DemoId };


/** Prepared data as the UI shows it (the windows stay in the worker). */
export interface DataSummary {
  source: 'text' | 'demo';
  stats: DataStats;
  /** The first MAX_LISTED_WARNINGS warnings with their lines; counts cover them all. */
  warnings: DataWarning[];
  warningCounts: Record<DataWarningKind, number>;
  split: DataSplit;
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
  /** The forgetting probe the run evaluates (EvalPoint.forget), when it has one. */
  probe?: { fileName: string; windows: number; tokens: number };
  /** What the run trains on, and its probe's text: runs are comparable when these match. */
  dataId?: DataIdentity;
  probeId?: DataIdentity;
  /** A resumed run: the step its checkpoint was taken at and the metrics up to it. */
  resumed?: { fromStep: number; train: RunStep[]; eval: EvalPoint[]; spectra: SpectraRound[]; activeMs: number };
}

/** How the engine keeps a run in the browser's storage (see persist/). */
export interface RunSaveSettings {
  /** The studio's method row, e.g. "rslora". */
  methodId: string;
  /** The base model's display name and where it came from. */
  modelName: string;
  origin: ModelOrigin;
  /** Checkpoint every this many steps (0: only when paused, stopped or finished). */
  checkpointEvery: number;
}

/** 'onnx': the transformers.js folder (adapter merged in); 'lora': a MoRA, DoRA or full run's update as a peft LoRA by SVD. */
export type ExportKind = 'peft' | 'mora' | 'merged' | 'onnx' | 'lora';

/** Weights of the exported ONNX model: onnx/model.onnx (float32) or onnx/model_fp16.onnx. */
export type OnnxDtype = 'fp32' | 'fp16';
/** "Run the export here" on onnxruntime-web's WebGPU execution provider (WASM when it is missing or fails), or on WASM. */
export type OnnxProvider = 'webgpu' | 'wasm';

/** The 'onnx' export's dtype (default fp32); the 'lora' conversion's truncation: the top `rank` triplets, or the fewest holding `energy` of Σσ². */
export interface ExportOptions {
  dtype?: OnnxDtype;
  /** The merged model in F32 throughout (default: matrices the loaded file stored in BF16/F16 keep that dtype). */
  mergedF32?: boolean;
  rank?: number;
  energy?: number;
}

/** What a 'lora' conversion kept, as its conversion.json says: per module, its rank, ‖ΔW − BA‖/‖ΔW‖ and Σσ² kept. */
export interface ConversionSummary {
  r: number;
  maxRelativeError: number;
  modules: { name: string; rank: number; relative_error: number; energy_kept: number }[];
}

/** One side of "Run the export here": its greedy ids (prompt included), text, and speed over the whole generation. */
export interface GreedyRun {
  ids: number[];
  text: string;
  newTokens: number;
  ms: number;
  tokensPerSecond: number;
}

// ---- commands (UI → worker) -----------------------------------------------------------------

export type EngineCommand =
  /** Find the GPU (again after a lost device: the model then comes back on the new device, untrained). */
  | { type: 'init'; id: number }
  /** Destroy the GPU device as a driver reset would: for testing the recovery from a lost device. */
  | { type: 'loseDevice'; id: number }
  | { type: 'loadModel'; id: number; files: FilePayload[] }
  /**
   * Download a model from the Hugging Face Hub by repo id (cached), then load it like loadModel. Streams hubProgress.
   * `token`: an access token for gated and private repos, sent only as the Hub requests' Authorization header.
   */
  | { type: 'loadHubModel'; id: number; repo: string; revision?: string; endpoint?: string; token?: string }
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
  | {
      type: 'startTraining'; id: number; config: TrainConfig; evalFraction: number; save?: RunSaveSettings;
      /** Text the base model already knew, evaluated with the eval split and before the first step: how much the run forgets. */
      probe?: DataSource;
    }
  /**
   * Continue saved run `runId` from its checkpoint on the loaded model (which must be the run's base
   * model), streaming like startTraining. A finished run's checkpoint is loaded as the tuned model.
   */
  | { type: 'resumeRun'; id: number; runId: number; checkpointEvery: number }
  /** The runs kept in the browser's storage. */
  | { type: 'listRuns'; id: number }
  /** Delete a saved run and its checkpoint (not the running one). */
  | { type: 'deleteRun'; id: number; runId: number }
  /** Pause, resume or stop the running training run (between two steps). */
  | { type: 'trainControl'; id: number; action: RunControl }
  /**
   * One module's spectra for the current model (base alone before a run), or with `runId` for that
   * saved run (its checkpoint on the loaded base model); waits for a step boundary while training.
   */
  | { type: 'spectrum'; id: number; layer: number; module: LinearModule; runId?: number }
  /**
   * Run a spectra round every `every` training steps (0 = off; the engine starts at 10), each taking
   * at most `budgetMs` (default 300) between two steps; `focus` (a module name, null = none) is the
   * module on screen: every round computes it first, whatever the budget.
   */
  | { type: 'spectraSettings'; id: number; every: number; budgetMs?: number; focus?: string | null }
  /** Files of the last run as one ZIP: its adapter (peft or MoRA) or the merged model in HF layout. */
  | { type: 'exportRun'; id: number; kind: ExportKind; baseModelName: string; options?: ExportOptions }
  /**
   * "Run the export here": the current model (adapter merged) exported to ONNX in `dtype`, loaded into
   * onnxruntime-web on `provider`, and greedy generation of `maxTokens` from `prompt` by it and by the engine.
   */
  | { type: 'runOnnx'; id: number; prompt: string; maxTokens: number; dtype: OnnxDtype; provider: OnnxProvider }
  /**
   * Apply an adapter to a fresh copy of the base weights, as if a run had left it: one .zip or the loose
   * adapter_config.json + adapter_model.safetensors (peft LoRA/DoRA or our MoRA file). `baseModelName`
   * (as exportRun's) is compared with the adapter's base_model_name_or_path.
   */
  | { type: 'importAdapter'; id: number; files: FilePayload[]; baseModelName?: string }
  /** The Lab's experiments with their settings, and the preset a reload interrupted (lab-protocol.ts). */
  | { type: 'labList'; id: number }
  /** Time each run of an experiment's preset on this GPU (a few steps each); `origin` says which held-out text it measures on. */
  | { type: 'labEstimate'; id: number; experiment: ExperimentId; quick: boolean; seed: number; origin: ModelOrigin }
  /** Run (or resume) a preset: streams labProgress, labSteps, labPoint, labRunDone; ends with labFinished or labStopped. */
  | ({ type: 'labRun'; id: number } & LabRunRequest)
  /**
   * Stop the running preset, or the estimate being measured, at the next step boundary (a preset's finished
   * runs stay saved). With `estimate`, only that estimate is stopped, and nothing when other Lab work holds the engine.
   */
  | { type: 'labCancel'; id: number; estimate?: { experiment: ExperimentId; quick: boolean } }
  /** Forget the interrupted preset (its finished runs stay in Saved runs). */
  | { type: 'labDiscard'; id: number }
  /** Intruder dimensions of every trained module of the current model's run, or of saved run `runId`. */
  | { type: 'intruders'; id: number; runId?: number };

export type CommandType = EngineCommand['type'];

// ---- events (worker → UI) -------------------------------------------------------------------

export type EngineEvent =
  /** `model`: after a lost device, the model the engine held, uploaded again to the new device. */
  | { type: 'ready'; id: number; adapter: AdapterSummary; model?: ModelSummary }
  | { type: 'deviceDestroyed'; id: number }
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
  | { type: 'trainStep'; id: number; point: RunStep }
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
  /** A `spectrum` answer: the record, the run it describes (0 = the base model) and its step, and its compute time. */
  | { type: 'spectrum'; id: number; record: ModuleSpectrum; step: number; ms: number; runId?: number }
  | { type: 'spectraSettings'; id: number; every: number; budgetMs?: number; focus?: string | null }
  /** A budgeted spectra round after step `step` of run `runId` (id = the run's request). */
  | { type: 'spectraStep'; id: number; runId: number; step: number; entries: SpectraEntry[] }
  /** The saved runs, oldest first, and this site's storage use and quota in bytes (null if unknown). */
  | { type: 'runs'; id: number; runs: SavedRunSummary[]; storage: { usage: number; quota: number } | null }
  | { type: 'runDeleted'; id: number; runId: number }
  /** Run `runId` (id = its request) was saved with its checkpoint of step `step`. */
  | { type: 'runSaved'; id: number; runId: number; step: number; bytes: number }
  /** Saving run `runId` failed (training goes on): quota, no storage, or another failure, explained. */
  | { type: 'storageProblem'; id: number; runId: number; code: StorageProblemCode; message: string }
  /** A ZIP archive (transferred): `fileName` is the suggested download name. */
  | { type: 'exported'; id: number; fileName: string; bytes: ArrayBuffer; entries: string[]; conversion?: ConversionSummary }
  /**
   * runOnnx's answer: both generations, the execution provider that ran (`fallback`: why WebGPU did not),
   * the session's load time and the model file's size, and whether the ids are the same.
   */
  | {
      type: 'onnxRan'; id: number; engine: GreedyRun; onnx: GreedyRun; provider: OnnxProvider; fallback?: string;
      loadMs: number; modelBytes: number; identical: boolean;
    }
  /** An adapter now on the model as run `runId` (0 steps): 'tuned' generation, spectra and exports use it. */
  | { type: 'adapterImported'; id: number; runId: number; adapter: ImportedAdapter }
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
      /** Every bad line of the data file (the first MAX_LISTED_PROBLEMS; `unlisted` more), when it has several. */
      problems?: DataProblem[];
      unlisted?: number;
    }
  /** What a request is doing; `done` of `total` when it counts (e.g. the SVDs of a PiSSA/MiLoRA init). */
  | { type: 'progress'; id: number; stage: ProgressStage; message: string; done?: number; total?: number }
  /** Bytes of one Hub file so far (`total` 0 when unknown); `cached` when it came from the browser's cache. */
  | { type: 'hubProgress'; id: number; file: string; loaded: number; total: number; bytesPerSecond: number; cached: boolean }
  /** A downloaded Hub file could not be cached (the load goes on): why, and what it means. */
  | { type: 'hubCacheProblem'; id: number; file: string; message: string }
  | { type: 'labList'; id: number; listing: LabListing }
  | { type: 'labEstimate'; id: number; experiment: ExperimentId; quick: boolean; estimate: PlanEstimate }
  | { type: 'labProgress'; id: number; progress: LabProgressInfo }
  /** Training losses of run `run` of the preset, [step, loss], as read back. */
  | { type: 'labSteps'; id: number; run: number; losses: [number, number][] }
  | { type: 'labPoint'; id: number; run: number; point: CurvePoint }
  /** Run `run` finished, saved as run `runId` (0: it could not be saved). */
  | { type: 'labRunDone'; id: number; run: number; result: RunResult; runId: number }
  | { type: 'labFinished'; id: number; results: LabResults; report: LabReport; runIds: number[]; ms: number }
  /** Stopped (labCancel) after `done` finished runs. */
  | { type: 'labStopped'; id: number; done: number }
  | { type: 'labDiscarded'; id: number }
  /** The trained modules' intruder records of run `runId` (0: the base model, none) after step `step`. */
  | { type: 'intruders'; id: number; runId: number; step: number; modules: ModuleIntruders[]; ms: number };

export type EventType = EngineEvent['type'];
/** 'finishing': after the last step (or a stop), the final eval, spectra and checkpoint. */
export type ProgressStage = 'reading' | 'parsing' | 'uploading' | 'prefill' | 'data' | 'export' | 'svd' | 'finishing';

/** The event type that ends each command successfully. */
export interface ResultTypes {
  init: 'ready' | 'unavailable';
  loseDevice: 'deviceDestroyed';
  loadModel: 'modelLoaded';
  loadHubModel: 'modelLoaded';
  generate: 'generated';
  cancel: 'cancelled';
  listDemos: 'demos';
  prepareData: 'dataPrepared';
  startTraining: 'trainFinished';
  resumeRun: 'trainFinished';
  listRuns: 'runs';
  deleteRun: 'runDeleted';
  trainControl: 'trainState';
  spectrum: 'spectrum';
  spectraSettings: 'spectraSettings';
  exportRun: 'exported';
  runOnnx: 'onnxRan';
  importAdapter: 'adapterImported';
  labList: 'labList';
  labEstimate: 'labEstimate';
  labRun: 'labFinished' | 'labStopped';
  labCancel: 'cancelled';
  labDiscard: 'labDiscarded';
  intruders: 'intruders';
}

export type EventOf<T extends EventType> = Extract<EngineEvent, { type: T }>;
export type ResultOf<C extends CommandType> = EventOf<ResultTypes[C]>;

/** A command without its id, as the client's callers write it. */
export type CommandBody<C extends CommandType> = Omit<Extract<EngineCommand, { type: C }>, 'id'>;

const TERMINAL: Record<CommandType, readonly EventType[]> = {
  init: ['ready', 'unavailable'],
  loseDevice: ['deviceDestroyed'],
  loadModel: ['modelLoaded'],
  loadHubModel: ['modelLoaded'],
  generate: ['generated'],
  cancel: ['cancelled'],
  listDemos: ['demos'],
  prepareData: ['dataPrepared'],
  startTraining: ['trainFinished'],
  resumeRun: ['trainFinished'],
  listRuns: ['runs'],
  deleteRun: ['runDeleted'],
  trainControl: ['trainState'],
  spectrum: ['spectrum'],
  spectraSettings: ['spectraSettings'],
  exportRun: ['exported'],
  runOnnx: ['onnxRan'],
  importAdapter: ['adapterImported'],
  labList: ['labList'],
  labEstimate: ['labEstimate'],
  labRun: ['labFinished', 'labStopped'],
  labCancel: ['cancelled'],
  labDiscard: ['labDiscarded'],
  intruders: ['intruders'],
};

/** Whether `event` ends a request of type `command` successfully. */
export function isResultOf(command: CommandType, event: EngineEvent): boolean {
  return TERMINAL[command].includes(event.type);
}
