import { describe, expect, it } from 'vitest';
import { adapterClassOf } from '../../src/gpu/gpu.ts';
import { defineKernel, perInvocation } from '../../src/gpu/kernel.ts';
import { KERNEL_PLANS, kernelPlan } from '../../src/kernels/plan.ts';
import { testGpu } from '../helpers/gpu.ts';

// out[i] = f32(WG) + TAG for every i < n: shows the workgroup size the pipeline was built with and
// that the dispatch derived from n covered every element (and no more).
const code = `
override WG: u32 = 1u;
override TAG: u32 = 0u;
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < p.n) { out[i] = f32(WG) + f32(TAG); }
}`;
const spec = { code, uniforms: { n: 'u32' }, outputs: ['out'], workgroupSize: 64, dispatch: perInvocation((u: { n: number }) => u.n) } as const;

describe('kernel geometry', () => {
  it('passes the spec workgroup size as an override and derives the workgroups from the uniforms', async () => {
    const gpu = await testGpu();
    const k = defineKernel({ name: 'geometry', ...spec });
    expect(k.constants).toEqual({ WG: 64 });
    expect(k.groups({ n: 65 })).toEqual([2, 1, 1]);
    expect(k.groups({ n: 64 * 65536 })).toEqual([32768, 2, 1]); // folded into y past 65535
    const n = 131; // not a multiple of the workgroup size
    const out = gpu.upload('out', [n + 5], new Float32Array(n + 5).fill(-1));
    gpu.dispatch(k, { uniforms: { n }, bindings: { out } });
    const got = await gpu.read(out);
    expect(Array.from(got.subarray(0, n))).toEqual(new Array(n).fill(64));
    expect(Array.from(got.subarray(n))).toEqual(new Array(5).fill(-1));
    gpu.release(out);
  });

  it('a call may override the workgroup size; fixed constants join the pipeline key', async () => {
    const gpu = await testGpu();
    const plain = defineKernel({ name: 'geometry', ...spec });
    const tagged = defineKernel({ name: 'geometry', ...spec, constants: { TAG: 1000 } });
    expect(tagged.key).not.toBe(plain.key);
    expect(plain.groups({ n: 100 }, { WG: 32 })).toEqual([4, 1, 1]);
    const n = 100;
    const a = gpu.tensor('a', [n]), b = gpu.tensor('b', [n]);
    gpu.dispatch(plain, { uniforms: { n }, bindings: { out: a }, constants: { WG: 32 } });
    gpu.dispatch(tagged, { uniforms: { n }, bindings: { out: b } });
    expect(Array.from(await gpu.read(a))).toEqual(new Array(n).fill(32));
    expect(Array.from(await gpu.read(b))).toEqual(new Array(n).fill(1064));
    gpu.release(a, b);
  });

  it('decides the adapter class once, and the kernel plan follows it', async () => {
    const gpu = await testGpu();
    expect(gpu.adapterClass).toBe(adapterClassOf(gpu.adapterInfo));
    expect(adapterClassOf({ vendor: 'google', architecture: 'swiftshader', device: '', description: '' })).toBe('cpu');
    expect(adapterClassOf({ vendor: 'nvidia', architecture: 'ampere', device: '', description: 'NVIDIA GeForce RTX 3060' })).toBe('gpu');
    expect(kernelPlan(gpu).rmsnorm).toBe(KERNEL_PLANS[gpu.adapterClass].rmsnorm);
    expect(KERNEL_PLANS.cpu).toMatchObject({ rmsnorm: 'row', crossEntropy: 'row', sumSquares: 'strided', attention: 'tiled' });
    expect(KERNEL_PLANS.gpu).toMatchObject({ rmsnorm: 'workgroup', crossEntropy: 'workgroup', sumSquares: 'workgroup', attention: 'workgroup' });
  });
});
