/** Elementwise kernels of the LLaMA block: the SwiGLU gate and the residual add. */
import addCode from '../../shaders/add.wgsl?raw';
import swigluCode from '../../shaders/swiglu.wgsl?raw';
import swigluBwdCode from '../../shaders/swiglu.bwd.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation } from '../gpu/kernel.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';

export const swigluKernel = defineKernel({
  name: 'swiglu',
  code: swigluCode,
  uniforms: { N: 'u32' },
  inputs: ['gate', 'up'],
  outputs: ['out'],
  workgroupSize: 256,
  dispatch: perInvocation((u) => u.N),
});

export const addKernel = defineKernel({
  name: 'add',
  code: addCode,
  uniforms: { N: 'u32' },
  inputs: ['y'],
  outputs: ['x'],
  workgroupSize: 256,
  dispatch: perInvocation((u) => u.N),
});

function sameSize(what: string, ...ts: Tensor[]): number {
  const N = numel(ts[0]!.shape);
  for (const t of ts) {
    if (numel(t.shape) !== N) throw new Error(`${what}: ${ts.map((u) => `${u.label} (${u.shape})`).join(', ')} differ in size`);
  }
  return N;
}

/** Record out = silu(gate) ⊙ up = gate / (1 + exp(−gate)) ⊙ up, elementwise. */
export function swiglu(gpu: Gpu, gate: Tensor, up: Tensor, out: Tensor): void {
  const N = sameSize('swiglu', gate, up, out);
  gpu.dispatch(swigluKernel, { uniforms: { N }, bindings: { gate, up, out } });
}

/** Record x += y, elementwise (x is bound only as the output). */
export function addInPlace(gpu: Gpu, x: Tensor, y: Tensor): void {
  const N = sameSize('addInPlace', x, y);
  gpu.dispatch(addKernel, { uniforms: { N }, bindings: { x, y } });
}

// ---- backward ---------------------------------------------------------------------------------

export const swigluBackwardKernel = defineKernel({
  name: 'swiglu.bwd',
  code: swigluBwdCode,
  uniforms: { N: 'u32' },
  inputs: ['gate', 'up', 'dout'],
  outputs: ['dgate', 'dup'],
  workgroupSize: 256,
  dispatch: perInvocation((u) => u.N),
});

/**
 * Record the SwiGLU backward for out = silu(g) ⊙ u (all tensors the same size; dgate, dup OVERWRITTEN):
 *   dup = dout ⊙ silu(g);  dgate = dout ⊙ u ⊙ σ(g)·(1 + g·(1 − σ(g))). Stable for any finite g.
 */
export function swigluBackward(gpu: Gpu, gate: Tensor, up: Tensor, dout: Tensor, dgate: Tensor, dup: Tensor): void {
  const N = sameSize('swigluBackward', gate, up, dout, dgate, dup);
  gpu.dispatch(swigluBackwardKernel, { uniforms: { N }, bindings: { gate, up, dout, dgate, dup } });
}
