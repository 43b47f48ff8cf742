/**
 * The spectrum view: which run (the model's current one, or an earlier run picked by the user) and
 * which layer/module are on screen, optionally a second run beside it, the records the engine
 * computed for them (σ of W₀, W₀+ΔW, ΔW), and the spectra rounds it streams during training
 * (rank90 and overlaps per module over steps, with the steps of all rounds, so the view can say
 * when a module has fewer points). The module on screen is told to the engine, whose rounds
 * compute it first.
 */
import type { ModuleSpectrum, SpectraEntry, SpectraRound } from '../schema/metrics.ts';
import { moduleName, type LinearModule } from '../schema/tensors.ts';
import type { AppState, SliceCreator } from './app-state.ts';
import { engine } from './engine.ts';
import { runActive } from './run-status.ts';

/** One module's numbers at one step. */
export interface SpectraPoint {
  step: number;
  delta_rank90: number;
  overlap_principal: number;
  overlap_minor: number;
}

/** A record the engine computed: of run `runId` (0 = the base model) after step `step`. */
export interface SpectrumView {
  runId: number;
  step: number;
  record: ModuleSpectrum;
}

export type SpectrumStatus = 'idle' | 'computing' | 'failed';

/** The engine's default time per spectra round (ms). */
export const DEFAULT_ROUND_BUDGET_MS = 300;

export interface SpectrumSlice {
  spectrumLayer: number;
  spectrumModule: LinearModule;
  /** The run on screen; null follows the model's current run (the newest, or the base model before any). */
  spectrumRunId: number | null;
  /** A second run shown beside it (same module); null = none. */
  spectrumCompareRunId: number | null;
  /** Computed records by spectrumKey(runId, module name). */
  spectrumRecords: Record<string, SpectrumView>;
  spectrumStatus: SpectrumStatus;
  spectrumError: string | null;
  /** Steps between two spectra rounds during training; 0 = off. */
  spectraEvery: number;
  /** Time one round may take between two steps (the module on screen is computed whatever it costs). */
  spectraBudgetMs: number;
  /** The run the history belongs to. */
  spectraRunId: number;
  /** Per module name, its points in step order. */
  spectraHistory: Record<string, SpectraPoint[]>;
  /** The steps of that run's spectra rounds, ascending. */
  spectraRoundSteps: number[];
  setSpectrumLayer(layer: number): void;
  setSpectrumModule(module: LinearModule): void;
  /** Both at once (a heatmap cell). */
  setSpectrumCell(layer: number, module: LinearModule): void;
  /** Show run `runId` (null: follow the current run). */
  setSpectrumRun(runId: number | null): void;
  setSpectrumCompareRun(runId: number | null): void;
  setSpectraEvery(every: number): Promise<void>;
  setSpectraBudget(ms: number): Promise<void>;
  /** Ask the engine for the records on screen (`force`: again, even when one is kept). */
  computeSpectrum(force?: boolean): Promise<void>;
  /** Listen to the engine's runs and spectra rounds; returns the unsubscribe function. */
  watchSpectra(): () => void;
}

export const spectrumKey = (runId: number, name: string): string => `${runId}/${name}`;

/** The run the model holds now (0: the base model). */
export const currentRunId = (s: Pick<AppState, 'tuned'>): number => s.tuned?.runId ?? 0;

/** The run on screen, resolved. */
export const viewedRunId = (s: Pick<AppState, 'tuned' | 'spectrumRunId'>): number => s.spectrumRunId ?? currentRunId(s);

/** The runs whose records are on screen: the viewed one, then the one beside it. */
export function shownRunIds(s: Pick<AppState, 'tuned' | 'spectrumRunId' | 'spectrumCompareRunId'>): number[] {
  const main = viewedRunId(s);
  return s.spectrumCompareRunId !== null && s.spectrumCompareRunId !== main ? [main, s.spectrumCompareRunId] : [main];
}

/** The history as spectra rounds (one entry per module and step), e.g. for updateSummary. */
export function historyRounds(history: Record<string, SpectraPoint[]>): SpectraRound[] {
  const byStep = new Map<number, SpectraEntry[]>();
  for (const [name, points] of Object.entries(history)) {
    for (const p of points) {
      const entries = byStep.get(p.step) ?? [];
      entries.push({ name, delta_rank90: p.delta_rank90, overlap_principal: p.overlap_principal, overlap_minor: p.overlap_minor });
      byStep.set(p.step, entries);
    }
  }
  return [...byStep].map(([step, entries]) => ({ step, entries }));
}

/**
 * Why a module has fewer points than there were rounds, e.g. "3 of 10 rounds: the round's time budget
 * covered other modules"; null when it has a point for every round (or there were none).
 */
export function missingRoundsNote(points: number, rounds: number): string | null {
  if (rounds === 0 || points >= rounds) return null;
  return `${points} of ${rounds} round${rounds === 1 ? '' : 's'}: the round's time budget covered other modules`;
}

/** `points` with `p` added, replacing a point at the same step. */
function withPoint(points: readonly SpectraPoint[] | undefined, p: SpectraPoint): SpectraPoint[] {
  return [...(points ?? []).filter((q) => q.step !== p.step), p].sort((a, b) => a.step - b.step);
}

function pointOf(step: number, e: SpectraEntry): SpectraPoint {
  return { step, delta_rank90: e.delta_rank90, overlap_principal: e.overlap_principal, overlap_minor: e.overlap_minor };
}

const withStep = (steps: readonly number[], step: number): number[] => (steps.includes(step) ? [...steps] : [...steps, step].sort((a, b) => a - b));

/** The requests in flight, by key: one per record at a time. */
const inFlight = new Set<string>();

export const createSpectrumSlice: SliceCreator<SpectrumSlice> = (set, get) => {
  /** Tell the engine the cadence, the round budget and the module on screen. */
  const tellEngine = async (): Promise<void> => {
    const s = get();
    try {
      await engine().request({
        type: 'spectraSettings', every: s.spectraEvery, budgetMs: s.spectraBudgetMs, focus: moduleName(s.spectrumLayer, s.spectrumModule),
      }).result;
    } catch (e) {
      set({ spectrumError: (e as Error).message });
    }
  };
  /** The view changed: tell the engine the module on screen, and fetch what is not kept yet. */
  const viewChanged = (focusChanged: boolean) => {
    if (focusChanged) void tellEngine();
    void get().computeSpectrum();
  };

  return {
    spectrumLayer: 0,
    spectrumModule: 'q',
    spectrumRunId: null,
    spectrumCompareRunId: null,
    spectrumRecords: {},
    spectrumStatus: 'idle',
    spectrumError: null,
    spectraEvery: 10,
    spectraBudgetMs: DEFAULT_ROUND_BUDGET_MS,
    spectraRunId: 0,
    spectraHistory: {},
    spectraRoundSteps: [],
    setSpectrumLayer(layer) {
      set({ spectrumLayer: layer });
      viewChanged(true);
    },
    setSpectrumModule(module) {
      set({ spectrumModule: module });
      viewChanged(true);
    },
    setSpectrumCell(layer, module) {
      set({ spectrumLayer: layer, spectrumModule: module });
      viewChanged(true);
    },
    setSpectrumRun(runId) {
      set({ spectrumRunId: runId });
      viewChanged(false);
    },
    setSpectrumCompareRun(runId) {
      set({ spectrumCompareRunId: runId });
      viewChanged(false);
    },
    async setSpectraEvery(every) {
      set({ spectraEvery: every, spectrumError: null });
      await tellEngine();
    },
    async setSpectraBudget(ms) {
      set({ spectraBudgetMs: ms, spectrumError: null });
      await tellEngine();
    },
    async computeSpectrum(force = false) {
      const s = get();
      if (!s.model) return;
      const name = moduleName(s.spectrumLayer, s.spectrumModule);
      const current = currentRunId(s);
      const wanted = shownRunIds(s).filter((runId) => {
        const key = spectrumKey(runId, name);
        if (inFlight.has(key)) return false;
        if (force) return true;
        const kept = s.spectrumRecords[key];
        // The current run moves on while it trains: its record is redone once it is behind.
        return !kept || (runId === current && kept.step < (s.tuned?.steps ?? 0) && !runActive(s.runStatus));
      });
      if (wanted.length === 0) return;
      set({ spectrumStatus: 'computing', spectrumError: null });
      const { spectrumLayer: layer, spectrumModule: module } = s;
      let failed: string | null = null;
      await Promise.all(
        wanted.map(async (runId) => {
          const key = spectrumKey(runId, name);
          inFlight.add(key);
          try {
            const r = await engine().request({ type: 'spectrum', layer, module, ...(runId === current ? {} : { runId }) }).result;
            const got = r.runId ?? runId;
            set((st) => ({ spectrumRecords: { ...st.spectrumRecords, [spectrumKey(got, r.record.name)]: { runId: got, step: r.step, record: r.record } } }));
          } catch (e) {
            failed = (e as Error).message;
          } finally {
            inFlight.delete(key);
          }
        }),
      );
      set({ spectrumStatus: failed ? 'failed' : 'idle', spectrumError: failed });
    },
    watchSpectra() {
      void tellEngine();
      const off = engine().subscribe((e) => {
        if (e.type === 'trainStarted') {
          const history: Record<string, SpectraPoint[]> = {};
          const rounds = e.run.resumed?.spectra ?? [];
          for (const round of rounds) {
            for (const entry of round.entries) history[entry.name] = withPoint(history[entry.name], pointOf(round.step, entry));
          }
          set({ spectraRunId: e.run.runId, spectraHistory: history, spectraRoundSteps: [...new Set(rounds.map((r) => r.step))].sort((a, b) => a - b) });
          // The new run is on the model now: a view that follows it fetches its record (at the next step boundary).
          queueMicrotask(() => void get().computeSpectrum());
        } else if (e.type === 'trainFinished') {
          // The run's final weights: redo the records of that run on screen.
          const s = get();
          if (shownRunIds(s).includes(e.runId)) queueMicrotask(() => void get().computeSpectrum(true));
        } else if (e.type === 'modelLoaded') {
          // Another model: no kept record describes it.
          set({ spectrumRecords: {}, spectrumRunId: null, spectrumCompareRunId: null });
          queueMicrotask(() => void get().computeSpectrum());
        } else if (e.type === 'spectraStep') {
          set((s) => {
            const same = e.runId === s.spectraRunId;
            const history = same ? { ...s.spectraHistory } : {};
            for (const entry of e.entries) history[entry.name] = withPoint(history[entry.name], pointOf(e.step, entry));
            return { spectraRunId: e.runId, spectraHistory: history, spectraRoundSteps: withStep(same ? s.spectraRoundSteps : [], e.step) };
          });
        }
      });
      return off;
    },
  };
};
