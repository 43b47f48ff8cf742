/**
 * `cli train`'s checkpoint directory, <out>/checkpoint/:
 * - trainer.safetensors: every trainable tensor (`<param name>`) with AdamW's moments (`<param name>.adam_m`,
 *   `<param name>.adam_v`) and, for PiSSA/MiLoRA, each module's initial factors (`<module>.initial_A`,
 *   `<module>.initial_B`), all F32;
 * - state.json: {"version": 1, "step", "config" (the TrainConfig), "dropout_calls", "model_fingerprint",
 *   "data": {"file", "sha256", "eval_fraction"}, "metrics_lines"} (and "adapter" when the run continued one,
 *   "probe": {"file", "sha256"} when it measured a forgetting probe).
 * Each file is written under a temporary name in the same directory, flushed, then renamed over the old one.
 * trainer.safetensors goes first and carries a copy of the state in its metadata, so a crash between the two
 * renames still leaves a usable checkpoint: the reader then takes the state saved with the tensors.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { decodeEntry, parseSafetensorsHeader, writeSafetensors } from '../io/safetensors.ts';
import type { AdapterTensors } from '../io/peft.ts';
import type { HostTensor } from '../schema/tensors.ts';
import { LINEAR_MODULES } from '../schema/tensors.ts';
import { checkCheckpoint, type CheckpointParam, type TrainerCheckpoint } from '../train/checkpoint.ts';
import { DEFAULT_TRAIN_CONFIG, METHODS, SPECTRAL_METHODS, type TrainConfig } from '../schema/train-config.ts';

export const TENSORS_FILE = 'trainer.safetensors';
export const STATE_FILE = 'state.json';
/** Key of the state's copy in trainer.safetensors' __metadata__. */
const STATE_METADATA = 'subspace_state';
const PARTIAL = '.partial';

/** What the data file of a run was, so a resume trains on the same windows. */
export interface RunData {
  /** The --data path as given. */
  file: string;
  /** sha256 of the file's bytes, hex. */
  sha256: string;
  eval_fraction: number;
}

/** state.json. */
export interface RunState {
  version: 1;
  step: number;
  config: TrainConfig;
  dropout_calls: Record<string, number>;
  model_fingerprint: string;
  data: RunData;
  /** Lines of metrics.jsonl written up to this checkpoint (a resume truncates the file to them). */
  metrics_lines: number;
  /** The --adapter directory the run continued, if any. */
  adapter?: string;
  /** The --probe file (forgetting probe) the run measured, if any: a resume needs the same file. */
  probe?: RunProbe;
}

/** The forgetting-probe file of a run. */
export interface RunProbe {
  /** The --probe path as given. */
  file: string;
  /** sha256 of the file's bytes, hex. */
  sha256: string;
}

/** Where a run stands besides its tensors: everything in state.json but the trainer's own fields. */
export type RunInfo = Pick<RunState, 'model_fingerprint' | 'data' | 'metrics_lines' | 'adapter' | 'probe'>;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Write `data` to `file` so that readers see the old file or the new one, never a part. */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}${PARTIAL}`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

/** The tensors of a checkpoint under their safetensors names, in a fixed order. */
export function checkpointTensors(c: TrainerCheckpoint): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const p of c.params) {
    out.set(p.name, { shape: p.shape, data: p.value });
    out.set(`${p.name}.adam_m`, { shape: p.shape, data: p.m });
    out.set(`${p.name}.adam_v`, { shape: p.shape, data: p.v });
  }
  for (const [name, t] of c.spectralInitial ?? []) {
    out.set(`${name}.initial_A`, t.A);
    out.set(`${name}.initial_B`, t.B);
  }
  return out;
}

/** Write the checkpoint directory `dir` (created if needed): trainer.safetensors, then state.json. */
export async function writeCheckpointDir(dir: string, c: TrainerCheckpoint, info: RunInfo): Promise<RunState> {
  const state: RunState = {
    version: 1,
    step: c.step,
    config: c.config,
    dropout_calls: c.dropoutCalls,
    model_fingerprint: info.model_fingerprint,
    data: info.data,
    metrics_lines: info.metrics_lines,
    ...(info.adapter !== undefined ? { adapter: info.adapter } : {}),
    ...(info.probe !== undefined ? { probe: info.probe } : {}),
  };
  const bytes = writeSafetensors(checkpointTensors(c), { format: 'subspace-trainer-checkpoint', [STATE_METADATA]: JSON.stringify(state) });
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, TENSORS_FILE), bytes);
  await writeFileAtomic(path.join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  return state;
}

/**
 * Remove the checkpoint files in `dir` (a new run in the same --out replaces the old one's); other files are
 * left alone. The tensors go first: a state.json without them is refused, never resumed. Returns the removed
 * checkpoint's step, or undefined when there was none.
 */
export async function removeCheckpointDir(dir: string): Promise<number | undefined> {
  let step: number | undefined;
  try {
    const s = JSON.parse(await readFile(path.join(dir, STATE_FILE), 'utf8')) as { step?: unknown };
    if (typeof s.step === 'number') step = s.step;
  } catch {
    // no state, or unreadable: removed all the same
  }
  let removed = false;
  for (const name of [TENSORS_FILE, STATE_FILE, TENSORS_FILE + PARTIAL, STATE_FILE + PARTIAL]) {
    try {
      await unlink(path.join(dir, name));
      removed = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  await rmdir(dir).catch(() => undefined); // only when empty
  return removed ? (step ?? 0) : undefined;
}

/** Throws a message naming `file` and the field when `o` is not a state.json this version can resume. */
export function checkRunState(o: unknown, file: string): asserts o is RunState {
  const fail = (msg: string): never => {
    throw new Error(`${file}: ${msg}`);
  };
  if (!o || typeof o !== 'object' || Array.isArray(o)) fail('is not a JSON object');
  const s = o as Record<string, unknown>;
  if (s.version === undefined) fail('field "version" is missing');
  if (s.version !== 1) fail(`version ${JSON.stringify(s.version)} is not supported (expected 1)`);
  const int = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  if (!int(s.step)) fail(`field "step" is ${JSON.stringify(s.step)}, expected a whole number ≥ 0`);
  if (!int(s.metrics_lines)) fail(`field "metrics_lines" is ${JSON.stringify(s.metrics_lines)}, expected a whole number ≥ 0`);
  if (typeof s.model_fingerprint !== 'string' || s.model_fingerprint === '') fail('field "model_fingerprint" is missing');
  const calls = s.dropout_calls as Record<string, unknown> | undefined;
  if (!calls || typeof calls !== 'object' || Array.isArray(calls) || !Object.values(calls).every(int)) {
    fail('field "dropout_calls" must map module names to whole numbers');
  }
  const d = s.data as Record<string, unknown> | undefined;
  if (!d || typeof d !== 'object') fail('field "data" is missing');
  if (typeof d!.file !== 'string') fail('field "data.file" is missing');
  if (typeof d!.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(d!.sha256)) fail('field "data.sha256" is not a sha256 in hex');
  if (typeof d!.eval_fraction !== 'number' || !(d!.eval_fraction >= 0 && d!.eval_fraction <= 0.9)) {
    fail(`field "data.eval_fraction" is ${JSON.stringify(d!.eval_fraction)}, expected a number in [0, 0.9]`);
  }
  if (s.adapter !== undefined && typeof s.adapter !== 'string') fail('field "adapter" is not a path');
  if (s.probe !== undefined) {
    const p = s.probe as Record<string, unknown> | null;
    if (!p || typeof p !== 'object' || Array.isArray(p)) fail('field "probe" is not an object');
    if (typeof p!.file !== 'string') fail('field "probe.file" is missing');
    if (typeof p!.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(p!.sha256)) fail('field "probe.sha256" is not a sha256 in hex');
  }
  const c = s.config as Record<string, unknown> | undefined;
  if (!c || typeof c !== 'object' || Array.isArray(c)) fail('field "config" is missing');
  for (const [key, def] of Object.entries(DEFAULT_TRAIN_CONFIG)) {
    const v = c![key];
    if (v === undefined && key === 'recompute') continue; // a checkpoint from before the setting: false
    if (v === undefined) fail(`field "config.${key}" is missing`);
    if (Array.isArray(def) ? !Array.isArray(v) : typeof v !== typeof def) fail(`field "config.${key}" is ${JSON.stringify(v)}, expected a ${Array.isArray(def) ? 'list' : typeof def}`);
  }
  if (!METHODS.includes(c!.method as TrainConfig['method'])) fail(`field "config.method" is ${JSON.stringify(c!.method)}, expected one of ${METHODS.join(', ')}`);
  if (!(c!.targets as unknown[]).every((t) => (LINEAR_MODULES as readonly unknown[]).includes(t))) {
    fail(`field "config.targets" is ${JSON.stringify(c!.targets)}, expected modules among ${LINEAR_MODULES.join(', ')}`);
  }
  if (c!.steps !== undefined && int(c!.steps) && (c!.steps as number) < (s.step as number)) {
    fail(`field "config.steps" (${String(c!.steps)}) is lower than "step" (${String(s.step)})`);
  }
}

/** The TrainerCheckpoint of `state` and the tensors of trainer.safetensors (`bytes`); errors name `file`. */
export function checkpointFromFile(state: RunState, bytes: Uint8Array, file: string): TrainerCheckpoint {
  const { entries } = parseSafetensorsHeader(bytes, file);
  const fail = (msg: string): never => {
    throw new Error(`${file}: ${msg}`);
  };
  const tensor = (name: string): HostTensor => {
    const e = entries.get(name)!;
    if (e.dtype !== 'F32') fail(`tensor "${name}" is ${e.dtype}; a checkpoint holds F32 tensors`);
    return decodeEntry(bytes, e, file, name);
  };
  const suffixes = ['.adam_m', '.adam_v', '.initial_A', '.initial_B'];
  const params: CheckpointParam[] = [];
  const initial: AdapterTensors = new Map();
  for (const name of entries.keys()) {
    const suffix = suffixes.find((s) => name.endsWith(s));
    if (suffix === '.adam_m' || suffix === '.adam_v') {
      if (!entries.has(name.slice(0, -suffix.length))) fail(`tensor "${name}" has no tensor "${name.slice(0, -suffix.length)}"`);
      continue;
    }
    if (suffix) {
      const module = name.slice(0, -suffix.length);
      if (!initial.has(module)) {
        const [a, b] = [`${module}.initial_A`, `${module}.initial_B`];
        if (!entries.has(a) || !entries.has(b)) fail(`"${module}" needs both ${a} and ${b}`);
        initial.set(module, { A: tensor(a), B: tensor(b) });
      }
      continue;
    }
    const value = tensor(name);
    const moment = (key: string): Float32Array => {
      if (!entries.has(key)) fail(`tensor "${key}" is missing`);
      const t = tensor(key);
      if (t.shape.join() !== value.shape.join()) fail(`tensor "${key}" is [${t.shape.join(', ')}], "${name}" is [${value.shape.join(', ')}]`);
      return t.data;
    };
    params.push({ name, shape: value.shape, value: value.data, m: moment(`${name}.adam_m`), v: moment(`${name}.adam_v`) });
  }
  const spectral = SPECTRAL_METHODS.includes(state.config.method);
  if (spectral && initial.size === 0) fail(`a ${state.config.method} checkpoint needs the initial factors (<module>.initial_A, .initial_B)`);
  const checkpoint: TrainerCheckpoint = {
    version: 1,
    config: { ...state.config, targets: [...state.config.targets] },
    step: state.step,
    params,
    dropoutCalls: { ...state.dropout_calls },
    ...(spectral ? { spectralInitial: initial } : {}),
  };
  try {
    checkCheckpoint(checkpoint);
  } catch (e) {
    fail((e as Error).message);
  }
  return checkpoint;
}

export interface SavedCheckpoint {
  state: RunState;
  /** The file the state was read from (state.json, or trainer.safetensors after an interrupted save). */
  stateFile: string;
  checkpoint: TrainerCheckpoint;
  /** Set when the state came from trainer.safetensors because state.json was behind it. */
  warning?: string;
}

async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw new Error(`${file}: cannot read (${err.message})`);
  }
}

/** Read and check the checkpoint in `dir`; every error names the file at fault and nothing is changed. */
export async function readCheckpointDir(dir: string): Promise<SavedCheckpoint> {
  const stateFile = path.join(dir, STATE_FILE);
  const tensorsFile = path.join(dir, TENSORS_FILE);
  const stateBytes = await readOptional(stateFile);
  const raw = await readOptional(tensorsFile);
  if (!stateBytes && !raw) {
    throw new Error(`${stateFile}: not found; ${path.dirname(dir)} has no checkpoint to resume (train writes one at the end, on Ctrl-C and every --checkpoint-every steps)`);
  }
  if (!raw) throw new Error(`${tensorsFile}: not found (${stateFile} is there without its tensors)`);
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  const { metadata } = parseSafetensorsHeader(bytes, tensorsFile);

  let fromFile: unknown;
  if (stateBytes) {
    try {
      fromFile = JSON.parse(stateBytes.toString('utf8'));
    } catch (e) {
      throw new Error(`${stateFile}: not valid JSON (${(e as Error).message})`);
    }
  }
  let state = fromFile;
  let source = stateFile;
  let warning: string | undefined;
  const embedded = metadata[STATE_METADATA];
  if (embedded !== undefined) {
    let saved: unknown;
    try {
      saved = JSON.parse(embedded);
    } catch (e) {
      throw new Error(`${tensorsFile}: the state in its metadata is not valid JSON (${(e as Error).message})`);
    }
    const savedStep = (saved as { step?: unknown } | null)?.step;
    const fileStep = (fromFile as { step?: unknown } | null | undefined)?.step;
    if (fromFile === undefined || fileStep !== savedStep) {
      // The process stopped between the two renames: the tensors are newer than state.json.
      state = saved;
      source = `${tensorsFile} (metadata)`;
      warning = `${stateFile} ${fromFile === undefined ? 'is missing' : `is from step ${String(fileStep)}`} but ${tensorsFile} holds step ${String(savedStep)} ` +
        '(saving was interrupted): resuming from the state saved with the tensors';
    }
  } else if (fromFile === undefined) {
    throw new Error(`${stateFile}: not found (and ${tensorsFile} carries no copy of it)`);
  }
  checkRunState(state, source);
  return { state, stateFile: source, checkpoint: checkpointFromFile(state, bytes, tensorsFile), warning };
}
