/**
 * The Lab (issue 14): the four paper reproductions as the engine lists them, each preset's time
 * estimate measured on this GPU, a preset running in the engine (which run, overall progress, the
 * live training losses and measurement points of each run), its result (results.json's results,
 * report.md and the charts), and the preset a reload interrupted, offered for resume. Finished Lab
 * runs are stored runs: "Open these runs in Compare" reads the saved runs and ticks them. Also the
 * spectrum view's intruder dimensions of a run (src/spectra/intruders.ts, computed in the worker).
 */
import type {
  CurvePoint, ExperimentId, LabExperimentSummary, LabPending, LabProgressInfo, LabReport, LabResults, ModuleIntruders, PlanEstimate,
} from '../workers/protocol.ts';
import type { SliceCreator } from './app-state.ts';
import { engine } from './engine.ts';
import { modelName } from './run-slice.ts';
import { runActive } from './run-status.ts';

/** One run of the preset on screen: its name, losses [step, loss] and measurement points. */
export interface LabLiveRun {
  name: string;
  losses: [number, number][];
  points: CurvePoint[];
  /** Saved as this run id once finished (0: not saved). */
  runId: number | null;
}

export type LabEstimateState = { state: 'measuring' } | { state: 'done'; estimate: PlanEstimate } | { state: 'failed'; message: string };

export interface LabOutcome {
  results: LabResults;
  report: LabReport;
  runIds: number[];
  ms: number;
  quick: boolean;
}

export interface LabSlice {
  labExperiments: LabExperimentSummary[] | null;
  labPending: LabPending | null;
  /** Run the quick version (a few steps on tiny shapes) instead of the full one. */
  labQuick: boolean;
  labSeed: number;
  /** By labEstimateKey(experiment, quick). */
  labEstimates: Record<string, LabEstimateState>;
  labStatus: 'idle' | 'running' | 'stopping';
  labExperiment: ExperimentId | null;
  labProgress: LabProgressInfo | null;
  labLive: LabLiveRun[];
  labResult: LabOutcome | null;
  /** What happened last, e.g. "Stopped after 1 of 3 runs: Resume continues it." */
  labMessage: string | null;
  labError: string | null;
  /** The Lab panel is open: its time estimates are measured (each trains a few steps per run). */
  labOpen: boolean;
  setLabOpen(open: boolean): void;
  setLabQuick(quick: boolean): void;
  setLabSeed(seed: number): void;
  /** List the experiments and the interrupted preset. */
  loadLab(): Promise<void>;
  estimateLab(id: ExperimentId): Promise<void>;
  /** Estimate every experiment at the chosen size, one after another. */
  estimateLabAll(): Promise<void>;
  runLab(id: ExperimentId, resume?: boolean): Promise<void>;
  stopLab(): Promise<void>;
  discardLabPending(): Promise<void>;
  /** Read the saved runs and tick the finished preset's runs in Compare runs (only them). */
  openLabRunsInCompare(): Promise<void>;
  /** The spectrum view's intruder dimensions: every trained module of run `runId` after step `step`. */
  intruders: { runId: number; step: number; modules: ModuleIntruders[]; ms: number } | null;
  intrudersStatus: 'idle' | 'computing';
  intrudersError: string | null;
  computeIntruders(runId: number): Promise<void>;
}

/** The estimate the engine is measuring now (it holds the engine meanwhile). */
let estimating: Promise<void> = Promise.resolve();

/** Why the Lab holds the engine now (a preset, or the few steps of a time estimate), or null. */
export function labBusy(s: Pick<LabSlice, 'labStatus' | 'labEstimates'>): string | null {
  if (s.labStatus !== 'idle') return 'A Lab preset is running: wait for it, or stop it in the Lab panel.';
  if (Object.values(s.labEstimates).some((e) => e.state === 'measuring')) return 'The Lab is timing a few steps for its estimates: a moment.';
  return null;
}

export const labEstimateKey = (id: ExperimentId, quick: boolean): string => `${id}/${quick ? 'quick' : 'full'}`;

export const createLabSlice: SliceCreator<LabSlice> = (set, get) => ({
  labExperiments: null,
  labPending: null,
  labQuick: false,
  labSeed: 0,
  labEstimates: {},
  labStatus: 'idle',
  labExperiment: null,
  labProgress: null,
  labLive: [],
  labResult: null,
  labMessage: null,
  labError: null,
  setLabQuick(quick) {
    // The estimate of the version no longer shown stops (it is measured again when that version is picked again).
    const other = (get().labExperiments ?? []).find((e) => get().labEstimates[labEstimateKey(e.id, !quick)]?.state === 'measuring');
    set({ labQuick: quick });
    if (other) void engine().request({ type: 'labCancel', estimate: { experiment: other.id, quick: !quick } }).result.catch(() => undefined);
    if (get().labOpen) void get().estimateLabAll();
  },
  labOpen: false,
  setLabOpen(open) {
    set({ labOpen: open }); // the panel then measures the estimates (and again whenever the engine is free)
  },
  async estimateLabAll() {
    for (const e of get().labExperiments ?? []) await get().estimateLab(e.id);
  },
  setLabSeed(seed) {
    if (Number.isInteger(seed) && seed >= 0) set({ labSeed: seed });
  },
  async loadLab() {
    try {
      const { listing } = await engine().request({ type: 'labList' }).result;
      set({
        labExperiments: listing.experiments, labPending: listing.pending,
        labError: null, labMessage: listing.elsewhere ? 'A Lab preset is running in another tab of this browser.' : get().labMessage,
      });
      if (listing.pending) set({ labQuick: listing.pending.quick, labSeed: listing.pending.seed });
    } catch (e) {
      set({ labError: (e as Error).message });
    }
  },
  async estimateLab(id) {
    // One estimate at a time (each holds the engine): wait for the one measuring now.
    // It measures the version shown when asked; if the other one is picked meanwhile, it is left out.
    const quick = get().labQuick;
    const before = estimating;
    let release!: () => void;
    estimating = new Promise<void>((r) => (release = r));
    try {
      await before;
      const key = labEstimateKey(id, quick);
      const kept = get().labEstimates[key];
      // Not while a preset or a training run holds the engine: the panel asks again once it is free.
      if (get().labQuick !== quick || kept?.state === 'done' || get().labStatus !== 'idle' || runActive(get().runStatus)) return;
      set((s) => ({ labEstimates: { ...s.labEstimates, [key]: { state: 'measuring' } } }));
      try {
        const s0 = get();
        const origin = s0.modelOrigin ?? { kind: 'files' as const, files: s0.model?.files ?? [] };
        const r = await engine().request({ type: 'labEstimate', experiment: id, quick, seed: s0.labSeed, origin }).result;
        set((s) => ({ labEstimates: { ...s.labEstimates, [key]: { state: 'done', estimate: r.estimate } } }));
      } catch (e) {
        // A stopped estimate (a preset was started) is measured again later; a failure is shown.
        const stopped = (e as { code?: string }).code === 'stopped';
        set((s) => {
          const { [key]: _dropped, ...rest } = s.labEstimates;
          return { labEstimates: stopped ? rest : { ...rest, [key]: { state: 'failed', message: (e as Error).message } } };
        });
      }
    } finally {
      release();
    }
  },
  async runLab(id, resume = false) {
    const s0 = get();
    if (s0.labStatus !== 'idle' || !s0.model) return;
    const exp = s0.labExperiments?.find((e) => e.id === id);
    if (!exp) return;
    const quick = resume && s0.labPending ? s0.labPending.quick : s0.labQuick;
    const seed = resume && s0.labPending ? s0.labPending.seed : s0.labSeed;
    const runs = exp[quick ? 'quick' : 'full'].runs;
    set({
      labStatus: 'running', labExperiment: id, labProgress: null, labResult: null, labMessage: null, labError: null,
      labLive: runs.map((r) => ({ name: r.name, losses: [], points: [], runId: null })),
    });
    // An estimate holds the engine: stop it (it is measured again afterwards), then wait for it to let go.
    if (Object.values(get().labEstimates).some((e) => e.state === 'measuring')) await engine().request({ type: 'labCancel' }).result.catch(() => undefined);
    await estimating;
    const pending = engine().request({
      type: 'labRun', experiment: id, quick, seed, resume,
      modelName: modelName(s0), origin: s0.modelOrigin ?? { kind: 'files', files: s0.model.files },
    });
    const live = (run: number, f: (r: LabLiveRun) => LabLiveRun) =>
      set((s) => ({ labLive: s.labLive.map((r, i) => (i === run ? f(r) : r)) }));
    const off = engine().subscribe((e) => {
      if (e.id !== pending.id) return;
      if (e.type === 'labProgress') {
        set({ labProgress: e.progress });
        if (e.progress.step === 0) live(e.progress.run, (r) => ({ ...r, losses: [], points: [] }));
      } else if (e.type === 'labSteps') live(e.run, (r) => ({ ...r, losses: [...r.losses, ...e.losses] }));
      else if (e.type === 'labPoint') live(e.run, (r) => ({ ...r, points: [...r.points.filter((p) => p.step !== e.point.step), e.point] }));
      else if (e.type === 'labRunDone') {
        void get().refreshSavedRuns(); // the finished run is a saved run now: Saved runs and Compare list it
        live(e.run, (r) => ({
          ...r, runId: e.runId,
          losses: e.result.metrics.loss.map((l, i): [number, number] => [i + 1, l]), points: e.result.metrics.curve,
        }));
      }
    });
    try {
      const end = await pending.result;
      if (end.type === 'labFinished') {
        set({ labResult: { results: end.results, report: end.report, runIds: end.runIds, ms: end.ms, quick }, labPending: null });
      } else {
        set({ labMessage: `Stopped after ${end.done} of ${runs.length} run${runs.length === 1 ? '' : 's'}: its finished runs are kept, and Resume continues from there.` });
      }
    } catch (e) {
      set({ labError: (e as Error).message });
    } finally {
      off();
      set({ labStatus: 'idle' });
      await get().refreshSavedRuns();
      try {
        const { listing } = await engine().request({ type: 'labList' }).result;
        set({ labPending: listing.pending });
      } catch {
        // the listing is only for the resume offer
      }
    }
  },
  async stopLab() {
    if (get().labStatus !== 'running') return;
    set({ labStatus: 'stopping' });
    try {
      await engine().request({ type: 'labCancel' }).result;
    } catch (e) {
      set({ labError: (e as Error).message });
    }
  },
  async discardLabPending() {
    try {
      await engine().request({ type: 'labDiscard' }).result;
      set({ labPending: null });
    } catch (e) {
      set({ labError: (e as Error).message });
    }
  },
  intruders: null,
  intrudersStatus: 'idle',
  intrudersError: null,
  async computeIntruders(runId) {
    if (get().intrudersStatus !== 'idle') return;
    set({ intrudersStatus: 'computing', intrudersError: null });
    try {
      const r = await engine().request({ type: 'intruders', runId }).result;
      set({ intruders: { runId: r.runId, step: r.step, modules: r.modules, ms: r.ms } });
    } catch (e) {
      set({ intrudersError: (e as Error).message });
    } finally {
      set({ intrudersStatus: 'idle' });
    }
  },
  async openLabRunsInCompare() {
    const ids = (get().labResult?.runIds ?? []).filter((id) => id > 0);
    await get().refreshSavedRuns();
    const s = get();
    for (const id of s.compareRunIds) if (!ids.includes(id)) s.setRunCompared(id, false);
    for (const id of ids) s.setRunCompared(id, true);
  },
});
