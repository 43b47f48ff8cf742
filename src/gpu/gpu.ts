/**
 * The GPU context every kernel runs through: device, buffer pool, pipeline and bind-group caches,
 * one open command encoder that collects dispatches until `submit` (or a readback), and readback.
 * Knows nothing about models.
 */
import { BufferPool } from './buffer-pool.ts';
import type { AcquiredDevice } from './device.ts';
import { DeviceLostError, KernelError } from './errors.ts';
import { packUniforms, type Groups, type KernelDef } from './kernel.ts';
import { fromHalfBits } from './half.ts';
import { isPacked16, numel, shapeString, storageBytes, type Tensor, type TensorDtype } from './tensor.ts';

export type Binding = Tensor | GPUBuffer;

export interface DispatchArgs {
  uniforms?: Record<string, number>;
  /** Buffers by the names in the kernel's inputs and outputs. */
  bindings: Record<string, Binding>;
  /** WGSL `override` constants, merged over the kernel's (its workgroup size included). */
  constants?: Record<string, number>;
  /** Explicit workgroup counts, for a kernel that declares no dispatch of its own. */
  workgroups?: Groups;
}

/**
 * 'cpu': a CPU implementation of WebGPU (SwiftShader), where every workgroup barrier and every dispatch
 * is costly and storage loads are gathers; 'gpu': a hardware GPU. Kernel families pick variants by it.
 */
export type AdapterClass = 'cpu' | 'gpu';

/** The adapter class of an adapter, from its info strings. */
export function adapterClassOf(info: AcquiredDevice['adapterInfo']): AdapterClass {
  return /swiftshader|llvmpipe|lavapipe/i.test(`${info.architecture} ${info.device} ${info.description}`) ? 'cpu' : 'gpu';
}

const CACHE_LIMIT = 8192;

export class Gpu {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly adapterInfo: AcquiredDevice['adapterInfo'];
  /** Decided once here; src/kernels/plan.ts maps it to each kernel family's variant. */
  readonly adapterClass: AdapterClass;
  readonly features: string[];
  private pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  private uniformBuffers = new Map<string, GPUBuffer>();
  private bindGroups = new Map<string, GPUBindGroup>();
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pendingChecks: Promise<Error | null>[] = [];
  private asyncErrors: Error[] = [];
  private lostError: DeviceLostError | null = null;
  /** Dispatches recorded since creation; for tests and profiling. */
  dispatchCount = 0;
  /** Command buffers submitted so far (a training step should add one). */
  submitCount = 0;
  private profile: { querySet: GPUQuerySet; names: string[]; capacity: number } | null = null;

  constructor(acquired: AcquiredDevice) {
    this.device = acquired.device;
    this.adapterInfo = acquired.adapterInfo;
    this.adapterClass = adapterClassOf(acquired.adapterInfo);
    this.features = acquired.features;
    this.pool = new BufferPool(this.device);
    acquired.lost.then((e) => (this.lostError = e));
    this.device.addEventListener('uncapturederror', (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.asyncErrors.push(new KernelError(this.lastKernel, err.message));
    });
  }
  private lastKernel = '(none)';

  get lost(): boolean {
    return this.lostError !== null;
  }

  // ---- tensors ------------------------------------------------------------------------------

  /** A new uninitialised float32 tensor (u32 data may share the same storage). */
  tensor(label: string, shape: readonly number[]): Tensor {
    this.checkAlive();
    return { buffer: this.pool.acquire(label, numel(shape) * 4), shape: [...shape], label };
  }

  /** A new uninitialised tensor of `dtype`: 'bf16' and 'f16' elements packed two per u32. */
  tensorOf(label: string, shape: readonly number[], dtype: TensorDtype): Tensor {
    if (dtype === 'f32') return this.tensor(label, shape);
    this.checkAlive();
    return { buffer: this.pool.acquire(label, storageBytes(numel(shape), dtype)), shape: [...shape], label, dtype };
  }

  /**
   * A tensor of `dtype` holding `bytes`: its elements as little-endian bytes (a safetensors tensor's data
   * as stored, 2 bytes per 16-bit element). An odd 16-bit count is padded to whole u32s with zeros.
   */
  uploadBytes(label: string, shape: readonly number[], dtype: TensorDtype, bytes: Uint8Array): Tensor {
    const want = numel(shape) * (dtype === 'f32' ? 4 : 2);
    if (bytes.length !== want) throw new Error(`upload "${label}": ${bytes.length} bytes for ${dtype} shape ${shapeString(shape)} (expected ${want})`);
    const t = this.tensorOf(label, shape, dtype);
    this.submit();
    const whole = bytes.length & ~3;
    if (whole > 0) this.device.queue.writeBuffer(t.buffer, 0, bytes.buffer, bytes.byteOffset, whole);
    if (whole < bytes.length) {
      const tail = new Uint8Array(4);
      tail.set(bytes.subarray(whole));
      this.device.queue.writeBuffer(t.buffer, whole, tail.buffer, 0, 4);
    }
    return t;
  }

  /** A tensor holding `data` (Float32Array, Uint32Array or Int32Array). */
  upload(label: string, shape: readonly number[], data: Float32Array | Uint32Array | Int32Array): Tensor {
    if (data.length !== numel(shape)) {
      throw new Error(`upload "${label}": ${data.length} values for shape ${shapeString(shape)}`);
    }
    const t = this.tensor(label, shape);
    this.write(t, data);
    return t;
  }

  /** Overwrite a tensor's contents. Work recorded so far is submitted first, so it sees the old data. */
  write(t: Binding, data: Float32Array | Uint32Array | Int32Array, offsetElements = 0): void {
    this.submit();
    const buffer = 'buffer' in t ? t.buffer : t;
    this.device.queue.writeBuffer(buffer, offsetElements * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  release(...ts: (Tensor | null | undefined)[]): void {
    for (const t of ts) if (t) this.pool.release(t.buffer);
  }

  // ---- recording ----------------------------------------------------------------------------

  /** Record one dispatch of `kernel` into the open compute pass, its workgroup counts from its uniforms. */
  dispatch(kernel: KernelDef, args: DispatchArgs): void {
    this.checkAlive();
    this.lastKernel = kernel.name;
    const buffers: GPUBuffer[] = [];
    for (const name of [...kernel.inputs, ...kernel.outputs]) {
      const b = args.bindings[name];
      if (!b) throw new KernelError(kernel.name, `missing binding "${name}"`);
      if ('buffer' in b && isPacked16(b) && !kernel.packed16.includes(name)) {
        throw new KernelError(kernel.name, `binding "${name}" (${b.label}) holds ${b.dtype} elements; this kernel reads f32 there (convert it with kernels/cast.ts toF32)`);
      }
      buffers.push('buffer' in b ? b.buffer : b);
    }
    let uniform: GPUBuffer | null = null;
    let uniformKey = '';
    if (kernel.uniforms.length > 0) {
      const bytes = packUniforms(kernel, args.uniforms ?? {});
      uniformKey = Array.from(new Uint32Array(bytes)).join(',');
      uniform = this.uniformBuffers.get(uniformKey) ?? null;
      if (!uniform) {
        if (this.uniformBuffers.size > CACHE_LIMIT) this.clearBindingCaches();
        uniform = this.device.createBuffer({
          label: `${kernel.name}.uniforms`,
          size: bytes.byteLength,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
          mappedAtCreation: true,
        });
        new Uint8Array(uniform.getMappedRange()).set(new Uint8Array(bytes));
        uniform.unmap();
        this.uniformBuffers.set(uniformKey, uniform);
      }
    }
    const constants = args.constants ? { ...kernel.constants, ...args.constants } : kernel.constants;
    const [x, y = 1, z = 1] = args.workgroups ?? kernel.groups(args.uniforms ?? {}, constants);
    const { pipeline, layout, key } = this.pipelineFor(kernel, args.constants, constants);
    const groupKey = `${key}|${uniformKey}|${buffers.map((b) => this.idOf(b)).join(',')}`;
    let group = this.bindGroups.get(groupKey);
    if (!group) {
      if (this.bindGroups.size > CACHE_LIMIT) this.bindGroups.clear();
      const entries: GPUBindGroupEntry[] = buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } }));
      if (uniform) entries.unshift({ binding: 0, resource: { buffer: uniform } });
      group = this.device.createBindGroup({ label: kernel.name, layout, entries });
      this.bindGroups.set(groupKey, group);
    }
    const profiled = this.profile !== null && this.profile.names.length < this.profile.capacity;
    if (profiled) this.closePass();
    const pass = profiled ? this.openProfiledPass(`${kernel.name} [${x}×${y}×${z}]`) : this.openPass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    if (profiled) this.closePass();
    this.dispatchCount++;
  }

  /** Record a buffer copy (closes the open compute pass). */
  copy(src: Binding, dst: Binding, bytes?: number, srcOffset = 0, dstOffset = 0): void {
    const s = 'buffer' in src ? src.buffer : src;
    const d = 'buffer' in dst ? dst.buffer : dst;
    const enc = this.openEncoder();
    this.closePass();
    enc.copyBufferToBuffer(s, srcOffset, d, dstOffset, bytes ?? Math.min(s.size - srcOffset, d.size - dstOffset));
  }

  /** Record zero-filling a tensor, or `count` elements of it from `offset`. */
  clear(t: Binding, offset = 0, count?: number): void {
    const b = 'buffer' in t ? t.buffer : t;
    const enc = this.openEncoder();
    this.closePass();
    enc.clearBuffer(b, offset * 4, count === undefined ? undefined : count * 4);
  }

  /** Submit everything recorded so far as one command buffer. */
  submit(): void {
    if (!this.encoder) return;
    this.closePass();
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.submitCount++;
  }

  // ---- readback -----------------------------------------------------------------------------

  /**
   * Submit pending work and read a tensor back as Float32Array (or `count` elements from `offset`);
   * a 16-bit tensor's elements are decoded (exactly) on the host.
   */
  async read(t: Binding, offset = 0, count?: number): Promise<Float32Array> {
    if ('buffer' in t && isPacked16(t)) {
      const n = count ?? numel(t.shape) - offset;
      const first = offset & ~1; // whole u32s around the range
      const words = Math.ceil((offset + n - first) / 2);
      const bits = new Uint16Array(await this.readBytes(t, first * 2, words * 4));
      return fromHalfBits(bits.subarray(offset - first, offset - first + n), t.dtype as 'bf16' | 'f16');
    }
    return new Float32Array(await this.readBytes(t, offset * 4, count === undefined ? undefined : count * 4));
  }

  /** Submit pending work and read several tensors back through one staging buffer and one map. */
  async readMany(ts: readonly Tensor[]): Promise<Float32Array[]> {
    if (ts.some(isPacked16)) return Promise.all(ts.map((t) => this.read(t)));
    const sizes = ts.map((t) => numel(t.shape) * 4);
    const all = await this.readCopies(ts.map((t, i) => ({ src: t.buffer, byteOffset: 0, size: sizes[i]! })), `${ts.length} tensors`);
    let at = 0;
    return sizes.map((n) => {
      const out = new Float32Array(all, at, n / 4);
      at += n;
      return out;
    });
  }

  async readU32(t: Binding, offset = 0, count?: number): Promise<Uint32Array> {
    return new Uint32Array(await this.readBytes(t, offset * 4, count === undefined ? undefined : count * 4));
  }

  private async readBytes(t: Binding, byteOffset: number, byteLength?: number): Promise<ArrayBuffer> {
    const src = 'buffer' in t ? t.buffer : t;
    const logical = 'buffer' in t ? storageBytes(numel(t.shape), t.dtype ?? 'f32') : src.size;
    const length = byteLength ?? logical - byteOffset;
    const out = await this.readCopies([{ src, byteOffset, size: Math.ceil(length / 4) * 4 }], 'label' in t ? t.label : src.label);
    return out.slice(0, length);
  }

  /** Copy each range into one staging buffer (back to back), submit, map once; the bytes in that order. */
  private async readCopies(copies: readonly { src: GPUBuffer; byteOffset: number; size: number }[], label: string): Promise<ArrayBuffer> {
    const total = copies.reduce((a, c) => a + c.size, 0);
    const staging = this.device.createBuffer({ label: `readback ${label}`, size: Math.max(4, total), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    let at = 0;
    for (const c of copies) {
      this.copy(c.src, staging, c.size, c.byteOffset, at);
      at += c.size;
    }
    this.submit();
    try {
      await staging.mapAsync(GPUMapMode.READ);
      const out = staging.getMappedRange().slice(0, total);
      staging.unmap();
      await this.flushErrors();
      return out;
    } catch (e) {
      this.checkAlive();
      await this.flushErrors();
      throw e;
    } finally {
      staging.destroy();
    }
  }

  /** Wait for the queue to drain, then raise any kernel error seen so far. */
  async sync(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    await this.flushErrors();
  }

  /** Raise the first pipeline or validation error collected so far, naming its kernel. */
  async flushErrors(): Promise<void> {
    this.checkAlive();
    const checks = this.pendingChecks.splice(0);
    // Pipeline errors first: they are the cause of the "invalid pipeline" errors that follow.
    const pipelineErrors = (await Promise.all(checks)).filter((e): e is Error => e !== null);
    this.asyncErrors.unshift(...pipelineErrors);
    const first = this.asyncErrors.shift();
    this.asyncErrors.length = 0;
    if (first) throw first;
  }

  destroy(): void {
    this.submit();
    this.pool.destroyAll();
    this.clearBindingCaches();
    this.device.destroy();
  }

  // ---- profiling ----------------------------------------------------------------------------

  /** Time each of the next `capacity` dispatches on the GPU (needs the timestamp-query feature). */
  startProfile(capacity = 2048): boolean {
    if (!this.features.includes('timestamp-query')) return false;
    this.submit();
    const querySet = this.device.createQuerySet({ label: 'profile', type: 'timestamp', count: capacity * 2 });
    this.profile = { querySet, names: [], capacity };
    return true;
  }

  /** Stop profiling; GPU milliseconds and dispatch counts per kernel name, slowest first. */
  async endProfile(): Promise<{ kernel: string; ms: number; count: number }[]> {
    const prof = this.profile;
    if (!prof) return [];
    this.profile = null;
    const n = prof.names.length * 2;
    const resolved = this.device.createBuffer({
      label: 'profile.resolve', size: Math.max(8, n * 8), usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    if (n > 0) this.openEncoder().resolveQuerySet(prof.querySet, 0, n, resolved, 0);
    const bytes = await this.readBytes(resolved, 0, n * 8);
    const ns = new BigUint64Array(bytes);
    const byName = new Map<string, { ms: number; count: number }>();
    prof.names.forEach((name, i) => {
      const e = byName.get(name) ?? { ms: 0, count: 0 };
      e.ms += Number(ns[2 * i + 1]! - ns[2 * i]!) / 1e6;
      e.count++;
      byName.set(name, e);
    });
    resolved.destroy();
    prof.querySet.destroy();
    return [...byName].map(([kernel, e]) => ({ kernel, ...e })).sort((a, b) => b.ms - a.ms);
  }

  private openProfiledPass(name: string): GPUComputePassEncoder {
    const prof = this.profile!;
    const i = prof.names.push(name) - 1;
    this.pass = this.openEncoder().beginComputePass({
      label: `profile ${name}`,
      timestampWrites: { querySet: prof.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    });
    return this.pass;
  }

  // ---- internals ----------------------------------------------------------------------------

  /** The pipeline for `kernel` with `constants` (its own merged with the call's `extra`), cached by both. */
  private pipelineFor(kernel: KernelDef, extra: Record<string, number> | undefined, constants: Readonly<Record<string, number>>) {
    const key = extra ? `${kernel.key}|${JSON.stringify(extra)}` : kernel.key;
    let entry = this.pipelines.get(key);
    if (!entry) {
      const device = this.device;
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ label: kernel.name, code: kernel.code });
      const layoutEntries: GPUBindGroupLayoutEntry[] = [];
      if (kernel.uniforms.length > 0) {
        layoutEntries.push({ binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } });
      }
      kernel.inputs.forEach((_, i) =>
        layoutEntries.push({ binding: i + 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } }),
      );
      kernel.outputs.forEach((_, i) =>
        layoutEntries.push({
          binding: kernel.inputs.length + i + 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: 'storage' },
        }),
      );
      const layout = device.createBindGroupLayout({ label: kernel.name, entries: layoutEntries });
      const pipeline = device.createComputePipeline({
        label: kernel.name,
        layout: device.createPipelineLayout({ label: kernel.name, bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: kernel.entryPoint, constants: { ...constants } },
      });
      this.pendingChecks.push(
        (async () => {
          const scopeError = await device.popErrorScope();
          if (!scopeError) return null;
          const info = await module.getCompilationInfo();
          const lines = info.messages
            .filter((m) => m.type === 'error')
            .map((m) => `line ${m.lineNum}:${m.linePos}: ${m.message}`);
          return new KernelError(kernel.name, lines.length ? lines.join('\n') : scopeError.message);
        })(),
      );
      entry = { pipeline, layout };
      this.pipelines.set(key, entry);
    }
    return { ...entry, key };
  }

  private idOf(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(b, id);
    }
    return id;
  }

  private clearBindingCaches(): void {
    this.submit(); // recorded work may still reference the cached buffers
    for (const b of this.uniformBuffers.values()) b.destroy();
    this.uniformBuffers.clear();
    this.bindGroups.clear();
  }

  private openEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'subspace' });
    return this.encoder;
  }

  private openPass(): GPUComputePassEncoder {
    const enc = this.openEncoder();
    this.pass ??= enc.beginComputePass({ label: 'subspace' });
    return this.pass;
  }

  private closePass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private checkAlive(): void {
    if (this.lostError) throw this.lostError;
  }
}
