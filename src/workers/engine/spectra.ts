/**
 * Spectra in the worker (issue 6, "Spectrum view"): the `spectrum` command (one module's record for
 * the current model: the base alone before any run, with the last run's adapters after one) and the
 * budgeted spectra round the training loop runs every `every` steps (spectraStep events).
 *
 * A spectrum asked for while a run is stepping waits for the next step boundary: the training loop
 * calls spectraAfterStep between two steps, which runs the queued requests there, so a spectrum never
 * races a step on the GPU. A request still queued when the run ends is answered after it.
 *
 * The spectrum of an earlier run (not the one on the model) is computed on a second copy of the base
 * weights with that run's checkpoint restored from storage; the copy is kept for the next module of
 * the same run and dropped when another run, or another model, is asked for.
 */
import { moduleSpectrum, spectraRound, type BaseSvd } from '../../spectra/module-spectrum.ts';
import type { LlamaModel } from '../../model/llama.ts';
import { loadModel } from '../../model/load-checkpoint.ts';
import type { LinearModule } from '../../schema/tensors.ts';
import type { WeightSource } from '../../io/weight-source.ts';
import type { AdapterTensors } from '../../io/peft.ts';
import type { Method } from '../../schema/train-config.ts';
import { Trainer } from '../../train/trainer.ts';
import type { SpectraEntry } from '../../schema/metrics.ts';
import { runDb } from './persist.ts';
import { EngineRefusal, engine, errorEvent, post, requireGpu, requireModel, type Loaded } from './state.ts';

/** Time one spectra round may take between two steps by default, in milliseconds. */
const ROUND_BUDGET_MS = 300;

/** Steps between two spectra rounds during training (0 = off); set by `spectraSettings`. */
let every = 10;
/** Time one round may take, and the module on screen (computed first in every round). */
let budgetMs = ROUND_BUDGET_MS;
let focus: string | null = null;

/** W₀'s SVDs for one model object and run (PiSSA/MiLoRA change what W₀ is): reused while both stay. */
let cacheOwner: { model: LlamaModel; runId: number; cache: Map<string, BaseSvd> } | null = null;

export function baseCache(model: LlamaModel): Map<string, BaseSvd> {
  const runId = engine.loaded?.tuned?.runId ?? 0;
  if (!cacheOwner || cacheOwner.model !== model || cacheOwner.runId !== runId) cacheOwner = { model, runId, cache: new Map() };
  return cacheOwner.cache;
}

/** Spectrum requests waiting for the running loop's next step boundary. */
interface Job {
  taken: boolean;
  run: () => Promise<void>;
}
const queue: Job[] = [];

/** The round-robin cursor of the current run's spectra rounds. */
let round: { runId: number; cursor: number } = { runId: 0, cursor: 0 };

export function handleSpectraSettings(id: number, stepsBetween: number, roundMs?: number, onScreen?: string | null): void {
  if (!Number.isInteger(stepsBetween) || stepsBetween < 0) {
    post(errorEvent(id, new EngineRefusal(`Spectra every ${stepsBetween} steps: give a whole number ≥ 0 (0 = off).`, 'config')));
    return;
  }
  if (roundMs !== undefined && !(Number.isFinite(roundMs) && roundMs >= 0)) {
    post(errorEvent(id, new EngineRefusal(`Spectra round budget ${roundMs} ms: give a number of milliseconds ≥ 0.`, 'config')));
    return;
  }
  every = stepsBetween;
  if (roundMs !== undefined) budgetMs = roundMs;
  if (onScreen !== undefined) focus = onScreen;
  post({ type: 'spectraSettings', id, every, budgetMs, focus });
}

/** An earlier run's trained model, restored from its checkpoint for its spectra. */
export interface SavedRunModel {
  loaded: Loaded;
  runId: number;
  model: LlamaModel;
  method: Method;
  steps: number;
  initial?: AdapterTensors;
  cache: Map<string, BaseSvd>;
}
let savedView: SavedRunModel | null = null;

function dropSavedView(): void {
  if (savedView && savedView.model.gpu === engine.gpu) savedView.model.dispose();
  savedView = null;
}

/** Saved run `runId` on a copy of the loaded base model (kept for the next request of the same run). */
export async function savedRunModel(loaded: Loaded, runId: number): Promise<SavedRunModel> {
  if (savedView && savedView.runId === runId && savedView.loaded === loaded && savedView.model.gpu === engine.gpu) return savedView;
  dropSavedView();
  let db;
  try {
    db = await runDb();
  } catch (e) {
    throw new EngineRefusal(`Run ${runId}'s spectrum needs its checkpoint, but this browser's storage cannot be opened: ${(e as Error).message}`, 'storage-unavailable');
  }
  const [record, checkpoint] = [await db.run(runId), await db.checkpoint(runId)];
  if (!record || !checkpoint || record.checkpointStep === 0) {
    throw new EngineRefusal(`Run ${runId} has no saved checkpoint in this browser, so its spectrum cannot be computed.`, 'not-found');
  }
  if (record.model.fingerprint !== loaded.summary.fingerprint) {
    throw new EngineRefusal(`Run ${runId} trained ${record.model.name}; the loaded model is ${loaded.summary.files.join(' + ')}. Load ${record.model.name} to see its spectra.`, 'model-mismatch');
  }
  const { model } = await loadModel(requireGpu(), loaded.base);
  try {
    const trainer = await Trainer.restore(model, checkpoint);
    trainer.dispose(); // the optimizer state is not needed: the adapters (or trained weights) stay on the model
    savedView = { loaded, runId, model, method: trainer.config.method, steps: checkpoint.step, initial: trainer.spectral?.initial, cache: new Map() };
    return savedView;
  } catch (e) {
    model.dispose();
    throw new EngineRefusal(`Run ${runId}'s stored checkpoint cannot be used: ${(e as Error).message}.`, 'checkpoint');
  }
}

async function computeSpectrum(id: number, layer: number, module: LinearModule, runId?: number): Promise<void> {
  try {
    const loaded = requireModel();
    if (engine.generation) throw new EngineRefusal('A generation is running: wait for it to finish first.', 'busy');
    if (!Number.isInteger(layer) || layer < 0 || layer >= loaded.model.config.nLayers) {
      throw new EngineRefusal(`Layer ${layer} does not exist: the model has layers 0–${loaded.model.config.nLayers - 1}.`, 'config');
    }
    const current = loaded.tuned?.runId ?? 0;
    const t0 = performance.now();
    if (runId === undefined || runId === current) {
      const { model } = loaded;
      const record = await moduleSpectrum(requireGpu(), model, layer, module, {
        merged: true,
        initial: loaded.tuned?.spectralInitial,
        original: loaded.tuned?.method === 'full' ? loaded.base : undefined,
        baseCache: baseCache(model),
      });
      post({ type: 'spectrum', id, record, step: loaded.tuned?.steps ?? 0, ms: performance.now() - t0, runId: current });
      return;
    }
    const saved = await savedRunModel(loaded, runId);
    const record = await moduleSpectrum(requireGpu(), saved.model, layer, module, {
      merged: true,
      initial: saved.initial,
      original: saved.method === 'full' ? loaded.base : undefined,
      baseCache: saved.cache,
    });
    post({ type: 'spectrum', id, record, step: saved.steps, ms: performance.now() - t0, runId });
  } catch (e) {
    post(errorEvent(id, e));
  }
}

/** `spectrum`: now, or at the next step boundary while a run is stepping. */
export async function handleSpectrum(id: number, layer: number, module: LinearModule, runId?: number): Promise<void> {
  const job: Job = { taken: false, run: () => computeSpectrum(id, layer, module, runId) };
  const run = engine.run;
  if (run && run.state !== 'paused') {
    queue.push(job);
    await run.done;
    if (job.taken) return;
    queue.splice(queue.indexOf(job), 1);
  }
  job.taken = true;
  await job.run();
}

/**
 * Called by the training loop after step `step` (request `id`, run `runId`): answers queued spectrum
 * requests, then every `every` steps runs a budgeted round over the adapted modules of all layers.
 * After the last step (`last`) the round is complete, unbudgeted, so the run ends with every module's spectra.
 * Returns the round's entries (as posted), or null when no round ran.
 */
export async function spectraAfterStep(
  id: number, runId: number, step: number, model: LlamaModel, targets: readonly LinearModule[], initial: AdapterTensors | undefined,
  last = false,
  /** Full fine-tuning: the weights before training (ΔW = W − W₀ for every module). */
  original?: WeightSource,
): Promise<SpectraEntry[] | null> {
  for (const job of queue.splice(0)) {
    if (job.taken) continue;
    job.taken = true;
    await job.run();
  }
  if (every <= 0 || (step % every !== 0 && !last) || (model.adapters.size === 0 && !original)) return null;
  if (round.runId !== runId) round = { runId, cursor: 0 };
  const layers = Array.from({ length: model.config.nLayers }, (_, i) => i);
  try {
    const { spectra } = await spectraRound(model, layers, targets, round, last ? Infinity : budgetMs, { initial, original, baseCache: baseCache(model), topSigma: 0, focus });
    if (spectra.length === 0) return null;
    const entries: SpectraEntry[] = spectra.map((s) => ({
      name: s.name, delta_rank90: s.delta_rank90, overlap_principal: s.overlap_principal, overlap_minor: s.overlap_minor,
    }));
    post({ type: 'spectraStep', id, runId, step, entries });
    return entries;
  } catch (e) {
    // A failed round must not end the run: report it on the side (id 0) and keep training.
    post({ ...errorEvent(0, e), message: `Spectra at step ${step}: ${(e as Error).message}` });
    return null;
  }
}
