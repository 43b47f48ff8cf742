/**
 * Greedy generation tokens/s: the engine (WebGPU kernels) against the same model exported to ONNX
 * (src/export/onnx-folder.ts's model.onnx, fp32) run by onnxruntime-web's WASM build in Node, on the
 * same prompt and the same number of new tokens, prompt included in the time. A row is refused when
 * the two do not generate the same ids (then the speeds would not be of the same work).
 */
import { readAllWeights } from '../src/io/weight-source.ts';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { onnxGreedy } from '../src/export/onnx-decode.ts';
import { readModelPath } from '../src/io/fs-node.ts';
import { writeOnnxModel } from '../src/io/onnx/model-file.ts';
import { generate } from '../src/model/generate.ts';
import { LlamaModel } from '../src/model/llama.ts';
import { median, type BenchContext, type BenchRow } from './harness.ts';

const BUILT_IN = fileURLToPath(new URL('../public/models/tinyworld/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../shared/fixtures/stories260K/', import.meta.url));
const TOKENS = 60;

const MODELS = [
  { label: 'built-in model', model: BUILT_IN, tokenizer: undefined, prompt: 'Zara lives in the' },
  { label: 'stories260K', model: `${FIXTURES}stories260K.bin`, tokenizer: `${FIXTURES}tok512.bin`, prompt: 'Once upon a time' },
];

export async function onnxGenerateBench(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const m of MODELS) {
    const name = `greedy generation tokens/s, engine vs onnxruntime-web WASM in Node (${m.label}, ${TOKENS} tokens, fp32 export)`;
    if (!ctx.wanted(name)) continue;
    ctx.log(`onnx generate: ${m.label}`);
    const { base, tokenizer } = await readModelPath(m.model, m.tokenizer);
    const weights = await readAllWeights(base);
    const model = LlamaModel.upload(ctx.gpu, weights);
    const session = await ort.InferenceSession.create(writeOnnxModel(weights, { dtype: 'float32' }).model, { executionProviders: ['wasm'] });
    try {
      const promptIds = tokenizer!.encode(m.prompt, { bos: true });
      const opts = { prompt: m.prompt, maxTokens: TOKENS, temperature: 0, topP: 1, seed: 0 };
      const ours: number[] = [];
      const peer: number[] = [];
      for (let i = 0; i < Math.min(ctx.samples, 5) + 1; i++) {
        const t0 = performance.now();
        const e = await generate(model, tokenizer!, opts);
        const engineMs = performance.now() - t0;
        const o = await onnxGreedy(ort, session, weights.config, promptIds, TOKENS);
        if (e.ids.join() !== o.ids.join()) throw new Error(`${m.label}: onnxruntime-web's greedy ids differ from the engine's (${o.ids.length} vs ${e.ids.length} ids)`);
        const n = e.ids.length - promptIds.length;
        if (i === 0) continue; // warm-up: pipelines compiled, WASM kernels prepared
        ours.push((n * 1000) / engineMs);
        peer.push((n * 1000) / o.ms);
      }
      const [a, b] = [median(ours), median(peer)];
      rows.push({ name, ours: a, peer: b, unit: 'tokens/s', ratio: a / b, target: 'reported (higher is better)' });
    } finally {
      await session.release();
      model.dispose();
    }
  }
  return rows;
}
