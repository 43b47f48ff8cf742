/**
 * The ONNX protobuf messages, from the onnx-proto package (protobufjs code generated from onnx.proto),
 * and the initializers the exporter needs: float32, float16 and int64.
 */
import onnxPkg from 'onnx-proto';
import { toHalfBits } from '../../gpu/half.ts';

export const onnx = onnxPkg.onnx;
export type TensorProto = onnxPkg.onnx.ITensorProto;
export type NodeProto = onnxPkg.onnx.INodeProto;
export type ValueInfoProto = onnxPkg.onnx.IValueInfoProto;
export type AttributeProto = onnxPkg.onnx.IAttributeProto;

export const DataType = onnx.TensorProto.DataType;
/** Element types the exported graphs use. */
export type ElemType = 'float32' | 'float16';

export const elemTypeCode = (t: ElemType): number => (t === 'float32' ? DataType.FLOAT : DataType.FLOAT16);

/** A dense initializer of `type` from float32 values (rounded to float16 when asked). */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array, type: ElemType): TensorProto {
  const n = dims.reduce((a, d) => a * d, 1);
  if (n !== data.length) throw new Error(`ONNX initializer "${name}": [${dims.join(', ')}] needs ${n} values, got ${data.length}`);
  const raw = type === 'float32' ? data : toHalfBits(data, 'f16'); // round to nearest even
  return { name, dims: [...dims], dataType: elemTypeCode(type), rawData: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) };
}

/** An int64 initializer (shapes, axes, indices). */
export function int64Tensor(name: string, values: readonly number[], dims: readonly number[] = [values.length]): TensorProto {
  const raw = new BigInt64Array(values.map((v) => BigInt(v)));
  return { name, dims: [...dims], dataType: DataType.INT64, rawData: new Uint8Array(raw.buffer) };
}

/** A graph input or output: `dims` entries are fixed sizes or symbolic names ("batch_size", ...). */
export function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): ValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}
