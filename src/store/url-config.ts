/**
 * The run configuration as a URL query, so a link reproduces a setup: pure functions both ways.
 * Every listed field is written; reading checks each value, reports what is wrong by name, and
 * leaves a bad or unknown value out (the caller keeps its default).
 */
import { LINEAR_MODULES } from '../schema/tensors.ts';
import { parseTargets, type TrainConfig } from '../schema/train-config.ts';
import { isSchedule, SCHEDULES } from '../schema/schedule.ts';
import { METHOD_ROWS, methodAvailable, type MethodId } from './methods.ts';

/** What the query carries besides TrainConfig fields: the method row, the data, and how often a run saves and measures. */
export interface UrlExtras {
  methodId?: MethodId;
  demo?: string;
  /** The forgetting probe's demo id, or "none". */
  probe?: string;
  /** Steps between checkpoints in the browser (0: only on pause, stop and end). */
  checkpointEvery?: number;
  /** Steps between spectra rounds during a run (0: off). */
  spectraEvery?: number;
  /** The studio chooses activation recomputation from the memory estimate (recompute=auto); else config.recompute is the user's. */
  recomputeAuto?: boolean;
}

export interface ParsedQuery {
  config: Partial<TrainConfig>;
  extras: UrlExtras;
  /** One readable sentence per bad or unknown parameter, naming it. */
  errors: string[];
}

/** A numeric field's range, as the settings form checks it. */
interface NumberRule {
  integer: boolean;
  min: number;
  minExclusive?: boolean;
  max?: number;
}

const NUMBER_FIELDS = {
  rank: { integer: true, min: 1 },
  alpha: { integer: false, min: 0, minExclusive: true },
  dropout: { integer: false, min: 0, max: 0.99 },
  lr: { integer: false, min: 0, minExclusive: true },
  warmup: { integer: true, min: 0 },
  steps: { integer: true, min: 1 },
  batch: { integer: true, min: 1 },
  seq: { integer: true, min: 1 },
  seed: { integer: true, min: 0 },
  gradAccum: { integer: true, min: 1 },
  weightDecay: { integer: false, min: 0 },
  maxGradNorm: { integer: false, min: 0 },
  evalEvery: { integer: true, min: 0 },
  evalBatches: { integer: true, min: 0 },
} satisfies Record<string, NumberRule>;

type NumberField = keyof typeof NUMBER_FIELDS;
const NUMBER_KEYS = Object.keys(NUMBER_FIELDS) as NumberField[];
/** The run's saving and measuring cadence: whole numbers of steps, 0 = off. */
const EVERY_KEYS = ['checkpointEvery', 'spectraEvery'] as const;
const EVERY_RULE: NumberRule = { integer: true, min: 0 };
const KNOWN_KEYS = new Set<string>(['method', 'rslora', 'targets', 'moraType', 'schedule', 'recompute', 'demo', 'probe', ...NUMBER_KEYS, ...EVERY_KEYS]);

/** The query string (without "?") for `config`; `extras.methodId` names the row (rsLoRA is LoRA + rslora). */
export function configToQuery(config: TrainConfig, extras: UrlExtras = {}): string {
  const q = new URLSearchParams();
  q.set('method', extras.methodId ?? config.method);
  for (const key of NUMBER_KEYS.slice(0, 3)) q.set(key, String(config[key])); // rank, alpha, dropout
  q.set('rslora', config.rslora ? '1' : '0');
  q.set('targets', config.targets.join(','));
  q.set('moraType', String(config.moraType));
  q.set('schedule', config.schedule);
  for (const key of NUMBER_KEYS.slice(3)) q.set(key, String(config[key]));
  q.set('recompute', extras.recomputeAuto ? 'auto' : config.recompute ? '1' : '0');
  if (extras.demo) q.set('demo', extras.demo);
  if (extras.probe) q.set('probe', extras.probe);
  for (const key of EVERY_KEYS) if (extras[key] !== undefined) q.set(key, String(extras[key]));
  // URLSearchParams escapes "," as %2C: keep the target list readable.
  return q.toString().replace(/%2C/g, ',');
}

function checkNumber(raw: string, rule: NumberRule): string | null {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) return 'is not a number';
  if (rule.integer && !Number.isInteger(n)) return 'must be a whole number';
  if (rule.minExclusive ? n <= rule.min : n < rule.min) return rule.minExclusive ? `must be more than ${rule.min}` : `must be at least ${rule.min}`;
  if (rule.max !== undefined && n > rule.max) return `must be at most ${rule.max}`;
  return null;
}

/** Read a query ("?a=1&b=2" or "a=1&b=2"): the valid settings, and a message for each bad one. */
export function queryToConfig(query: string): ParsedQuery {
  const q = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
  const config: Partial<TrainConfig> = {};
  const extras: UrlExtras = {};
  const errors: string[] = [];
  const bad = (key: string, raw: string, why: string) => errors.push(`${key}: "${raw}" ${why}; the default is kept.`);

  for (const key of new Set(q.keys())) {
    if (!KNOWN_KEYS.has(key)) errors.push(`${key}: not a setting the studio knows; ignored.`);
  }

  const method = q.get('method');
  if (method !== null) {
    const row = METHOD_ROWS.find((r) => r.id === method);
    if (!row) bad('method', method, `is not a method (use ${METHOD_ROWS.map((r) => r.id).join(', ')})`);
    else if (!methodAvailable(row)) bad('method', method, 'is not in the engine yet');
    else extras.methodId = row.id;
  }

  for (const key of NUMBER_KEYS) {
    const raw = q.get(key);
    if (raw === null) continue;
    const why = checkNumber(raw, NUMBER_FIELDS[key]);
    if (why) bad(key, raw, why);
    else config[key] = Number(raw);
  }

  const rslora = q.get('rslora');
  if (rslora !== null) {
    if (['1', 'true'].includes(rslora)) config.rslora = true;
    else if (['0', 'false'].includes(rslora)) config.rslora = false;
    else bad('rslora', rslora, 'must be 1 or 0');
  }

  const targets = q.get('targets');
  if (targets !== null) {
    try {
      config.targets = parseTargets(targets);
    } catch {
      bad('targets', targets, `must list modules from ${LINEAR_MODULES.join(', ')}`);
    }
  }

  const moraType = q.get('moraType');
  if (moraType !== null) {
    if (moraType === '1' || moraType === '6') config.moraType = Number(moraType) as 1 | 6;
    else bad('moraType', moraType, 'must be 1 or 6');
  }

  const schedule = q.get('schedule');
  if (schedule !== null) {
    if (isSchedule(schedule)) config.schedule = schedule;
    else bad('schedule', schedule, `must be one of ${SCHEDULES.join(', ')}`);
  }

  const recompute = q.get('recompute');
  if (recompute !== null) {
    if (['1', 'true'].includes(recompute)) config.recompute = true;
    else if (['0', 'false'].includes(recompute)) config.recompute = false;
    else if (recompute === 'auto') extras.recomputeAuto = true;
    else bad('recompute', recompute, 'must be 1, 0 or auto');
  }

  const demo = q.get('demo');
  if (demo !== null) {
    if (/^[a-z0-9-]+$/.test(demo)) extras.demo = demo;
    else bad('demo', demo, 'is not a demo dataset id');
  }

  const probe = q.get('probe');
  if (probe !== null) {
    if (/^[a-z0-9-]+$/.test(probe)) extras.probe = probe;
    else bad('probe', probe, 'is not a demo dataset id or "none"');
  }

  for (const key of EVERY_KEYS) {
    const raw = q.get(key);
    if (raw === null) continue;
    const why = checkNumber(raw, EVERY_RULE);
    if (why) bad(key, raw, why);
    else extras[key] = Number(raw);
  }

  // rsLoRA is its own row: a LoRA link with rslora=1 means that row.
  if (extras.methodId === 'lora' && config.rslora === true) extras.methodId = 'rslora';
  return { config, extras, errors };
}
