/**
 * The engine worker: owns the GPU device and the loaded model, and answers EngineCommands with
 * EngineEvents (see protocol.ts). Commands are handled as they arrive, so `cancel` reaches a running
 * generation between two tokens.
 */
import { acquireDevice } from '../gpu/device.ts';
import { DeviceLostError, WebGpuUnavailableError } from '../gpu/errors.ts';
import { autotuneMatmul } from '../kernels/autotune.ts';
import { Gpu } from '../gpu/gpu.ts';
import { ModelFileError } from '../io/errors.ts';
import { loadModelFromFiles } from '../io/load-model.ts';
import type { Tokenizer } from '../io/tokenizer.ts';
import { generate } from '../model/generate.ts';
import { LlamaModel } from '../model/llama.ts';
import type { EngineCommand, EngineEvent, EventOf, GenerateSettings, ModelSummary } from './protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

interface Loaded {
  model: LlamaModel;
  tokenizer?: Tokenizer;
  summary: ModelSummary;
}

interface Generation {
  id: number;
  stop: boolean;
  done: Promise<void>;
}

let gpuInit: Promise<EventOf<'ready'> | EventOf<'unavailable'>> | null = null;
let gpu: Gpu | null = null;
let loaded: Loaded | null = null;
let generation: Generation | null = null;

function post(event: EngineEvent): void {
  scope.postMessage(event);
}

/** The `error` event for anything thrown while handling request `id`. */
function errorEvent(id: number, e: unknown): EventOf<'error'> {
  if (e instanceof ModelFileError) return { type: 'error', id, message: e.message, file: e.file, code: e.code };
  if (e instanceof DeviceLostError) return { type: 'error', id, message: e.message, code: 'device-lost' };
  if (e instanceof Error) return { type: 'error', id, message: e.message, code: e.name };
  return { type: 'error', id, message: String(e) };
}

async function initGpu(): Promise<EventOf<'ready'> | EventOf<'unavailable'>> {
  try {
    const acquired = await acquireDevice(scope.navigator.gpu);
    acquired.lost.then((e) => {
      gpu = null;
      loaded = null;
      post({ type: 'error', id: 0, message: `${e.message} Reload the page to start again.`, code: 'device-lost' });
    });
    gpu = new Gpu(acquired);
    await autotuneMatmul(gpu); // picks matmul variants for this adapter (fixed rule on SwiftShader)
    return { type: 'ready', id: 0, adapter: { ...acquired.adapterInfo, features: acquired.features } };
  } catch (e) {
    if (e instanceof WebGpuUnavailableError) return { type: 'unavailable', id: 0, reason: e.reason, message: e.message };
    throw e;
  }
}

async function handleInit(id: number): Promise<void> {
  gpuInit ??= initGpu();
  try {
    post({ ...(await gpuInit), id });
  } catch (e) {
    gpuInit = null; // an unexpected failure: let a later init try again
    post(errorEvent(id, e));
  }
}

function requireGpu(): Gpu {
  if (!gpu) throw new Error(gpuInit ? 'The GPU device is not available (lost or never acquired). Reload the page.' : 'The engine was not initialised: send init first.');
  return gpu;
}

async function handleLoadModel(id: number, files: { name: string; bytes: ArrayBuffer }[]): Promise<void> {
  const started = performance.now();
  try {
    const device = requireGpu();
    post({ type: 'progress', id, stage: 'parsing', message: `Reading ${files.map((f) => f.name).join(', ')}` });
    const { weights, tokenizer } = await loadModelFromFiles(files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) })));
    // The new model replaces the old one only once it has loaded: a bad file keeps the previous model.
    if (generation) {
      generation.stop = true;
      await generation.done;
    }
    post({ type: 'progress', id, stage: 'uploading', message: 'Uploading weights to the GPU' });
    const model = LlamaModel.upload(device, weights);
    try {
      await device.sync();
    } catch (e) {
      model.dispose();
      throw e;
    }
    loaded?.model.dispose();
    const summary: ModelSummary = {
      files: files.map((f) => f.name),
      config: { ...weights.config },
      paramCount: model.parameterCount,
      hasTokenizer: tokenizer !== undefined,
      loadMs: performance.now() - started,
    };
    loaded = { model, tokenizer, summary };
    post({ type: 'modelLoaded', id, model: summary });
  } catch (e) {
    post(errorEvent(id, e));
  }
}

async function handleGenerate(id: number, settings: GenerateSettings): Promise<void> {
  if (generation) {
    post({ type: 'error', id, message: 'A generation is already running; stop it first.', code: 'busy' });
    return;
  }
  if (!loaded) {
    post({ type: 'error', id, message: 'No model is loaded: load a checkpoint and its tokenizer first.', code: 'no-model' });
    return;
  }
  const { model, tokenizer } = loaded;
  if (!tokenizer) {
    post({
      type: 'error',
      id,
      message: 'This model was loaded without a tokenizer: load it again together with its tokenizer file (tokenizer.bin or tokenizer.json).',
      code: 'no-tokenizer',
    });
    return;
  }
  let finish!: () => void;
  const current: Generation = { id, stop: false, done: new Promise<void>((r) => (finish = r)) };
  generation = current;
  const started = performance.now();
  let newTokens = 0;
  try {
    post({ type: 'progress', id, stage: 'prefill', message: 'Reading the prompt' });
    const result = await generate(
      model,
      tokenizer,
      { ...settings, shouldStop: () => current.stop },
      (piece, tokenId) => {
        newTokens++;
        post({ type: 'token', id, piece, tokenId });
      },
    );
    post({
      type: 'generated',
      id,
      ids: result.ids,
      text: result.text,
      newTokens,
      cancelled: current.stop && newTokens < settings.maxTokens,
      ms: performance.now() - started,
    });
  } catch (e) {
    post(errorEvent(id, e));
  } finally {
    generation = null;
    finish();
  }
}

function handleCancel(id: number, target: number): void {
  if (generation && generation.id === target) generation.stop = true;
  post({ type: 'cancelled', id, target });
}

function handle(cmd: EngineCommand): Promise<void> | void {
  switch (cmd.type) {
    case 'init':
      return handleInit(cmd.id);
    case 'loadModel':
      return handleLoadModel(cmd.id, cmd.files);
    case 'generate':
      return handleGenerate(cmd.id, cmd.settings);
    case 'cancel':
      return handleCancel(cmd.id, cmd.target);
    default: {
      const unknown: never = cmd;
      post({ type: 'error', id: (unknown as { id?: number }).id ?? 0, message: `Unknown command ${JSON.stringify(unknown)}`, code: 'protocol' });
    }
  }
}

scope.addEventListener('message', (e: MessageEvent<EngineCommand>) => {
  void handle(e.data);
});
scope.addEventListener('unhandledrejection', (e: PromiseRejectionEvent) => {
  post(errorEvent(0, e.reason));
});
