/**
 * The current run's metrics for the charts. The log is appended to in place as steps arrive and
 * `metricsRevision` counts the appends: charts watch it with a transient subscription
 * (useAppStore.subscribe) and redraw themselves, so a step never re-renders the rest of the app.
 */
import type { EvalPoint, RunStep } from '../schema/metrics.ts';
import type { SliceCreator } from './app-state.ts';

export interface MetricsLog {
  runId: number;
  totalSteps: number;
  train: RunStep[];
  eval: EvalPoint[];
}

export interface ChartOptions {
  logScale: boolean;
  showLr: boolean;
  showEval: boolean;
  /** The forgetting-probe loss series, when the run has a probe. */
  showForget: boolean;
}

export interface ChartsSlice {
  /** Mutated in place; read it when metricsRevision changes. */
  metrics: MetricsLog;
  metricsRevision: number;
  chartOptions: ChartOptions;
  setChartOption<K extends keyof ChartOptions>(key: K, value: ChartOptions[K]): void;
  /** Start the log of run `runId`: empty, or with a resumed run's points up to its checkpoint. */
  resetMetrics(runId: number, totalSteps: number, history?: { train: RunStep[]; eval: EvalPoint[] }): void;
  addStep(point: RunStep): void;
  addEval(point: EvalPoint): void;
}

export const emptyLog = (): MetricsLog => ({ runId: 0, totalSteps: 0, train: [], eval: [] });

export const createChartsSlice: SliceCreator<ChartsSlice> = (set, get) => ({
  metrics: emptyLog(),
  metricsRevision: 0,
  chartOptions: { logScale: false, showLr: true, showEval: true, showForget: true },
  setChartOption(key, value) {
    set((s) => ({ chartOptions: { ...s.chartOptions, [key]: value } }));
  },
  resetMetrics(runId, totalSteps, history) {
    const train = history?.train.slice() ?? [], evals = history?.eval.slice() ?? [];
    set((s) => ({ metrics: { runId, totalSteps, train, eval: evals }, metricsRevision: s.metricsRevision + 1 }));
  },
  addStep(point) {
    get().metrics.train.push(point);
    set((s) => ({ metricsRevision: s.metricsRevision + 1 }));
  },
  addEval(point) {
    get().metrics.eval.push(point);
    set((s) => ({ metricsRevision: s.metricsRevision + 1 }));
  },
});
