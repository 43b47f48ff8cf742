/**
 * The kernel contract: a WGSL source with an entry point, its uniforms (binding 0, packed 4-byte
 * scalars in the order listed), its read-only inputs (bindings 1..) and its outputs (after the inputs),
 * and its geometry: the workgroup size, passed to the WGSL as override constants (`WG`, or `WGX`, `WGY`
 * (, `WGZ`)), and the workgroup counts of a dispatch as a function of its uniforms. The WGSL file
 * declares the same bindings in the same order, and the same overrides.
 */
export type UniformType = 'u32' | 'i32' | 'f32';

/** Workgroup counts (x, y, z) of one dispatch; y and z default to 1. */
export type Groups = readonly [number, number?, number?];

/** Invocations per workgroup: x (override `WG`), or (x, y) / (x, y, z) (overrides `WGX`, `WGY`, `WGZ`). */
export type WorkgroupSize = number | readonly [number, number] | readonly [number, number, number];

/** Workgroup counts from a dispatch's uniforms, its workgroup size (x, y, z) and its override constants. */
export type DispatchFn<U extends string> = (
  u: Readonly<Record<U, number>>, wg: readonly [number, number, number], c: Readonly<Record<string, number>>,
) => Groups;

export interface KernelDef {
  /** Label for the pipeline and every object made for it, and the name used in error messages. */
  readonly name: string;
  readonly code: string;
  readonly entryPoint: string;
  readonly uniforms: readonly (readonly [string, UniformType])[];
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Bindings that read 16-bit elements packed two per u32 (tensor.ts); any other refuses a 16-bit tensor. */
  readonly packed16: readonly string[];
  /** Override constants of every dispatch: the workgroup size and the kernel's fixed ones. */
  readonly constants: Readonly<Record<string, number>>;
  /** Part of the pipeline cache key: name, entry point and `constants`. */
  readonly key: string;
  /** Workgroup counts for these uniforms, with `constants` (the kernel's merged with a call's). */
  groups(uniforms: Readonly<Record<string, number>>, constants?: Readonly<Record<string, number>>): [number, number, number];
}

export interface KernelSpec<U extends string = never> {
  name: string;
  code: string;
  entryPoint?: string;
  /** e.g. { M: 'u32', eps: 'f32' }: order of keys is the order in the WGSL uniform struct. */
  uniforms?: Readonly<Record<U, UniformType>>;
  inputs?: readonly string[];
  outputs: readonly string[];
  /** Inputs the shader reads as 16-bit elements packed two per u32 (e.g. a BF16 weight). */
  packed16?: readonly string[];
  /** The shader's @workgroup_size, as overrides WG or WGX, WGY(, WGZ); a call may override them in `constants`. */
  workgroupSize?: WorkgroupSize;
  /** Override constants fixed for this kernel (a call's `constants` are merged over them). */
  constants?: Readonly<Record<string, number>>;
  /** The workgroup counts of one dispatch. */
  dispatch?: DispatchFn<NoInfer<U>>;
}

const SIZE_NAMES_1D = ['WG'] as const;
const SIZE_NAMES = ['WGX', 'WGY', 'WGZ'] as const;

export function defineKernel<U extends string = never>(spec: KernelSpec<U>): KernelDef {
  const entryPoint = spec.entryPoint ?? 'main';
  const size = spec.workgroupSize;
  const names: readonly string[] = size === undefined ? [] : typeof size === 'number' ? SIZE_NAMES_1D : SIZE_NAMES.slice(0, size.length);
  const sizes = size === undefined ? [] : typeof size === 'number' ? [size] : size;
  const constants: Record<string, number> = { ...spec.constants };
  names.forEach((n, i) => (constants[n] = sizes[i]!));
  const dispatch = spec.dispatch as DispatchFn<string> | undefined;
  return {
    name: spec.name,
    code: spec.code,
    entryPoint,
    uniforms: Object.entries(spec.uniforms ?? {}) as [string, UniformType][],
    inputs: spec.inputs ?? [],
    outputs: spec.outputs,
    packed16: spec.packed16 ?? [],
    constants,
    key: `${spec.name}:${entryPoint}:${JSON.stringify(constants)}`,
    groups(uniforms, c = constants) {
      if (!dispatch) throw new Error(`kernel "${spec.name}" declares no dispatch; pass its workgroups`);
      const wg: [number, number, number] = [1, 1, 1];
      names.forEach((n, i) => (wg[i] = c[n]!));
      const [x, y = 1, z = 1] = dispatch(uniforms, wg, c);
      return [x, y, z];
    },
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

/** A 1-D dispatch of one invocation per item: groups1d(count, WG). */
export function perInvocation<T>(count: (u: T) => number): (u: T, wg: readonly [number, number, number]) => Groups {
  return (u, [wg]) => groups1d(count(u), wg);
}

/** A 1-D dispatch of one workgroup per item (folded past 65535 like groups1d). */
export function perWorkgroup<T>(count: (u: T) => number): (u: T) => Groups {
  return (u) => groups1d(count(u), 1);
}

/** Workgroup counts for `n` invocations of size `wg`, folded into y when x would pass 65535. */
export function groups1d(n: number, wg: number): [number, number, number] {
  const total = Math.max(1, Math.ceil(n / wg));
  if (total <= 65535) return [total, 1, 1];
  const y = Math.ceil(total / 65535);
  return [Math.ceil(total / y), y, 1];
}
