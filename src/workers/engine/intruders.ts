/**
 * Intruder dimensions for the spectrum view (arXiv 2410.21228; src/spectra/intruders.ts): for every
 * trained module of the run on the model now, or of a saved run restored from its checkpoint (as the
 * spectrum command does), the fine-tuned W's top-k left singular vectors against W₀'s — each one's
 * largest |cosine| with W₀'s and the intruder count at each ε. W₀'s SVDs share the spectra's cache.
 */
import { moduleIntruders, type ModuleIntruders } from '../../spectra/intruders.ts';
import { LINEAR_MODULES } from '../../schema/tensors.ts';
import { labIdle } from './lab.ts';
import { baseCache, savedRunModel } from './spectra.ts';
import { errorEvent, post, refuseWhileTraining, requireModel } from './state.ts';

export async function handleIntruders(id: number, runId?: number): Promise<void> {
  try {
    await labIdle();
    const loaded = requireModel();
    refuseWhileTraining('Finding intruder dimensions');
    const current = loaded.tuned?.runId ?? 0;
    const t0 = performance.now();
    const view = runId === undefined || runId === current
      ? {
          runId: current, model: loaded.model, steps: loaded.tuned?.steps ?? 0, cache: baseCache(loaded.model),
          initial: loaded.tuned?.spectralInitial, original: loaded.tuned?.method === 'full' ? loaded.base : undefined,
        }
      : await savedRunModel(loaded, runId).then((s) => ({
          runId, model: s.model, steps: s.steps, cache: s.cache, initial: s.initial, original: s.method === 'full' ? loaded.base : undefined,
        }));
    const modules: ModuleIntruders[] = [];
    // The base model (no run) trains nothing: no module has a W₀ to compare with.
    if (view.runId !== 0) {
      for (let layer = 0; layer < view.model.config.nLayers; layer++) {
        for (const module of LINEAR_MODULES) {
          const r = await moduleIntruders(view.model, layer, module, { baseCache: view.cache, initial: view.initial, original: view.original });
          if (r) modules.push(r);
        }
      }
    }
    post({ type: 'intruders', id, runId: view.runId, step: view.steps, modules, ms: performance.now() - t0 });
  } catch (e) {
    post(errorEvent(id, e));
  }
}
