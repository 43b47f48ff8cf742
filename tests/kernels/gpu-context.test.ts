import { describe, expect, it } from 'vitest';
import { defineKernel } from '../../src/gpu/kernel.ts';
import { KernelError } from '../../src/gpu/errors.ts';
import { testGpu } from '../helpers/gpu.ts';

describe('GPU context', () => {
  it('reports a WGSL compile error with the kernel name and line', async () => {
    const gpu = await testGpu();
    const broken = defineKernel({
      name: 'deliberately-broken',
      code: `@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1) fn main() { out[0] = undefined_thing; }`,
      outputs: ['out'],
    });
    const t = gpu.tensor('t', [4]);
    gpu.dispatch(broken, { bindings: { out: t }, workgroups: [1] });
    const err = await gpu.sync().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).kernel).toBe('deliberately-broken');
    expect((err as Error).message).toMatch(/line 2/);
    gpu.release(t);
  });

  it('readMany returns each tensor exactly as read does, through one readback (odd sizes, pool-rounded buffers)', async () => {
    const gpu = await testGpu();
    const data = [1, 7, 3, 12].map((n, k) => Float32Array.from({ length: n }, (_, i) => k * 100 + i + 0.25));
    const ts = data.map((d, k) => gpu.upload(`m${k}`, [d.length], d));
    const many = await gpu.readMany(ts);
    expect(many).toEqual(await Promise.all(ts.map((t) => gpu.read(t))));
    expect(many).toEqual(data);
    expect(await gpu.readMany([])).toEqual([]);
    gpu.release(...ts);
  });

  it('rejects uniforms that do not fit their type, naming the field', async () => {
    const gpu = await testGpu();
    const k = defineKernel({ name: 'u', code: '', uniforms: { n: 'u32' }, outputs: ['o'] });
    const t = gpu.tensor('t', [4]);
    expect(() => gpu.dispatch(k, { uniforms: { n: -1 }, bindings: { o: t }, workgroups: [1] })).toThrow(/"n" = -1 is not a u32/);
    gpu.release(t);
  });

  it('accounts live bytes and reuses released buffers', async () => {
    const gpu = await testGpu();
    const before = gpu.pool.stats().liveBytes;
    const a = gpu.tensor('a', [10]); // 40 bytes rounded to 48
    expect(gpu.pool.stats().liveBytes - before).toBe(48);
    gpu.release(a);
    const b = gpu.tensor('b', [12]);
    expect(b.buffer).toBe(a.buffer);
    expect(b.buffer.label).toBe('b');
    gpu.release(b);
    expect(gpu.pool.stats().liveBytes).toBe(before);
  });

  it('reads back what it wrote, at an offset', async () => {
    const gpu = await testGpu();
    const t = gpu.upload('t', [5], Float32Array.from([1, 2, 3, 4, 5]));
    expect(Array.from(await gpu.read(t, 2, 2))).toEqual([3, 4]);
    gpu.release(t);
  });
});
