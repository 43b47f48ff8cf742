/**
 * The typed conversation between the UI thread and the engine worker.
 * Commands go UI → worker, events go worker → UI. Every command carries a request `id`; every
 * event answering or streaming for a command carries the same `id` (0 for events nobody asked for,
 * such as a lost device). A request ends with exactly one terminal event (see ResultOf) or `error`.
 */
import type { LlamaConfig } from '../model/config.ts';

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

// ---- commands (UI → worker) -----------------------------------------------------------------

export type EngineCommand =
  | { type: 'init'; id: number }
  | { type: 'loadModel'; id: number; files: FilePayload[] }
  | { type: 'generate'; id: number; settings: GenerateSettings }
  /** Stop the request `target` (a running generation) at the next token boundary. */
  | { type: 'cancel'; id: number; target: number };

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
  | {
      type: 'error';
      id: number;
      message: string;
      /** The file at fault, when a model file could not be used. */
      file?: string;
      /** A machine-readable cause, e.g. a ModelFileErrorCode, 'device-lost', 'busy', 'no-model'. */
      code?: string;
    }
  | { type: 'progress'; id: number; stage: ProgressStage; message: string };

export type EventType = EngineEvent['type'];
export type ProgressStage = 'reading' | 'parsing' | 'uploading' | 'prefill';

/** The event type that ends each command successfully. */
export interface ResultTypes {
  init: 'ready' | 'unavailable';
  loadModel: 'modelLoaded';
  generate: 'generated';
  cancel: 'cancelled';
}

export type EventOf<T extends EventType> = Extract<EngineEvent, { type: T }>;
export type ResultOf<C extends CommandType> = EventOf<ResultTypes[C]>;

/** A command without its id, as the client's callers write it. */
export type CommandBody<C extends CommandType> = Omit<Extract<EngineCommand, { type: C }>, 'id'>;

const TERMINAL: Record<CommandType, readonly EventType[]> = {
  init: ['ready', 'unavailable'],
  loadModel: ['modelLoaded'],
  generate: ['generated'],
  cancel: ['cancelled'],
};

/** Whether `event` ends a request of type `command` successfully. */
export function isResultOf(command: CommandType, event: EngineEvent): boolean {
  return TERMINAL[command].includes(event.type);
}
