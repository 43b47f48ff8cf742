/**
 * `importAdapter`: an adapter from the user's files (a peft LoRA/DoRA adapter, or our MoRA file)
 * applied to a fresh copy of the base weights, recorded as a 0-step run so that 'tuned' generation,
 * spectra and exports work on it as on a trained one. The files are read and checked against the
 * loaded model first (src/adapters/import-check.ts); a bad file leaves the model and its tuned state
 * as they were.
 */
import { checkAdapter, type CheckedAdapter } from '../../adapters/import-check.ts';
import { attachLoraTensors } from '../../adapters/lora-io.ts';
import { attachMoraTensors } from '../../adapters/mora-io.ts';
import type { LlamaModel } from '../../model/llama.ts';
import { loadModel } from '../../model/load-checkpoint.ts';
import type { FilePayload } from '../protocol.ts';
import { importedTrainConfig } from './import-config.ts';
import { newRunId } from './persist.ts';
import { EngineRefusal, engine, errorEvent, post, refuseWhileTraining, requireGpu, requireModel, type Loaded } from './state.ts';

/** A new GPU copy of the base weights with `adapter` attached (the loaded model is not touched). */
async function adaptedCopy(loaded: Loaded, adapter: CheckedAdapter): Promise<LlamaModel> {
  const { model } = await loadModel(requireGpu(), loaded.base);
  try {
    // The same attach functions as the CLI's --adapter (src/cli/adapter-dir.ts).
    if (adapter.kind === 'mora') attachMoraTensors(model, adapter.config, adapter.tensors);
    else attachLoraTensors(model, adapter.config, adapter.tensors);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** Refuse while anything else holds the model: a run (even paused: its trainer owns the model) or a generation. */
function refuseWhileBusy(): void {
  refuseWhileTraining('Importing an adapter');
  if (engine.run) throw new EngineRefusal('Importing an adapter is not possible while a run is paused (its trainer holds the model): stop the run first.', 'busy');
  if (engine.generation) throw new EngineRefusal('A generation is running: wait for it to finish before importing an adapter.', 'busy');
}

export async function handleImportAdapter(id: number, files: FilePayload[], baseModelName?: string): Promise<void> {
  try {
    const loaded = requireModel();
    refuseWhileBusy();
    post({ type: 'progress', id, stage: 'parsing', message: `Reading ${files.map((f) => f.name).join(', ')}` });
    const adapter = checkAdapter(
      await Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.file.arrayBuffer()) }))), // adapters are small
      loaded.model.config,
      baseModelName ?? loaded.summary.files.join(' + '),
    );
    post({ type: 'progress', id, stage: 'uploading', message: 'Copying the base weights and attaching the adapter' });
    const model = await adaptedCopy(loaded, adapter);
    let runId: number;
    try {
      runId = await newRunId(); // unique among saved runs too
      await model.gpu.sync(); // surfaces an out-of-memory or validation error before the swap
      // While we waited, a model load, a run or a generation may have started on the old model.
      if (engine.loaded !== loaded) throw new EngineRefusal('Another model was loaded while the adapter was being imported.', 'superseded');
      refuseWhileBusy();
    } catch (e) {
      model.dispose();
      throw e;
    }
    loaded.model.dispose();
    loaded.model = model;
    loaded.tuned = { runId, method: adapter.summary.method, config: importedTrainConfig(adapter.summary), steps: 0 };
    post({ type: 'adapterImported', id, runId, adapter: adapter.summary });
  } catch (e) {
    post(errorEvent(id, e));
  }
}
