/** Running an exported decoder in onnxruntime: the decoder's feeds live in src/export/onnx-decode.ts; the tests' fixed ids here. */
import type { LlamaConfig } from '../../src/schema/llama-config.ts';

export { runDecoder, type Past } from '../../src/export/onnx-decode.ts';

/** A fixed 32-token sequence inside the vocabulary (BOS first). */
export function testIds(c: LlamaConfig, n = 32): number[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? c.bosId : (i * 37 + 11) % c.vocabSize));
}
