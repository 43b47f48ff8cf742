/**
 * "Run the export here": the current model exported to ONNX (src/export/onnx-folder.ts, the training
 * merged in) is loaded into onnxruntime-web inside this worker — the WebGPU execution provider, or
 * WASM when WebGPU is missing or fails — and generates greedily beside the engine from the same
 * prompt, so the page shows both texts, each one's tokens/s, and whether they are the same.
 * onnxruntime-web's WASM binary is a file Vite serves from node_modules (no CDN).
 */
import type * as OrtWeb from 'onnxruntime-web';
import { onnxGreedy, type OnnxGreedyResult } from '../../export/onnx-decode.ts';
import { generate } from '../../model/generate.ts';
import type { CommandBody, GreedyRun, OnnxProvider } from '../protocol.ts';
import { joinChunks, onnxFolder } from './converted-exports.ts';
import { EngineRefusal, engine, errorEvent, post, refuseWhileTraining, requireModel, requireTokenizer, type Generation } from './state.ts';

/** The most tokens one comparison generates. */
export const MAX_ONNX_RUN_TOKENS = 512;

let ortLoad: Promise<typeof OrtWeb> | null = null;

/**
 * onnxruntime-web, loaded on first use. Vite serves it as published (optimizeDeps.exclude), so its
 * bundle finds ort-wasm-simd-threaded.jsep.wasm next to itself (new URL(…, import.meta.url)), offline.
 */
function loadOrt(): Promise<typeof OrtWeb> {
  ortLoad ??= import('onnxruntime-web').then((ort) => {
    ort.env.logLevel = 'error';
    return ort;
  }).catch((e: unknown) => {
    ortLoad = null;
    throw new Error(`onnxruntime-web could not be loaded: ${(e as Error).message}`);
  });
  return ortLoad;
}

interface Opened {
  session: OrtWeb.InferenceSession;
  provider: OnnxProvider;
  /** Why the WebGPU execution provider did not run (WASM ran instead). */
  fallback?: string;
}

/** A session of `model` on `provider`; WebGPU falls back to WASM, saying why. */
async function openSession(ort: typeof OrtWeb, model: Uint8Array, external: OrtWeb.InferenceSession.SessionOptions['externalData'], provider: OnnxProvider): Promise<Opened> {
  const options = (ep: OnnxProvider): OrtWeb.InferenceSession.SessionOptions => ({
    executionProviders: [ep], logSeverityLevel: 3, ...(external ? { externalData: external } : {}), // 3: errors only
  });
  let fallback: string | undefined;
  if (provider === 'webgpu') {
    if (!('gpu' in navigator) || !navigator.gpu) fallback = 'WebGPU is missing in this browser (no navigator.gpu)';
    else {
      try {
        return { session: await ort.InferenceSession.create(model, options('webgpu')), provider: 'webgpu' };
      } catch (e) {
        fallback = `the WebGPU execution provider failed: ${(e as Error).message}`;
      }
    }
  }
  return { session: await ort.InferenceSession.create(model, options('wasm')), provider: 'wasm', ...(fallback ? { fallback } : {}) };
}

const side = (ids: number[], text: string, newTokens: number, ms: number): GreedyRun => ({
  ids, text, newTokens, ms, tokensPerSecond: ms > 0 ? newTokens / (ms / 1000) : 0,
});

export async function handleRunOnnx(id: number, req: Omit<CommandBody<'runOnnx'>, 'type'>): Promise<void> {
  let finish!: () => void;
  const current: Generation = { id, stop: false, done: new Promise<void>((r) => (finish = r)) };
  let owns = false;
  try {
    const loaded = requireModel();
    const tokenizer = requireTokenizer(loaded);
    refuseWhileTraining('Running the export');
    if (engine.generation) throw new EngineRefusal('A generation is running: wait for it to finish first.', 'busy');
    const { prompt, maxTokens, dtype, provider } = req;
    if (!(Number.isInteger(maxTokens) && maxTokens >= 1 && maxTokens <= MAX_ONNX_RUN_TOKENS)) {
      throw new EngineRefusal(`The token count must be a whole number from 1 to ${MAX_ONNX_RUN_TOKENS}, got ${maxTokens}.`, 'bad-options');
    }
    engine.generation = current;
    owns = true;
    post({ type: 'progress', id, stage: 'export', message: `Exporting the model to ONNX (${dtype})` });
    const folder = await onnxFolder(loaded, dtype);
    const [modelEntry, dataEntry] = [...folder].filter(([name]) => name.startsWith('onnx/'));
    const model = modelEntry![1] as Uint8Array;
    const external = dataEntry ? [{ path: dataEntry[0].slice('onnx/'.length), data: joinChunks(dataEntry[1]) }] : undefined;

    post({ type: 'progress', id, stage: 'prefill', message: 'Generating with the engine' });
    const opts = { prompt, maxTokens, temperature: 0, topP: 1, seed: 0, shouldStop: () => current.stop };
    const t0 = performance.now();
    const ours = await generate(loaded.model, tokenizer, opts);
    const engineMs = performance.now() - t0;
    const promptIds = tokenizer.encode(prompt, { bos: true });

    post({ type: 'progress', id, stage: 'uploading', message: `Loading the ONNX model into onnxruntime-web (${provider === 'webgpu' ? 'WebGPU' : 'WASM'})` });
    const ort = await loadOrt();
    const t1 = performance.now();
    const opened = await openSession(ort, model, external, provider);
    const loadMs = performance.now() - t1;
    let theirs: OnnxGreedyResult;
    try {
      post({ type: 'progress', id, stage: 'prefill', message: `Generating with onnxruntime-web (${opened.provider === 'webgpu' ? 'WebGPU' : 'WASM'})` });
      theirs = await onnxGreedy(ort, opened.session, loaded.model.config, promptIds, maxTokens, dtype === 'fp16' ? 'float16' : 'float32', () => current.stop);
    } finally {
      await opened.session.release();
    }
    if (current.stop) throw new EngineRefusal('Stopped before both generations finished.', 'cancelled');
    const engineSide = side(ours.ids, ours.text, ours.ids.length - promptIds.length, engineMs);
    const onnxSide = side(theirs.ids, tokenizer.decode(theirs.ids), theirs.newTokens, theirs.ms);
    post({
      type: 'onnxRan', id, engine: engineSide, onnx: onnxSide, provider: opened.provider, ...(opened.fallback ? { fallback: opened.fallback } : {}),
      loadMs, modelBytes: model.byteLength, identical: ours.ids.length === theirs.ids.length && ours.ids.every((t, i) => t === theirs.ids[i]),
    });
  } catch (e) {
    post(errorEvent(id, e));
  } finally {
    if (owns && engine.generation === current) engine.generation = null;
    finish();
  }
}
