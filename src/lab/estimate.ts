/**
 * How long a preset will take here: each run's set-up (upload, Trainer init with PiSSA/MiLoRA's
 * SVDs) and step time are measured on this GPU by training that run's exact settings for a few
 * steps (the first one a warm-up, not counted), then scaled to the run's steps. Measurements
 * (generations, SVDs of the spectra and intruders, evals) are not included: the estimate says so.
 */
import { LlamaModel } from '../model/llama.ts';
import { prepareData } from '../train/data.ts';
import { runTraining } from '../train/run-loop.ts';
import { Trainer } from '../train/trainer.ts';
import { runSettings, targetText, type LabHost } from './run-experiment.ts';
import type { LabPlan } from './types.ts';

/** Steps trained to time a run: one warm-up, then the timed ones. */
export const ESTIMATE_STEPS = 5;

export interface RunEstimate {
  name: string;
  steps: number;
  /** Upload and Trainer init, measured. */
  setupMs: number;
  /** One optimizer step, measured (mean of the steps after the warm-up). */
  stepMs: number;
  /** setupMs + steps × stepMs. */
  totalMs: number;
}

export interface PlanEstimate {
  runs: RunEstimate[];
  /** Sum over the runs: training only, measurements not included. */
  totalMs: number;
}

/** Time every run of `plan` on `host.gpu` (see the file comment). */
export async function estimatePlan(plan: LabPlan, host: Pick<LabHost, 'gpu' | 'weights' | 'tokenizer' | 'seed'> & { texts: Pick<LabHost['texts'], 'facts'> }): Promise<PlanEstimate> {
  const runs: RunEstimate[] = [];
  for (const spec of plan.runs) {
    const config = runSettings(plan, spec, host.seed);
    const data = targetText(plan, host.seed, host.texts);
    const target = prepareData(data.fileName, data.text, host.tokenizer, { seqLen: config.seq, evalFraction: 0, seed: host.seed });
    const t0 = performance.now();
    const model = LlamaModel.upload(host.gpu, host.weights);
    let trainer: Trainer | undefined;
    try {
      trainer = await Trainer.init(model, { ...config, steps: ESTIMATE_STEPS });
      await host.gpu.sync();
      const setupMs = performance.now() - t0;
      const times: number[] = [];
      await runTraining(
        { trainer, train: target.train, eval: [], padId: host.tokenizer.eosId, readEvery: 1 },
        { steps: (points) => void times.push(...points.map((p) => p.elapsedMs)) },
      );
      if (times.length < 2) throw new Error(`estimate of ${spec.name}: ${times.length} step(s) timed, need 2`);
      const stepMs = (times.at(-1)! - times[0]!) / (times.length - 1);
      runs.push({ name: spec.name, steps: config.steps, setupMs, stepMs, totalMs: setupMs + config.steps * stepMs });
    } finally {
      trainer?.dispose();
      model.dispose();
    }
  }
  return { runs, totalMs: runs.reduce((a, r) => a + r.totalMs, 0) };
}
