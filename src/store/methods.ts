/**
 * The fine-tuning methods the studio offers, one row each: what the picker shows (a sentence and
 * the paper), what the row sets in the TrainConfig, and the lr and steps a run of it starts from.
 * A row whose engine method is not in the engine's METHODS is shown disabled as "coming"; adding
 * a method to the engine enables its row.
 */
import { METHODS, type Method, type TrainConfig } from '../schema/train-config.ts';
import { methodDefaults, type MethodDefaults } from '../schema/method-defaults.ts';

export type MethodId = 'full' | 'lora' | 'rslora' | 'pissa' | 'milora' | 'dora' | 'mora';

/** Hyperparameter groups a method uses (the form hides the others). */
export interface MethodUses {
  rank: boolean;
  alpha: boolean;
  dropout: boolean;
  targets: boolean;
  moraType: boolean;
}

export interface MethodRow {
  id: MethodId;
  label: string;
  /** The engine method that trains this row (a string: rows may name methods the engine lacks yet). */
  engine: string;
  /** Settings the row fixes besides `method`, e.g. rsLoRA's scaling. */
  preset: Partial<TrainConfig>;
  /** The lr and steps a run of this method starts from (measured: docs/defaults.md). */
  defaults: MethodDefaults;
  /** One sentence: what the method trains and why. */
  summary: string;
  paper: { title: string; arxiv: string };
  uses: MethodUses;
}

const ADAPTER: MethodUses = { rank: true, alpha: true, dropout: true, targets: true, moraType: false };

export const METHOD_ROWS: readonly MethodRow[] = [
  {
    id: 'full',
    label: 'Full fine-tuning',
    engine: 'full',
    preset: { rslora: false },
    defaults: methodDefaults('full'),
    summary:
      'Trains every weight of the model: the most capacity, but gradients and two Adam moments for every parameter, and the most forgetting of what the model knew.',
    paper: { title: 'LoRA Learns Less and Forgets Less', arxiv: '2405.09673' },
    uses: { rank: false, alpha: false, dropout: false, targets: false, moraType: false },
  },
  {
    id: 'lora',
    label: 'LoRA',
    engine: 'lora',
    preset: { rslora: false },
    defaults: methodDefaults('lora'),
    summary: 'Freezes W and learns a low-rank update ΔW = (α/r)·B·A, with B starting at zero so training starts from the base model.',
    paper: { title: 'LoRA: Low-Rank Adaptation of Large Language Models', arxiv: '2106.09685' },
    uses: ADAPTER,
  },
  {
    id: 'rslora',
    label: 'rsLoRA',
    engine: 'lora',
    preset: { rslora: true },
    defaults: methodDefaults('lora', true),
    summary: 'LoRA with the update scaled by α/√r instead of α/r, so higher ranks keep learning instead of stalling.',
    paper: { title: 'A Rank Stabilization Scaling Factor for Fine-Tuning with LoRA', arxiv: '2312.03732' },
    uses: ADAPTER,
  },
  {
    id: 'pissa',
    label: 'PiSSA',
    engine: 'pissa',
    preset: { rslora: false },
    defaults: methodDefaults('pissa'),
    summary: 'LoRA initialised from the top-r singular vectors of W (its principal subspace), the rest frozen as a residual, so it converges faster.',
    paper: { title: 'PiSSA: Principal Singular Values and Singular Vectors Adaptation', arxiv: '2404.02948' },
    uses: ADAPTER,
  },
  {
    id: 'milora',
    label: 'MiLoRA',
    engine: 'milora',
    preset: { rslora: false },
    defaults: methodDefaults('milora'),
    summary: 'LoRA initialised from the smallest singular components of W (its minor subspace), to learn new things while disturbing what it knows less.',
    paper: { title: 'MiLoRA: Harnessing Minor Singular Components for Parameter-Efficient LLM Finetuning', arxiv: '2406.09044' },
    uses: ADAPTER,
  },
  {
    id: 'dora',
    label: 'DoRA',
    engine: 'dora',
    preset: { rslora: false },
    defaults: methodDefaults('dora'),
    summary: 'Splits each weight into a magnitude vector and a direction, learning the magnitude directly and the direction with LoRA.',
    paper: { title: 'DoRA: Weight-Decomposed Low-Rank Adaptation', arxiv: '2402.09353' },
    uses: ADAPTER,
  },
  {
    id: 'mora',
    label: 'MoRA',
    engine: 'mora',
    preset: { rslora: false },
    defaults: methodDefaults('mora'),
    summary:
      'One square matrix per module between fixed compress and decompress maps: a high-rank update for the parameters LoRA of rank r would use (type 1 shares rows, type 6 rotates).',
    paper: { title: 'MoRA: High-Rank Updating for Parameter-Efficient Fine-Tuning', arxiv: '2405.12130' },
    uses: { rank: true, alpha: false, dropout: true, targets: true, moraType: true },
  },
];

/** Whether the engine can train `row` (its method is in METHODS). */
export function methodAvailable(row: MethodRow): boolean {
  return (METHODS as readonly string[]).includes(row.engine);
}

/** Whether `id` names a row of the picker (e.g. a method id read back from storage). */
export function isMethodId(id: string): id is MethodId {
  return METHOD_ROWS.some((r) => r.id === id);
}

export function methodRow(id: MethodId): MethodRow {
  const row = METHOD_ROWS.find((r) => r.id === id);
  if (!row) throw new Error(`unknown method "${id}"`);
  return row;
}

/** `config` switched to the method of row `id` (its preset applied). */
export function withMethod(config: TrainConfig, id: MethodId): TrainConfig {
  const row = methodRow(id);
  if (!methodAvailable(row)) throw new Error(`${row.label} is not in the engine yet`);
  return { ...config, ...row.preset, method: row.engine as Method };
}

/** The fields a row gives a default for. */
const DEFAULT_FIELDS = ['lr', 'steps'] as const satisfies readonly (keyof MethodDefaults & keyof TrainConfig)[];

/**
 * `config` (set up for row `from`) switched to row `to`: its preset applied, and `to`'s default lr
 * and steps in place of each one the user left alone — not in `edited` (typed into the form) and
 * still `from`'s default (a link's own value is kept too).
 */
export function switchMethod(config: TrainConfig, from: MethodId, to: MethodId, edited: readonly (keyof TrainConfig)[] = []): TrainConfig {
  const next = withMethod(config, to);
  const was = methodRow(from).defaults;
  const now = methodRow(to).defaults;
  for (const f of DEFAULT_FIELDS) if (!edited.includes(f) && config[f] === was[f]) next[f] = now[f];
  return next;
}

export const arxivUrl = (id: string): string => `https://arxiv.org/abs/${id}`;
