/** A small ONNX graph builder: nodes in order, initializers, inputs and outputs, fresh value names. */
import { int64Tensor, type AttributeProto, type NodeProto, type TensorProto, type ValueInfoProto, onnx } from './proto.ts';

type AttrValue = number | number[] | string | TensorProto;

function attribute(name: string, v: AttrValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  return { name, type: T.TENSOR, t: v };
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  private count = 0;
  private readonly consts = new Map<string, string>();

  /** Append one node; returns its output names (`outputs` of them, named after `hint`). */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, hint = opType, outputs = 1): string[] {
    const names = Array.from({ length: outputs }, (_, k) => `/${hint}_${this.count}${outputs > 1 ? `_${k}` : ''}`);
    this.nodes.push({
      name: `/${hint}_${this.count++}`, opType, input: inputs, output: names,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return names;
  }

  /** One-output node. */
  op1(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, hint = opType): string {
    return this.op(opType, inputs, attrs, hint)[0]!;
  }

  /** A node whose single output has a given name (graph outputs). */
  opNamed(opType: string, inputs: string[], output: string, attrs: Record<string, AttrValue> = {}): string {
    this.nodes.push({
      name: `/${opType}_${this.count++}`, opType, input: inputs, output: [output],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return output;
  }

  initializer(t: TensorProto): string {
    this.initializers.push(t);
    return t.name!;
  }

  /** A shared int64 constant (shapes, axes), one initializer per distinct value. */
  ints(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `${dims.join('x')}:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `const_i64_${this.consts.size}`;
      this.consts.set(key, name);
      this.initializers.push(int64Tensor(name, values, dims));
    }
    return name;
  }
}
