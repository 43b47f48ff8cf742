/**
 * The UI side of the engine worker: typed requests that resolve with their terminal event (or
 * reject with EngineError), and a subscription to every event (tokens, progress, device loss).
 */
import { BROWSER_HELP } from '../gpu/errors.ts';
import { isResultOf, type CommandBody, type CommandType, type EngineCommand, type EngineEvent, type EventOf, type DataSource, type ExportKind, type ExportOptions, type GenerateSettings, type ModelVariant, type ResultOf, type RunControl, type RunSaveSettings } from './protocol.ts';
import { type DataSplit } from '../schema/data.ts';
import type { TrainConfig } from '../schema/train-config.ts';
import type { DataProblem } from '../schema/data.ts';

/** A request that failed in the engine; `file` names the file at fault (and `line`, `field` a data file's spot), if any. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly code?: string,
    readonly line?: number,
    readonly field?: string,
    /** A data file's bad lines (the first ones listed, `unlisted` more). */
    readonly problems: readonly DataProblem[] = [],
    readonly unlisted = 0,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export type EngineListener = (event: EngineEvent) => void;

/** A request in flight: its id (to cancel it) and its outcome. */
export interface Pending<C extends CommandType> {
  id: number;
  result: Promise<ResultOf<C>>;
}

interface Waiter {
  command: CommandType;
  resolve: (e: EngineEvent) => void;
  reject: (e: EngineError) => void;
}

/** The subset of Worker the client uses (a test can pass a fake). */
export interface WorkerLike {
  postMessage(message: EngineCommand, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<EngineEvent>) => void): void;
  addEventListener(type: 'error' | 'messageerror', listener: (e: Event) => void): void;
  terminate(): void;
}

export class EngineClient {
  private nextId = 1;
  private waiters = new Map<number, Waiter>();
  private listeners = new Set<EngineListener>();
  private dead: EngineError | null = null;

  private started: WorkerLike | null = null;

  /** `createWorker` runs on the first request, so a page without WebGPU never starts the engine. */
  constructor(private readonly createWorker: () => WorkerLike) {}

  private get worker(): WorkerLike {
    if (this.started) return this.started;
    const worker = this.createWorker();
    worker.addEventListener('message', (e) => this.receive(e.data));
    worker.addEventListener('error', (e) => {
      if (e instanceof ErrorEvent && e.message) {
        // An exception nobody caught inside the worker: report it, the worker itself lives on.
        this.emit({ type: 'error', id: 0, message: `Engine error: ${e.message}`, code: 'worker-error' });
      } else {
        // A plain Event: the worker script could not be loaded at all.
        this.fail(new EngineError('The engine worker failed to start. Reload the page.', undefined, 'worker-crashed'));
      }
    });
    worker.addEventListener('messageerror', () => {
      this.fail(new EngineError('A message from the engine worker could not be read.', undefined, 'worker-crashed'));
    });
    this.started = worker;
    return worker;
  }

  /** The engine in a module worker, started on first use. */
  static start(): EngineClient {
    return new EngineClient(
      () => new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module', name: 'subspace-engine' }) as WorkerLike,
    );
  }

  /** Receive every event; returns the unsubscribe function. */
  subscribe(listener: EngineListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Send a command; resolves with its terminal event, rejects with EngineError on an `error` event. */
  request<C extends CommandType>(body: CommandBody<C> & { type: C }, transfer: Transferable[] = []): Pending<C> {
    const id = this.nextId++;
    const result = new Promise<ResultOf<C>>((resolve, reject) => {
      if (this.dead) return reject(this.dead);
      this.waiters.set(id, { command: body.type, resolve: resolve as (e: EngineEvent) => void, reject });
      this.worker.postMessage({ ...body, id } as EngineCommand, transfer);
    });
    return { id, result };
  }

  /**
   * Find the GPU. When the page itself has no navigator.gpu the worker cannot have one either, so
   * this answers `unavailable` at once without asking it.
   */
  init(): Promise<EventOf<'ready'> | EventOf<'unavailable'>> {
    if (typeof navigator === 'undefined' || !('gpu' in navigator) || !navigator.gpu) {
      const event: EventOf<'unavailable'> = {
        type: 'unavailable',
        id: 0,
        reason: 'no-api',
        message: `WebGPU is not available here (no navigator.gpu). ${BROWSER_HELP}`,
      };
      this.emit(event);
      return Promise.resolve(event);
    }
    return this.request({ type: 'init' }).result;
  }

  /** Hand `files` to the engine, which reads what it needs of them (nothing is read or copied here). */
  loadModel(files: readonly File[]): Promise<ResultOf<'loadModel'>> {
    return this.request({ type: 'loadModel', files: files.map((f) => ({ name: f.name, file: f })) }).result;
  }

  /** Start generating (from the base weights when `variant` is 'base'); `onToken` receives each decoded piece. */
  generate(settings: GenerateSettings, onToken?: (piece: string, tokenId: number) => void, variant?: ModelVariant): Pending<'generate'> {
    const pending = this.request({ type: 'generate', settings, ...(variant ? { variant } : {}) });
    if (onToken) {
      const off = this.subscribe((e) => {
        if (e.type === 'token' && e.id === pending.id) onToken(e.piece, e.tokenId);
      });
      pending.result.then(off, off);
    }
    return pending;
  }

  /** The built-in demo datasets. */
  listDemos(): Promise<ResultOf<'listDemos'>> {
    return this.request({ type: 'listDemos' }).result;
  }

  /** Tokenise and split training data in the engine (it keeps the windows for training). */
  prepareData(source: DataSource, split: DataSplit): Pending<'prepareData'> {
    return this.request({ type: 'prepareData', source, split });
  }

  /**
   * Start a training run; `onEvent` receives its stream (trainStarted, trainStep, trainEval,
   * trainState, progress). The result resolves with trainFinished.
   */
  startTraining(
    config: TrainConfig,
    opts: { evalFraction: number; save: RunSaveSettings; probe?: DataSource },
    onEvent?: (event: EngineEvent) => void,
  ): Pending<'startTraining'> {
    const { evalFraction, save, probe } = opts;
    return this.streamed(this.request({ type: 'startTraining', config, evalFraction, save, ...(probe ? { probe } : {}) }), onEvent);
  }

  /** Continue a saved run from its checkpoint; streams like startTraining. */
  resumeRun(runId: number, checkpointEvery: number, onEvent?: (event: EngineEvent) => void): Pending<'resumeRun'> {
    return this.streamed(this.request({ type: 'resumeRun', runId, checkpointEvery }), onEvent);
  }

  /** Hand every event of `pending` but its end to `onEvent`. */
  private streamed<C extends CommandType>(pending: Pending<C>, onEvent?: (event: EngineEvent) => void): Pending<C> {
    if (onEvent) {
      const off = this.subscribe((e) => {
        if (e.id === pending.id && e.type !== 'trainFinished' && e.type !== 'error') onEvent(e);
      });
      pending.result.then(off, off);
    }
    return pending;
  }

  /** Pause, resume or stop the running training run; resolves once the run is between steps. */
  controlTraining(action: RunControl): Promise<ResultOf<'trainControl'>> {
    return this.request({ type: 'trainControl', action }).result;
  }

  /** The last run's adapter, merged model, ONNX folder or converted LoRA as a ZIP (its bytes transferred). */
  exportRun(kind: ExportKind, baseModelName: string, options?: ExportOptions): Promise<ResultOf<'exportRun'>> {
    return this.request({ type: 'exportRun', kind, baseModelName, ...(options ? { options } : {}) }).result;
  }

  /** "Run the export here" (see protocol.ts runOnnx); `onEvent` receives its progress events. */
  runOnnx(body: Omit<CommandBody<'runOnnx'>, 'type'>, onEvent?: (event: EngineEvent) => void): Pending<'runOnnx'> {
    return this.streamed(this.request({ type: 'runOnnx', ...body }), onEvent);
  }

  /** Apply an adapter (one .zip, or adapter_config.json + adapter_model.safetensors) to a fresh copy of the base weights. */
  importAdapter(files: readonly File[], baseModelName?: string): Promise<ResultOf<'importAdapter'>> {
    const body = { type: 'importAdapter' as const, files: files.map((f) => ({ name: f.name, file: f })), ...(baseModelName ? { baseModelName } : {}) };
    return this.request(body).result;
  }

  /** Ask the engine to stop request `target` at the next token. */
  cancel(target: number): Promise<ResultOf<'cancel'>> {
    return this.request({ type: 'cancel', target }).result;
  }

  dispose(): void {
    this.fail(new EngineError('The engine was shut down.', undefined, 'disposed'));
    this.started?.terminate();
    this.listeners.clear();
  }

  private receive(event: EngineEvent): void {
    const waiter = this.waiters.get(event.id);
    if (waiter) {
      if (event.type === 'error') {
        this.waiters.delete(event.id);
        waiter.reject(new EngineError(event.message, event.file, event.code, event.line, event.field, event.problems, event.unlisted));
      } else if (isResultOf(waiter.command, event)) {
        this.waiters.delete(event.id);
        waiter.resolve(event);
      }
    }
    this.emit(event);
  }

  private emit(event: EngineEvent): void {
    for (const l of this.listeners) l(event);
  }

  /** The worker is gone: reject everything pending and tell the listeners once. */
  private fail(error: EngineError): void {
    if (this.dead) return;
    this.dead = error;
    for (const w of this.waiters.values()) w.reject(error);
    this.waiters.clear();
    this.emit({ type: 'error', id: 0, message: error.message, code: error.code });
  }
}
