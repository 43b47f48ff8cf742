/**
 * The LLaMA decoder as an ONNX graph in optimum's layout (what transformers.js and onnxruntime-web
 * load): inputs input_ids, attention_mask, position_ids, past_key_values.{i}.key/value; outputs
 * logits and present.{i}.key/value. Standard ONNX ops only (opset 17). Weights are stored in the
 * chosen dtype; the arithmetic is float32 (float16 weights and cache are cast up where they are used).
 *
 * Shapes: B batch, S new tokens, P past tokens, T = P + S, H heads, KV key/value heads, G = H/KV,
 * hd head size, D model width, F FFN width, V vocabulary.
 */
import { headDim, type LlamaConfig } from '../../schema/llama-config.ts';
import {
  attentionNormName, EMBED_NAME, expectedTensors, ffnNormName, FINAL_NORM_NAME, LINEAR_MODULES, LM_HEAD_NAME, linearName, type LlamaWeights,
} from '../../schema/tensors.ts';
import { GraphBuilder } from './graph.ts';
import { DataType, elemTypeCode, floatTensor, valueInfo, type ElemType } from './proto.ts';

/** Opset of the default ONNX domain the graph is written for. */
export const OPSET = 17;

export function pastName(layer: number, kv: 'key' | 'value'): string {
  return `past_key_values.${layer}.${kv}`;
}
export function presentName(layer: number, kv: 'key' | 'value'): string {
  return `present.${layer}.${kv}`;
}

/** Build the decoder graph of `weights` (HF layout) with weights, cache and logits in `dtype`. */
export function llamaDecoderGraph(weights: LlamaWeights, dtype: ElemType): GraphBuilder {
  const c = weights.config;
  const g = new GraphBuilder();
  const f32 = DataType.FLOAT;
  const io = elemTypeCode(dtype);
  const hd = headDim(c);
  const G = c.nHeads / c.nKvHeads;

  // ---- inputs and outputs -------------------------------------------------------------------
  g.inputs.push(valueInfo('input_ids', DataType.INT64, ['batch_size', 'sequence_length']));
  g.inputs.push(valueInfo('attention_mask', DataType.INT64, ['batch_size', 'total_sequence_length']));
  g.inputs.push(valueInfo('position_ids', DataType.INT64, ['batch_size', 'sequence_length']));
  for (let l = 0; l < c.nLayers; l++) {
    for (const kv of ['key', 'value'] as const) g.inputs.push(valueInfo(pastName(l, kv), io, ['batch_size', c.nKvHeads, 'past_sequence_length', hd]));
  }
  g.outputs.push(valueInfo('logits', io, ['batch_size', 'sequence_length', c.vocabSize]));
  for (let l = 0; l < c.nLayers; l++) {
    for (const kv of ['key', 'value'] as const) g.outputs.push(valueInfo(presentName(l, kv), io, ['batch_size', c.nKvHeads, 'total_sequence_length', hd]));
  }

  /** A stored weight, as float32 inside the graph. */
  const weight = (name: string, dims: number[], data: Float32Array): string => {
    const stored = g.initializer(floatTensor(name, dims, data, dtype));
    return dtype === 'float32' ? stored : g.op1('Cast', [stored], { to: f32 }, 'cast_weight');
  };
  const tensor = (name: string): Float32Array => {
    const t = weights.tensors.get(name);
    if (!t) throw new Error(`ONNX export: the weights have no tensor "${name}"`);
    return t.data;
  };
  /** Linear weight W (out, in) stored transposed as (in, out), so y = MatMul(x, Wᵀ). */
  const linearT = (name: string, out: number, inF: number): string => weight(name, [inF, out], transpose(tensor(name), out, inF));
  const scalar = (name: string, v: number): string => g.initializer(floatTensor(name, [], Float32Array.of(v), 'float32'));

  // ---- shared values: sizes, RoPE tables, the attention mask ----------------------------------
  const ids = 'input_ids';
  const shapeIds = g.op1('Shape', [ids]); // [B, S]
  const S = g.op1('Gather', [shapeIds, g.ints([1], [])], { axis: 0 }, 'S'); // scalar
  const T = g.op1('Gather', [g.op1('Shape', ['attention_mask']), g.ints([1], [])], { axis: 0 }, 'T');
  const P = g.op1('Sub', [T, S], {}, 'P');

  const { cos, sin } = ropeTables(c);
  const half = hd / 2;
  const cosT = g.initializer(floatTensor('rope.cos', [c.maxSeqLen, half], cos, 'float32'));
  const sinT = g.initializer(floatTensor('rope.sin', [c.maxSeqLen, half], sin, 'float32'));
  const ropeAt = (table: string): string => {
    const h = g.op1('Gather', [table, 'position_ids'], { axis: 0 }); // (B, S, hd/2)
    const full = g.op1('Concat', [h, h], { axis: -1 }); // (B, S, hd): the two halves share angles
    return g.op1('Unsqueeze', [full, g.ints([1])]); // (B, 1, S, hd)
  };
  const cosB = ropeAt(cosT);
  const sinB = ropeAt(sinT);

  // allowed[b, 0, 0, i, j] = key j ≤ query i's place P + i, and attention_mask[b, j] = 1
  const one = g.ints([1], []);
  const zero = g.ints([0], []);
  const keyPos = g.op1('Range', [zero, T, one], {}, 'key_pos'); // (T)
  const queryPos = g.op1('Range', [P, T, one], {}, 'query_pos'); // (S)
  const causal = g.op1('LessOrEqual', [g.op1('Unsqueeze', [keyPos, g.ints([0])]), g.op1('Unsqueeze', [queryPos, g.ints([1])])]); // (S, T)
  const padded = g.op1('Cast', [g.op1('Unsqueeze', ['attention_mask', g.ints([1, 2, 3])])], { to: DataType.BOOL }); // (B, 1, 1, 1, T)
  const allowed = g.op1('And', [causal, padded], {}, 'allowed'); // (B, 1, 1, S, T)
  const maskBias = g.op1('Where', [allowed, scalar('mask.zero', 0), scalar('mask.min', -3.4028234663852886e38)], {}, 'mask_bias');

  const eps = scalar('rms.eps', c.normEps);
  const rmsnorm = (x: string, w: string): string => {
    const ms = g.op1('ReduceMean', [g.op1('Mul', [x, x])], { axes: [-1], keepdims: 1 }); // (B, S, 1)
    const inv = g.op1('Reciprocal', [g.op1('Sqrt', [g.op1('Add', [ms, eps])])]);
    return g.op1('Mul', [g.op1('Mul', [x, inv]), w], {}, 'rmsnorm');
  };
  const halves = g.ints([half, half]);
  const rope = (x: string): string => {
    // (x · cos) + (rotate_half(x) · sin), rotate_half([a, b]) = [−b, a] per head
    const [a, b] = g.op('Split', [x, halves], { axis: -1 }, 'rope_split', 2) as [string, string];
    const rotated = g.op1('Concat', [g.op1('Neg', [b]), a], { axis: -1 });
    return g.op1('Add', [g.op1('Mul', [x, cosB]), g.op1('Mul', [rotated, sinB])], {}, 'rope');
  };
  const scale = scalar('attn.scale', 1 / Math.sqrt(hd));

  // ---- the blocks ---------------------------------------------------------------------------
  let x = g.op1('Gather', [weight(EMBED_NAME, [c.vocabSize, c.dim], tensor(EMBED_NAME)), ids], { axis: 0 }, 'embed'); // (B, S, D)
  const shapes = expectedTensors(c);
  for (let l = 0; l < c.nLayers; l++) {
    const W: Record<string, string> = {};
    for (const m of LINEAR_MODULES) {
      const [out, inF] = shapes.get(linearName(l, m))! as [number, number];
      W[m] = linearT(linearName(l, m), out, inF);
    }
    const normIn = weight(attentionNormName(l), [c.dim], tensor(attentionNormName(l)));
    const normPost = weight(ffnNormName(l), [c.dim], tensor(ffnNormName(l)));

    const h = rmsnorm(x, normIn);
    const heads = (y: string, n: number): string => g.op1('Transpose', [g.op1('Reshape', [y, g.ints([0, 0, n, hd])])], { perm: [0, 2, 1, 3] }); // (B, n, S, hd)
    const q = rope(heads(g.op1('MatMul', [h, W.q!], {}, 'q'), c.nHeads)); // (B, H, S, hd)
    const kNew = rope(heads(g.op1('MatMul', [h, W.k!], {}, 'k'), c.nKvHeads)); // (B, KV, S, hd)
    const vNew = heads(g.op1('MatMul', [h, W.v!], {}, 'v'), c.nKvHeads);
    const past = (name: string): string => (dtype === 'float32' ? name : g.op1('Cast', [name], { to: f32 }));
    const k = g.op1('Concat', [past(pastName(l, 'key')), kNew], { axis: 2 }, 'k_all'); // (B, KV, T, hd)
    const v = g.op1('Concat', [past(pastName(l, 'value')), vNew], { axis: 2 }, 'v_all');
    for (const [name, t] of [[presentName(l, 'key'), k], [presentName(l, 'value'), v]] as const) {
      if (dtype === 'float32') g.opNamed('Identity', [t], name);
      else g.opNamed('Cast', [t], name, { to: io });
    }
    // Grouped-query attention without copying K, V: q as (B, KV, G, S, hd) against k, v as (B, KV, 1, T, hd).
    const qg = g.op1('Reshape', [q, g.ints([0, c.nKvHeads, G, -1, hd])]);
    const kT = g.op1('Transpose', [g.op1('Unsqueeze', [k, g.ints([2])])], { perm: [0, 1, 2, 4, 3] }); // (B, KV, 1, hd, T)
    const scores = g.op1('Add', [g.op1('Mul', [g.op1('MatMul', [qg, kT]), scale]), maskBias], {}, 'scores'); // (B, KV, G, S, T)
    const probs = g.op1('Softmax', [scores], { axis: -1 });
    const ctx = g.op1('MatMul', [probs, g.op1('Unsqueeze', [v, g.ints([2])])]); // (B, KV, G, S, hd)
    const merged = g.op1('Reshape', [g.op1('Transpose', [g.op1('Reshape', [ctx, g.ints([0, c.nHeads, -1, hd])])], { perm: [0, 2, 1, 3] }), g.ints([0, 0, c.dim])]); // (B, S, D)
    x = g.op1('Add', [x, g.op1('MatMul', [merged, W.o!], {}, 'o')], {}, 'residual');

    const h2 = rmsnorm(x, normPost);
    const gate = g.op1('MatMul', [h2, W.gate!], {}, 'gate'); // (B, S, F)
    const act = g.op1('Mul', [g.op1('Mul', [gate, g.op1('Sigmoid', [gate])], {}, 'silu'), g.op1('MatMul', [h2, W.up!], {}, 'up')]);
    x = g.op1('Add', [x, g.op1('MatMul', [act, W.down!], {}, 'down')], {}, 'residual');
  }

  // ---- head: Gemm against (V, D) with transB, so a tied head shares the embedding initializer --
  const hidden = rmsnorm(x, weight(FINAL_NORM_NAME, [c.dim], tensor(FINAL_NORM_NAME)));
  const headW = c.tiedEmbeddings ? g.initializers.find((t) => t.name === EMBED_NAME)!.name! : g.initializer(floatTensor(LM_HEAD_NAME, [c.vocabSize, c.dim], tensor(LM_HEAD_NAME), dtype));
  const headF = dtype === 'float32' ? headW : g.op1('Cast', [headW], { to: f32 }, 'cast_weight');
  const flat = g.op1('Reshape', [hidden, g.ints([-1, c.dim])]); // (B·S, D)
  const logits2 = g.op1('Gemm', [flat, headF], { transB: 1 }, 'head'); // (B·S, V)
  const outShape = g.op1('Concat', [shapeIds, g.ints([c.vocabSize])], { axis: 0 }); // [B, S, V]
  const logits = g.op1('Reshape', [logits2, outShape]);
  if (dtype === 'float32') g.opNamed('Identity', [logits], 'logits');
  else g.opNamed('Cast', [logits], 'logits', { to: io });
  return g;
}

/** cos and sin of pos · θ^(−2j/hd) for every position and j < hd/2 (HF's rotate-half RoPE). */
export function ropeTables(c: LlamaConfig): { cos: Float32Array; sin: Float32Array } {
  const half = headDim(c) / 2;
  const cos = new Float32Array(c.maxSeqLen * half);
  const sin = new Float32Array(c.maxSeqLen * half);
  for (let p = 0; p < c.maxSeqLen; p++) {
    for (let j = 0; j < half; j++) {
      const a = p * c.ropeTheta ** (-(2 * j) / headDim(c));
      cos[p * half + j] = Math.cos(a);
      sin[p * half + j] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/** (rows, cols) row-major → (cols, rows). */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[k * rows + r] = a[r * cols + k]!;
  return out;
}
