/** One experiment from start to results: its runs (run-experiment.ts), then the paper's findings against them. */
import { experimentById, type Experiment } from './experiments.ts';
import { runExperiment, type LabHost } from './run-experiment.ts';
import type { WeightSource } from '../io/weight-source.ts';
import type { ExperimentId, LabResults } from './types.ts';

/** Our side of the comparison: the model named as the report states it, and its smallest layer side. */
export interface LabModelInfo {
  /** e.g. "the built-in model (264,320 parameters, dim 64, 4 layers)". */
  name: string;
  width: number;
}

/** Our model as the report names it: `what` (e.g. "the built-in model") with its parameter count and shape. */
export function labModelInfo(base: WeightSource, what: string): LabModelInfo {
  const c = base.config;
  let n = 0;
  for (const e of base.entries) n += e.shape.reduce((a, d) => a * d, 1);
  return { name: `${what} (${n.toLocaleString('en-US')} parameters, dim ${c.dim}, ${c.nLayers} layers)`, width: Math.min(c.dim, c.hiddenDim) };
}

/** The scale sentence stated beside the paper's. */
export function scaleOf(exp: Experiment, model: LabModelInfo, quick: boolean): string {
  const plan = exp.plan(quick);
  const data = plan.data.kind === 'uuid'
    ? `${plan.data.pairs} UUID pairs (${plan.data.groups.reduce((a, b) => a + b, 0)} hex digits each side)`
    : 'the new-facts demo';
  return `${model.name}, ${data}, ${quick ? 'quick version' : 'full version'}`;
}

/** Run experiment `id` (quick or full) on `host` and judge its findings. */
export async function reproduce(id: ExperimentId, quick: boolean, host: LabHost, model: LabModelInfo): Promise<LabResults> {
  const exp = experimentById(id);
  const runs = await runExperiment(exp.plan(quick), host);
  return { experiment: exp.id, paper: exp.paper, runs, findings: exp.findings(runs, { scale: scaleOf(exp, model, quick), width: model.width }) };
}
