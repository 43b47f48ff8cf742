/**
 * The engine worker: owns the GPU device, the loaded model and the training run, and answers
 * EngineCommands with EngineEvents (see protocol.ts). Commands are handled as they arrive, so
 * `cancel` reaches a running generation between two tokens and `trainControl` a run between two
 * steps. Data, training and exports live in ./engine/.
 */
import { acquireDevice } from '../gpu/device.ts';
import { WebGpuUnavailableError } from '../gpu/errors.ts';
import { isPacked16 } from '../gpu/tensor.ts';
import { autotuneMatmul } from '../kernels/autotune.ts';
import { Gpu } from '../gpu/gpu.ts';
import { blobSource, type ByteSource } from '../io/byte-source.ts';
import { openModelSources } from '../io/load-model.ts';
import { loadModel } from '../model/load-checkpoint.ts';
import { generate } from '../model/generate.ts';
import type { LlamaModel } from '../model/llama.ts';
import type { LinearAdapter } from '../model/linear-adapter.ts';
import { handleListDemos, handlePrepareData } from './engine/data.ts';
import { handleExportRun } from './engine/exports.ts';
import { handleRunOnnx } from './engine/onnx-run.ts';
import { handleLoadHubModel } from './engine/hub.ts';
import { handleImportAdapter } from './engine/imports.ts';
import {
  EngineRefusal, engine, errorEvent, post, refuseWhileTraining, requireGpu, requireModel, requireTokenizer, scope, type Generation,
} from './engine/state.ts';
import { handleResumeRun, handleStartTraining, handleTrainControl, stopTraining } from './engine/training.ts';
import { handleDeleteRun, handleListRuns } from './engine/persist.ts';
import { handleSpectraSettings, handleSpectrum } from './engine/spectra.ts';
import { handleLabCancel, handleLabDiscard, handleLabEstimate, handleLabList, handleLabRun } from './engine/lab.ts';
import { handleIntruders } from './engine/intruders.ts';
import type { EngineCommand, EventOf, GenerateSettings, ModelSummary, ModelVariant } from './protocol.ts';

async function initGpu(): Promise<EventOf<'ready'> | EventOf<'unavailable'>> {
  try {
    const acquired = await acquireDevice(scope.navigator.gpu);
    const gpu = new Gpu(acquired);
    acquired.lost.then((e) => {
      if (engine.gpu !== gpu) return;
      // Keep where the weights are: a restarted engine reads them again onto the new device.
      const loaded = engine.loaded;
      engine.lostModel = loaded ? { base: loaded.base, tokenizer: loaded.tokenizer, tokenizerFiles: loaded.tokenizerFiles, summary: loaded.summary } : null;
      engine.gpu = null;
      engine.gpuInit = null; // the next init acquires a new device
      engine.loaded = null;
      engine.data = null;
      void stopTraining(); // a paused run would wait forever; a stepping one fails on its next GPU call
      const saved = engine.run ? ' The run keeps its last checkpoint: restart the engine, then resume it from Saved runs.' : ' Restart the engine to go on.';
      post({ type: 'error', id: 0, message: `${e.message}${saved}`, code: 'device-lost' });
    });
    engine.gpu = gpu;
    await autotuneMatmul(gpu); // picks matmul variants for this adapter (fixed rule on SwiftShader)
    const restored = await restoreLostModel(gpu);
    const { maxBufferSize, maxStorageBufferBindingSize } = acquired.device.limits;
    const adapter = { ...acquired.adapterInfo, features: acquired.features, limits: { maxBufferSize, maxStorageBufferBindingSize } };
    return { type: 'ready', id: 0, adapter, ...(restored ? { model: restored } : {}) };
  } catch (e) {
    if (e instanceof WebGpuUnavailableError) return { type: 'unavailable', id: 0, reason: e.reason, message: e.message };
    throw e;
  }
}

/** After a lost device: the model the engine held, read again from its files onto the new device (its training is gone). */
async function restoreLostModel(gpu: Gpu): Promise<ModelSummary | null> {
  const lost = engine.lostModel;
  engine.lostModel = null;
  if (!lost) return null;
  try {
    const { model } = await loadModel(gpu, lost.base);
    engine.loaded = { ...lost, model, tuned: null };
    return lost.summary;
  } catch (e) {
    // The engine restarts without a model (e.g. its file changed on disk meanwhile); the page says why.
    post({ ...errorEvent(0, e), message: `The model could not be read again after the GPU reset: ${(e as Error).message}` });
    return null;
  }
}

/** `loseDevice`: destroy the GPU device, as a driver reset would, to exercise the recovery path. */
function handleLoseDevice(id: number): void {
  const gpu = engine.gpu;
  if (!gpu) {
    post({ type: 'error', id, message: 'There is no GPU device to lose.', code: 'no-device' });
    return;
  }
  gpu.device.destroy();
  post({ type: 'deviceDestroyed', id });
}

async function handleInit(id: number): Promise<void> {
  engine.gpuInit ??= initGpu();
  try {
    post({ ...(await engine.gpuInit), id });
  } catch (e) {
    engine.gpuInit = null; // an unexpected failure: let a later init try again
    post(errorEvent(id, e));
  }
}

/** Loads overlap (the default model at start-up, a file picked meanwhile): the latest request wins. */
let latestLoad = 0;

function superseded(): EngineRefusal {
  return new EngineRefusal('A model picked later replaced this one before it finished loading.', 'superseded');
}

/**
 * Open the model in `files` (headers, config and tokenizer read; weights left in their files), then
 * stream its tensors onto the GPU one at a time. The files stay the model's source: a run's fresh copy,
 * the base after a lost device and a full fine-tune's W₀ are read from them again.
 */
async function handleLoadModel(id: number, files: ByteSource[]): Promise<void> {
  const started = performance.now();
  const load = ++latestLoad;
  try {
    const device = requireGpu();
    post({ type: 'progress', id, stage: 'parsing', message: `Reading ${files.map((f) => f.name).join(', ')}` });
    const { base, tokenizer, tokenizerJson } = await openModelSources(files);
    if (load !== latestLoad) throw superseded();
    // The new model replaces the old one only once it has loaded: a bad file keeps the previous model.
    if (engine.generation) {
      engine.generation.stop = true;
      await engine.generation.done;
    }
    await stopTraining();
    if (load !== latestLoad) throw superseded();
    post({ type: 'progress', id, stage: 'uploading', message: 'Uploading weights to the GPU' });
    let lastProgress = 0;
    const { model, fingerprint } = await loadModel(device, base, {
      onProgress(done, total) {
        const now = performance.now();
        if (now - lastProgress < 100 && done < total) return;
        lastProgress = now;
        post({ type: 'progress', id, stage: 'uploading', message: `Uploading weights to the GPU: ${done} of ${total} tensors`, done, total });
      },
    });
    try {
      await device.sync();
      if (load !== latestLoad) throw superseded();
    } catch (e) {
      model.dispose();
      throw e;
    }
    engine.loaded?.model.dispose();
    const summary: ModelSummary = {
      files: files.map((f) => f.name),
      config: { ...base.config },
      paramCount: model.parameterCount,
      weightStorage: [...model.params.values()].some(isPacked16) ? '16-bit' : 'f32',
      hasTokenizer: tokenizer !== undefined,
      loadMs: performance.now() - started,
      fingerprint,
    };
    engine.loaded = { model, base, tokenizer, tokenizerFiles: tokenizerJson, summary, tuned: null };
    engine.data = null; // tokenised with the previous tokenizer
    post({ type: 'modelLoaded', id, model: summary });
  } catch (e) {
    post(errorEvent(id, e));
  }
}

/**
 * Generate from the current model ('tuned': with the last run's training) or from the base weights:
 * adapters are moved aside for the generation; a full fine-tune's base is uploaded for it.
 */
async function handleGenerate(id: number, settings: GenerateSettings, variant: ModelVariant = 'tuned'): Promise<void> {
  if (engine.generation) {
    post({ type: 'error', id, message: 'A generation is already running; stop it first.', code: 'busy' });
    return;
  }
  let finish!: () => void;
  const current: Generation = { id, stop: false, done: new Promise<void>((r) => (finish = r)) };
  const started = performance.now();
  let newTokens = 0;
  let stashed: Map<string, LinearAdapter> | null = null;
  let temporary: LlamaModel | null = null;
  let loaded = engine.loaded;
  try {
    loaded = requireModel();
    const tokenizer = requireTokenizer(loaded);
    refuseWhileTraining('Generating');
    engine.generation = current;
    let model = loaded.model;
    if (variant === 'base' && loaded.tuned) {
      // Full fine-tuning, PiSSA and MiLoRA changed the base weights on the GPU: upload the originals.
      if (loaded.tuned.method === 'full' || loaded.tuned.spectralInitial) {
        post({ type: 'progress', id, stage: 'uploading', message: 'Uploading the base weights' });
        model = temporary = (await loadModel(requireGpu(), loaded.base)).model;
      } else {
        stashed = new Map(model.adapters);
        model.adapters.clear();
      }
    }
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
    if (stashed && loaded) for (const [name, adapter] of stashed) loaded.model.adapters.set(name, adapter);
    temporary?.dispose();
    if (engine.generation === current) engine.generation = null;
    finish();
  }
}

function handleCancel(id: number, target: number): void {
  if (engine.generation && engine.generation.id === target) engine.generation.stop = true;
  post({ type: 'cancelled', id, target });
}

function handle(cmd: EngineCommand): Promise<void> | void {
  switch (cmd.type) {
    case 'init':
      return handleInit(cmd.id);
    case 'loadModel':
      return handleLoadModel(cmd.id, cmd.files.map((f) => blobSource(f.name, f.file)));
    case 'loadHubModel':
      return handleLoadHubModel(cmd.id, cmd.repo, cmd.revision, cmd.endpoint, handleLoadModel, cmd.token);
    case 'generate':
      return handleGenerate(cmd.id, cmd.settings, cmd.variant);
    case 'cancel':
      return handleCancel(cmd.id, cmd.target);
    case 'listDemos':
      return handleListDemos(cmd.id);
    case 'prepareData':
      return handlePrepareData(cmd.id, cmd.source, cmd.split);
    case 'startTraining':
      return handleStartTraining(cmd.id, cmd.config, cmd.evalFraction, cmd.save, cmd.probe);
    case 'loseDevice':
      return handleLoseDevice(cmd.id);
    case 'resumeRun':
      return handleResumeRun(cmd.id, cmd.runId, cmd.checkpointEvery);
    case 'listRuns':
      return handleListRuns(cmd.id);
    case 'deleteRun':
      return handleDeleteRun(cmd.id, cmd.runId);
    case 'trainControl':
      return handleTrainControl(cmd.id, cmd.action);
    case 'spectrum':
      return handleSpectrum(cmd.id, cmd.layer, cmd.module, cmd.runId);
    case 'spectraSettings':
      return handleSpectraSettings(cmd.id, cmd.every, cmd.budgetMs, cmd.focus);
    case 'exportRun':
      return handleExportRun(cmd.id, cmd.kind, cmd.baseModelName, cmd.options);
    case 'runOnnx':
      return handleRunOnnx(cmd.id, cmd);
    case 'importAdapter':
      return handleImportAdapter(cmd.id, cmd.files, cmd.baseModelName);
    case 'labList':
      return handleLabList(cmd.id);
    case 'labEstimate':
      return handleLabEstimate(cmd.id, cmd.experiment, cmd.quick, cmd.seed, cmd.origin);
    case 'labRun': {
      const { id, type: _type, ...req } = cmd;
      return handleLabRun(id, req);
    }
    case 'labCancel':
      return handleLabCancel(cmd.id, cmd.estimate);
    case 'labDiscard':
      return handleLabDiscard(cmd.id);
    case 'intruders':
      return handleIntruders(cmd.id, cmd.runId);
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
