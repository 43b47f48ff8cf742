/**
 * MoRA kernels: compress, the fused apply + decompress forward, the backward (fold, dM ∥ du, dx) and
 * the dense ΔW. Index maps and formulas: src/reference/mora.ts (the float64 reference) and each
 * shader's header; `MoraGeometry` (from the reference) carries the shape constants.
 *
 * One module, x (rows, in) → y (rows, out); the caller records the base products with `matmul`:
 *   forward   y = x·Wᵀ (matmul);  u = compress(x);  y += decompress(M·u)          matmul + 2 dispatches
 *   backward  dx (+)= dy·W (matmul);  dz = decompressᵀ(dy);  dM += dzᵀ·u and du = dz·M
 *             (one dispatch);  dx += compressᵀ(du)                                  matmul + 3 dispatches
 * Measured on SwiftShader: a dispatch costs ~0.5–1 ms whatever its size, and integer division in
 * loops is slow; a single fused forward that recomputed u inside the M loop (and a backward that
 * refolded dz per output) was several times slower than these passes, so loops stay division-free.
 * No kernel uses barriers or float atomics: every result is deterministic.
 */
import compressCode from '../../shaders/mora.compress.wgsl?raw';
import dxCode from '../../shaders/mora.bwd.dx.wgsl?raw';
import foldCode from '../../shaders/mora.bwd.fold.wgsl?raw';
import gradsCode from '../../shaders/mora.bwd.grads.wgsl?raw';
import deltaCode from '../../shaders/mora.delta.wgsl?raw';
import fwdCode from '../../shaders/mora.fwd.wgsl?raw';
import type { Gpu } from '../gpu/gpu.ts';
import { defineKernel, perInvocation } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { MoraGeometry } from '../schema/mora.ts';

/** The row-per-grid-y kernels take the row from the grid (no division); y is capped at 65535. */
function gridRows(rows: number): number {
  if (rows > 65535) throw new Error(`MoRA kernels take at most 65535 rows per call, got ${rows}`);
  return rows;
}

/** Sharing: one invocation per m < r̂; ROTATION: one per pair (chunk i < nU, l < r̂/2); y: the row. */
export const moraCompressKernel = defineKernel({
  name: 'mora.compress', code: compressCode,
  uniforms: { inF: 'u32', rHat: 'u32', nU: 'u32', nB: 'u32', stepMod: 'u32', rows: 'u32' }, inputs: ['x', 'rot'], outputs: ['u'],
  workgroupSize: 64,
  dispatch: (u, [wg], c) => [Math.ceil((c.ROTATION ? (u.nU * u.rHat) / 2 : u.rHat) / wg), gridRows(u.rows)],
});
/** 4×4 blocks of (chunk, k) per invocation. */
export const moraForwardKernel = defineKernel({
  name: 'mora.fwd', code: fwdCode, uniforms: { chunks: 'u32', rHat: 'u32', nU: 'u32', out: 'u32' }, inputs: ['u', 'M'], outputs: ['y'],
  workgroupSize: [8, 8], dispatch: (u, [wx, wy]) => [Math.ceil(u.rHat / (4 * wx)), Math.ceil(u.chunks / (4 * wy))],
});
/** One invocation per element of dz (x: f < width, y: the row). */
export const moraFoldKernel = defineKernel({
  name: 'mora.bwd.fold', code: foldCode, uniforms: { width: 'u32', out: 'u32', rows: 'u32' }, inputs: ['dy'], outputs: ['dz'],
  workgroupSize: 64, dispatch: (u, [wg]) => [Math.ceil(u.width / wg), gridRows(u.rows)],
});
/** 4×4 blocks per invocation; z = 0 dM (r̂, r̂), z = 1 du (chunks, r̂). */
export const moraGradsKernel = defineKernel({
  name: 'mora.bwd.grads', code: gradsCode, uniforms: { chunks: 'u32', rHat: 'u32' }, inputs: ['dz', 'u', 'M'], outputs: ['dM', 'du'],
  workgroupSize: [4, 4], dispatch: (u, [wx, wy]) => [Math.ceil(u.rHat / (4 * wx)), Math.ceil(Math.max(u.rHat, u.chunks) / (4 * wy)), 2],
});
/** One invocation per element of dx (x: q < in, y: the row). */
export const moraDXKernel = defineKernel({
  name: 'mora.bwd.dx', code: dxCode,
  uniforms: { inF: 'u32', rHat: 'u32', width: 'u32', span: 'u32', inDiv: 'u32', inMod: 'u32', rows: 'u32' },
  inputs: ['du', 'rot'], outputs: ['dx'],
  workgroupSize: 64, dispatch: (u, [wg]) => [Math.ceil(u.inF / wg), gridRows(u.rows)],
});
export const moraDeltaKernel = defineKernel({
  name: 'mora.delta', code: deltaCode,
  uniforms: { out: 'u32', inF: 'u32', rHat: 'u32', width: 'u32', span: 'u32' }, inputs: ['M', 'rot'], outputs: ['dW'],
  workgroupSize: 64, dispatch: perInvocation((u) => u.out * u.inF),
});

/**
 * Type 6 reads its cos/sin table `rot` (nU, r̂) (moraRotationTable); type 1 never reads that
 * binding, so `fallback` (any read-only input of the same dispatch) fills the slot.
 */
function rotOr(g: MoraGeometry, rot: Tensor | null, fallback: Tensor): Tensor {
  if (g.type === 6 && !rot) throw new Error('MoRA type 6 needs its rotation table (moraRotationTable)');
  return rot ?? fallback;
}

const rotation = (g: MoraGeometry) => (g.type === 6 ? 1 : 0);

/** Record u (rows·nU, r̂) = compress(x), x (rows, in). */
export function moraCompress(gpu: Gpu, g: MoraGeometry, x: Tensor, rot: Tensor | null, u: Tensor, rows: number): void {
  gpu.dispatch(moraCompressKernel, {
    uniforms: { inF: g.inF, rHat: g.rHat, nU: g.nU, nB: g.nB, stepMod: g.rHat % g.inF, rows },
    bindings: { x, rot: rotOr(g, rot, x), u },
    constants: { ROTATION: rotation(g) },
  });
}

/** Record y (rows, out) += decompress(M·u) (or = without `accumulate`), M (r̂, r̂), u from moraCompress. */
export function moraApply(gpu: Gpu, g: MoraGeometry, u: Tensor, M: Tensor, y: Tensor, rows: number, accumulate = true): void {
  const chunks = rows * g.nU;
  gpu.dispatch(moraForwardKernel, {
    uniforms: { chunks, rHat: g.rHat, nU: g.nU, out: g.out },
    bindings: { u, M, y },
    constants: { ACCUMULATE: accumulate ? 1 : 0 },
  });
}

/** Record the MoRA branch's forward: y += decompress(M·compress(x)), keeping u (rows·nU, r̂) for the backward. */
export function moraForward(
  gpu: Gpu, g: MoraGeometry, x: Tensor, M: Tensor, rot: Tensor | null, y: Tensor, u: Tensor, rows: number, accumulate = true,
): void {
  moraCompress(gpu, g, x, rot, u, rows);
  moraApply(gpu, g, u, M, y, rows, accumulate);
}

/** Record dz (rows·nU, r̂) = decompressᵀ(dy), dy (rows, out). */
export function moraFold(gpu: Gpu, g: MoraGeometry, dy: Tensor, dz: Tensor, rows: number): void {
  gpu.dispatch(moraFoldKernel, {
    uniforms: { width: g.width, out: g.out, rows },
    bindings: { dy, dz },
  });
}

/** Record dM (r̂, r̂) += dzᵀ·u and du (rows·nU, r̂) = dz·M in one dispatch. */
export function moraGrads(gpu: Gpu, g: MoraGeometry, dz: Tensor, u: Tensor, M: Tensor, dM: Tensor, du: Tensor, rows: number): void {
  const chunks = rows * g.nU;
  gpu.dispatch(moraGradsKernel, {
    uniforms: { chunks, rHat: g.rHat },
    bindings: { dz, u, M, dM, du },
  });
}

/** Record dx (rows, in) += compressᵀ(du) (or = without `accumulate`). */
export function moraGradX(gpu: Gpu, g: MoraGeometry, du: Tensor, rot: Tensor | null, dx: Tensor, rows: number, accumulate = true): void {
  gpu.dispatch(moraDXKernel, {
    uniforms: {
      inF: g.inF, rHat: g.rHat, width: g.width, span: g.span, inDiv: Math.floor(g.inF / g.rHat), inMod: g.inF % g.rHat, rows,
    },
    bindings: { du, rot: rotOr(g, rot, du), dx },
    constants: { ROTATION: rotation(g), ACCUMULATE: accumulate ? 1 : 0 },
  });
}

/**
 * Record the MoRA branch's backward from u (saved by moraForward) and dy (rows, out):
 * dz = decompressᵀ(dy), dM += dzᵀ·u, and dx (rows, in) (+)= compressᵀ(dz·M). The base dy·W is the caller's.
 */
export function moraBackward(
  gpu: Gpu, g: MoraGeometry, M: Tensor, rot: Tensor | null, u: Tensor, dy: Tensor, dM: Tensor, dx: Tensor, rows: number,
  label: string, accumulate = true,
): void {
  const dz = gpu.tensor(`${label}.dz`, [rows * g.nU, g.rHat]);
  const du = gpu.tensor(`${label}.du`, [rows * g.nU, g.rHat]);
  moraFold(gpu, g, dy, dz, rows);
  moraGrads(gpu, g, dz, u, M, dM, du, rows);
  moraGradX(gpu, g, du, rot, dx, rows, accumulate);
  gpu.release(dz, du);
}

/** Record dense ΔW (out, in) of M into dW. */
export function moraDelta(gpu: Gpu, g: MoraGeometry, M: Tensor, rot: Tensor | null, dW: Tensor): void {
  gpu.dispatch(moraDeltaKernel, {
    uniforms: { out: g.out, inF: g.inF, rHat: g.rHat, width: g.width, span: g.span },
    bindings: { M, rot: rotOr(g, rot, M), dW },
    constants: { ROTATION: rotation(g) },
  });
}
