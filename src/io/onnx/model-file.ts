/**
 * The exported decoder as ONNX files: model.onnx (model_fp16.onnx for float16) and, when the weights
 * would push the protobuf past its 2 GB limit, model.onnx_data holding them (ONNX external data).
 */
import { ModelFileError } from '../errors.ts';
import type { LlamaConfig } from '../../schema/llama-config.ts';
import type { LlamaWeights } from '../../schema/tensors.ts';
import { llamaWeightCount } from '../weight-count.ts';
import { llamaDecoderGraph, OPSET } from './llama-graph.ts';
import { onnx, type ElemType, type TensorProto } from './proto.ts';

/** A protobuf message cannot exceed 2 GiB − 1 bytes. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;
/** Room kept under the limit for the graph itself (nodes, names, shapes). */
const GRAPH_ROOM = 16 << 20;
/** External tensors start on page boundaries so onnxruntime can map them. */
const EXTERNAL_ALIGN = 4096;
/** Tensors smaller than this stay inline even with external data (shapes, axes, scalars). */
const EXTERNAL_MIN_BYTES = 1024;

export interface OnnxFiles {
  /** "model.onnx" or "model_fp16.onnx". */
  modelName: string;
  model: Uint8Array;
  /** External data file (e.g. "model.onnx_data") as chunks written one after another. */
  external?: { name: string; chunks: Uint8Array[] };
}

export interface OnnxWriteOptions {
  dtype: ElemType;
  /** Write weights to a separate file when they do not fit one (default true); false refuses instead. */
  allowExternalData?: boolean;
  /** Largest single file (for tests; default: the protobuf limit). */
  maxFileBytes?: number;
}

export const onnxModelName = (dtype: ElemType): string => (dtype === 'float32' ? 'model.onnx' : 'model_fp16.onnx');

const fileLimit = (o: OnnxWriteOptions): number => Math.min(o.maxFileBytes ?? PROTOBUF_LIMIT, PROTOBUF_LIMIT);
const graphRoom = (limit: number): number => Math.min(GRAPH_ROOM, limit / 2);

function tooBig(weightBytes: number, o: OnnxWriteOptions): ModelFileError {
  const gib = (n: number): string => (n / 2 ** 30).toFixed(2);
  return new ModelFileError(
    `onnx/${onnxModelName(o.dtype)}`,
    `the weights take ${gib(weightBytes)} GiB, more than one ONNX file holds (${gib(fileLimit(o))} GiB) without external data`,
    'too-big',
  );
}

/**
 * Refuse, from the config alone (nothing built or read), a model whose weights in `o.dtype` cannot fit
 * one ONNX file; a no-op when external data is allowed.
 */
export function checkOneOnnxFile(c: LlamaConfig, o: OnnxWriteOptions): void {
  if (o.allowExternalData !== false) return;
  const bytes = llamaWeightCount(c) * (o.dtype === 'float32' ? 4 : 2); // a lower bound of the initializers' bytes
  if (bytes + graphRoom(fileLimit(o)) > fileLimit(o)) throw tooBig(bytes, o);
}

/** Build and serialise the decoder of `weights`. */
export function writeOnnxModel(weights: LlamaWeights, o: OnnxWriteOptions): OnnxFiles {
  checkOneOnnxFile(weights.config, o);
  const g = llamaDecoderGraph(weights, o.dtype);
  const modelName = onnxModelName(o.dtype);
  const limit = fileLimit(o);
  const weightBytes = g.initializers.reduce((a, t) => a + (t.rawData?.byteLength ?? 0), 0);
  let external: OnnxFiles['external'];
  if (weightBytes + graphRoom(limit) > limit) {
    if (o.allowExternalData === false) throw tooBig(weightBytes, o);
    external = { name: `${modelName}_data`, chunks: moveToExternal(g.initializers, `${modelName}_data`) };
  }
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'subspace',
    graph: { name: 'main_graph', node: g.nodes, initializer: g.initializers, input: g.inputs, output: g.outputs },
  });
  const bytes = onnx.ModelProto.encode(model).finish();
  if (bytes.byteLength > limit) throw new ModelFileError(`onnx/${modelName}`, `the graph alone takes ${bytes.byteLength} bytes, more than ${limit}`, 'too-big');
  return { modelName, model: bytes, external };
}

/** Point every large initializer at `location` (offsets aligned to EXTERNAL_ALIGN); returns the file's chunks. */
function moveToExternal(initializers: TensorProto[], location: string): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of initializers) {
    const raw = t.rawData as Uint8Array | undefined;
    if (!raw || raw.byteLength < EXTERNAL_MIN_BYTES) continue;
    const pad = (EXTERNAL_ALIGN - (offset % EXTERNAL_ALIGN)) % EXTERNAL_ALIGN;
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    chunks.push(raw);
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.byteLength) },
    ];
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.rawData = undefined;
    offset += raw.byteLength;
  }
  return chunks;
}
