/**
 * The kernel contract: a WGSL source with an entry point, its uniforms (binding 0, packed 4-byte
 * scalars in the order listed), its read-only inputs (bindings 1..) and its outputs (after the inputs).
 * The WGSL file declares the same bindings in the same order.
 */
export type UniformType = 'u32' | 'i32' | 'f32';

export interface KernelDef {
  /** Label for the pipeline and every object made for it, and the name used in error messages. */
  readonly name: string;
  readonly code: string;
  readonly entryPoint: string;
  readonly uniforms: readonly (readonly [string, UniformType])[];
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export interface KernelSpec {
  name: string;
  code: string;
  entryPoint?: string;
  /** e.g. { M: 'u32', eps: 'f32' }: order of keys is the order in the WGSL uniform struct. */
  uniforms?: Record<string, UniformType>;
  inputs?: string[];
  outputs: string[];
}

export function defineKernel(spec: KernelSpec): KernelDef {
  return {
    name: spec.name,
    code: spec.code,
    entryPoint: spec.entryPoint ?? 'main',
    uniforms: Object.entries(spec.uniforms ?? {}),
    inputs: spec.inputs ?? [],
    outputs: spec.outputs,
  };
}

/** Pack uniform values into bytes in the kernel's declared order, padded to 16 bytes. */
export function packUniforms(def: KernelDef, values: Record<string, number>): ArrayBuffer {
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil((def.uniforms.length * 4) / 16) * 16));
  const view = new DataView(bytes);
  def.uniforms.forEach(([name, type], i) => {
    const v = values[name];
    if (v === undefined || !Number.isFinite(v)) {
      throw new Error(`kernel "${def.name}": uniform "${name}" is ${v}; expected a finite number`);
    }
    if (type === 'f32') view.setFloat32(i * 4, v, true);
    else if (type === 'u32') {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`kernel "${def.name}": uniform "${name}" = ${v} is not a u32`);
      view.setUint32(i * 4, v, true);
    } else {
      if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new Error(`kernel "${def.name}": uniform "${name}" = ${v} is not an i32`);
      view.setInt32(i * 4, v, true);
    }
  });
  return bytes;
}

/** Workgroup counts for `n` invocations of size `wg`, folded into y when x would pass 65535. */
export function groups1d(n: number, wg: number): [number, number, number] {
  const total = Math.max(1, Math.ceil(n / wg));
  if (total <= 65535) return [total, 1, 1];
  const y = Math.ceil(total / 65535);
  return [Math.ceil(total / y), y, 1];
}
