/**
 * How long a preset will take here, measured on this GPU: each run of the plan is run for a few
 * steps through the same code as the real preset (runExperiment), with a measurement before the
 * first step and after the last. That gives per run its set-up (upload, Trainer init with
 * PiSSA/MiLoRA's SVDs, the base distributions), its step time (the steps after the first, a
 * warm-up) and the cost of one measurement point (generations, evals, spectra, intruders, as the
 * plan asks); the estimate is set-up + steps × step time + measurement points × their cost.
 * `host.shouldStop` ends it early (LabStopped), e.g. when the user starts a preset meanwhile.
 */
import { runExperiment, runSettings, type LabHost } from './run-experiment.ts';
import type { LabPlan } from './types.ts';

/** Steps each run trains for its timing: one warm-up, then the timed ones. */
export const ESTIMATE_STEPS = 5;

export interface RunEstimate {
  name: string;
  steps: number;
  /** Upload, Trainer init and the measures' set-up, measured. */
  setupMs: number;
  /** One optimizer step, measured (mean of the steps after the warm-up). */
  stepMs: number;
  /** Measurement points of the real run (before the first step, every `every` steps, after the last). */
  points: number;
  /** One measurement point, measured (mean of the two the timing run took). */
  pointMs: number;
  /** setupMs + steps × stepMs + points × pointMs. */
  totalMs: number;
}

export interface PlanEstimate {
  runs: RunEstimate[];
  /** Sum over the runs. */
  totalMs: number;
}

/** The measurement steps of a run of `steps` steps measured every `every`: 0, every, 2·every, …, and the last. */
export function measurementPoints(steps: number, every: number): number {
  const s = new Set<number>([0, steps]);
  for (let k = every; k <= steps; k += every) s.add(k);
  return s.size;
}

/** Time every run of `plan` on `host.gpu` (see the file comment). */
export async function estimatePlan(plan: LabPlan, host: Pick<LabHost, 'gpu' | 'base' | 'tokenizer' | 'texts' | 'seed' | 'shouldStop'>): Promise<PlanEstimate> {
  const short: LabPlan = {
    ...plan,
    every: ESTIMATE_STEPS,
    runs: plan.runs.map((r) => ({ ...r, config: { ...r.config, steps: ESTIMATE_STEPS } })),
  };
  const marks = plan.runs.map(() => ({ start: 0, first: 0, end: 0, elapsed: [] as number[] }));
  let last = performance.now();
  await runExperiment(short, {
    ...host,
    readEvery: 1,
    onProgress(p) {
      if (p.step === 0) Object.assign(marks[p.run]!, { start: last, first: performance.now() });
    },
    onSteps(run, points) {
      marks[run]!.elapsed.push(...points.map((p) => p.elapsedMs));
    },
    onRunDone(run) {
      marks[run]!.end = last = performance.now();
    },
  });
  const runs = plan.runs.map((spec, i): RunEstimate => {
    const m = marks[i]!;
    if (m.elapsed.length < 2) throw new Error(`estimate of ${spec.name}: ${m.elapsed.length} step(s) timed, need 2`);
    const stepMs = (m.elapsed.at(-1)! - m.elapsed[0]!) / (m.elapsed.length - 1);
    // The timing run's two measurement points took what its steps did not.
    const pointMs = Math.max(0, (m.end - m.first - m.elapsed.at(-1)!) / 2);
    const steps = runSettings(plan, spec, host.seed).steps;
    const points = measurementPoints(steps, plan.every);
    const setupMs = m.first - m.start;
    return { name: spec.name, steps, setupMs, stepMs, points, pointMs, totalMs: setupMs + steps * stepMs + points * pointMs };
  });
  return { runs, totalMs: runs.reduce((a, r) => a + r.totalMs, 0) };
}
