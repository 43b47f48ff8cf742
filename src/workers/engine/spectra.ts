/**
 * Spectra in the worker (issue 6, "Spectrum view"): the `spectrum` command (one module's record for
 * the current model: the base alone before any run, with the last run's adapters after one) and the
 * budgeted spectra round the training loop runs every `every` steps (spectraStep events).
 *
 * A spectrum asked for while a run is stepping waits for the next step boundary: the training loop
 * calls spectraAfterStep between two steps, which runs the queued requests there, so a spectrum never
 * races a step on the GPU. A request still queued when the run ends is answered after it.
 */
import { moduleSpectrum, spectraRound, type BaseSvd } from '../../linalg/module-spectrum.ts';
import type { LlamaModel } from '../../model/llama.ts';
import type { LinearModule, LlamaWeights } from '../../model/weights.ts';
import type { AdapterTensors } from '../../io/peft.ts';
import type { SpectraEntry } from '../protocol.ts';
import { EngineRefusal, engine, errorEvent, post, requireGpu, requireModel } from './state.ts';

/** Time one spectra round may take between two steps, in milliseconds. */
const ROUND_BUDGET_MS = 300;

/** Steps between two spectra rounds during training (0 = off); set by `spectraSettings`. */
let every = 10;

/** W₀'s SVDs for one model object and run (PiSSA/MiLoRA change what W₀ is): reused while both stay. */
let cacheOwner: { model: LlamaModel; runId: number; cache: Map<string, BaseSvd> } | null = null;

function baseCache(model: LlamaModel): Map<string, BaseSvd> {
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

export function handleSpectraSettings(id: number, stepsBetween: number): void {
  if (!Number.isInteger(stepsBetween) || stepsBetween < 0) {
    post(errorEvent(id, new EngineRefusal(`Spectra every ${stepsBetween} steps: give a whole number ≥ 0 (0 = off).`, 'config')));
    return;
  }
  every = stepsBetween;
  post({ type: 'spectraSettings', id, every });
}

async function computeSpectrum(id: number, layer: number, module: LinearModule): Promise<void> {
  try {
    const loaded = requireModel();
    if (engine.generation) throw new EngineRefusal('A generation is running: wait for it to finish first.', 'busy');
    const { model } = loaded;
    if (!Number.isInteger(layer) || layer < 0 || layer >= model.config.nLayers) {
      throw new EngineRefusal(`Layer ${layer} does not exist: the model has layers 0–${model.config.nLayers - 1}.`, 'config');
    }
    const t0 = performance.now();
    const record = await moduleSpectrum(requireGpu(), model, layer, module, {
      merged: true,
      initial: loaded.tuned?.spectralInitial,
      original: loaded.tuned?.method === 'full' ? loaded.weights : undefined,
      baseCache: baseCache(model),
    });
    post({ type: 'spectrum', id, record, step: loaded.tuned?.steps ?? 0, ms: performance.now() - t0 });
  } catch (e) {
    post(errorEvent(id, e));
  }
}

/** `spectrum`: now, or at the next step boundary while a run is stepping. */
export async function handleSpectrum(id: number, layer: number, module: LinearModule): Promise<void> {
  const job: Job = { taken: false, run: () => computeSpectrum(id, layer, module) };
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
  original?: LlamaWeights,
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
    const { spectra } = await spectraRound(model, layers, targets, round, last ? Infinity : ROUND_BUDGET_MS, { initial, original, baseCache: baseCache(model), topSigma: 0 });
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
