/**
 * What the engine worker holds between commands — the GPU, the loaded model and where its weights are read from,
 * the prepared data, the running generation and training run — and how it posts events.
 */
import type { AdapterTensors } from '../../io/peft.ts';
import type { Gpu } from '../../gpu/gpu.ts';
import { DeviceLostError } from '../../gpu/errors.ts';
import { ModelFileError } from '../../io/errors.ts';
import type { Tokenizer } from '../../io/tokenizer.ts';
import type { LlamaModel } from '../../model/llama.ts';
import type { WeightSource } from '../../io/weight-source.ts';
import type { Method, TrainConfig } from '../../schema/train-config.ts';
import { DataError, type PreparedData } from '../../train/data.ts';
import type { DataSummary, EngineEvent, EventOf, ModelSummary } from '../protocol.ts';
import type { DataSplit } from '../../schema/data.ts';

export const scope = self as unknown as DedicatedWorkerGlobalScope;

/** What the last training run left on the model (its adapters, or its changed base weights). */
export interface Tuned {
  runId: number;
  method: Method;
  config: TrainConfig;
  steps: number;
  /** PiSSA/MiLoRA: the initial A₀, B₀, for the export that applies to the original base weights. */
  spectralInitial?: AdapterTensors;
}

export interface Loaded {
  /** The model on the GPU: the base weights, plus whatever the last run trained (see `tuned`). */
  model: LlamaModel;
  /**
   * The base weights where they are (the picked File, the Hub download, memory for a llama2.c
   * checkpoint): each run starts from a fresh upload of these, read again tensor by tensor.
   */
  base: WeightSource;
  tokenizer?: Tokenizer;
  /** tokenizer.json / tokenizer_config.json as loaded, copied byte for byte into a merged export. */
  tokenizerFiles: Map<string, Uint8Array>;
  summary: ModelSummary;
  tuned: Tuned | null;
}

export interface Generation {
  id: number;
  stop: boolean;
  done: Promise<void>;
}

/** Data prepared for training with the loaded model's tokenizer. */
export interface Data {
  fileName: string;
  text: string;
  format: 'text' | 'jsonl' | 'auto';
  source: 'text' | 'demo';
  split: DataSplit;
  prepared: PreparedData;
  summary: DataSummary;
}

/** The training run in progress, as other commands see it. */
export interface ActiveRun {
  id: number;
  runId: number;
  state: 'running' | 'paused' | 'stopping';
  done: Promise<void>;
}

/** The worker's mutable state, shared by its modules. */
export const engine: {
  gpu: Gpu | null;
  gpuInit: Promise<EventOf<'ready'> | EventOf<'unavailable'>> | null;
  loaded: Loaded | null;
  /** The host side of the model held when the device was lost, uploaded again by the next init. */
  lostModel: Omit<Loaded, 'model' | 'tuned'> | null;
  generation: Generation | null;
  data: Data | null;
  run: ActiveRun | null;
  nextRunId: number;
} = { gpu: null, gpuInit: null, loaded: null, lostModel: null, generation: null, data: null, run: null, nextRunId: 1 };

export function post(event: EngineEvent, transfer: Transferable[] = []): void {
  scope.postMessage(event, transfer);
}

/** A request the engine refuses, with a machine-readable code. */
export class EngineRefusal extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'EngineRefusal';
  }
}

/** The `error` event for anything thrown while handling request `id`. */
export function errorEvent(id: number, e: unknown): EventOf<'error'> {
  if (e instanceof ModelFileError) return { type: 'error', id, message: e.message, file: e.file, code: e.code };
  if (e instanceof DataError) {
    return { type: 'error', id, message: e.message, file: e.file, code: 'data', line: e.line, field: e.field, problems: [...e.problems], unlisted: e.unlisted };
  }
  if (e instanceof EngineRefusal) return { type: 'error', id, message: e.message, code: e.code };
  if (e instanceof DeviceLostError) return { type: 'error', id, message: e.message, code: 'device-lost' };
  if (e instanceof Error) return { type: 'error', id, message: e.message, code: e.name };
  return { type: 'error', id, message: String(e) };
}

export function requireGpu(): Gpu {
  const { gpu, gpuInit } = engine;
  if (!gpu) throw new Error(gpuInit ? 'The GPU device is not available (lost or never acquired). Restart the engine or reload the page.' : 'The GPU device was lost or never acquired: restart the engine (init) first.');
  return gpu;
}

export function requireModel(): Loaded {
  if (!engine.loaded) throw new EngineRefusal('No model is loaded: load a checkpoint and its tokenizer first.', 'no-model');
  return engine.loaded;
}

export function requireTokenizer(loaded: Loaded): Tokenizer {
  if (!loaded.tokenizer) {
    throw new EngineRefusal(
      'This model was loaded without a tokenizer: load it again together with its tokenizer file (tokenizer.bin or tokenizer.json).',
      'no-tokenizer',
    );
  }
  return loaded.tokenizer;
}

/** Refuse while a training run is stepping (a paused run lets other work through). */
export function refuseWhileTraining(what: string): void {
  const run = engine.run;
  if (run && run.state !== 'paused') throw new EngineRefusal(`${what} is not possible while training runs: pause or stop the run first.`, 'busy');
}
