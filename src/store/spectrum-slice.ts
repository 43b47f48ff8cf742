/**
 * The spectrum view: the chosen layer/module and its record from the engine (σ of W₀, W₀+ΔW, ΔW),
 * and the spectra rounds the engine streams during training (rank90 and overlaps per module over
 * steps), kept per module name for the current run.
 */
import type { ModuleSpectrum } from '../linalg/module-spectrum.ts';
import type { LinearModule } from '../model/weights.ts';
import type { SpectraRound } from '../persist/stored-run.ts';
import type { SpectraEntry } from '../workers/protocol.ts';
import type { SliceCreator } from './app-state.ts';
import { engine } from './engine.ts';

/** One module's numbers at one step. */
export interface SpectraPoint {
  step: number;
  delta_rank90: number;
  overlap_principal: number;
  overlap_minor: number;
}

export type SpectrumStatus = 'idle' | 'computing' | 'failed';

export interface SpectrumSlice {
  spectrumLayer: number;
  spectrumModule: LinearModule;
  spectrumRecord: ModuleSpectrum | null;
  /** The run step the record describes (0 = the base model). */
  spectrumStep: number;
  spectrumStatus: SpectrumStatus;
  spectrumError: string | null;
  /** Steps between two spectra rounds during training; 0 = off. */
  spectraEvery: number;
  /** The run the history belongs to. */
  spectraRunId: number;
  /** Per module name, its points in step order. */
  spectraHistory: Record<string, SpectraPoint[]>;
  setSpectrumLayer(layer: number): void;
  setSpectrumModule(module: LinearModule): void;
  setSpectraEvery(every: number): Promise<void>;
  /** Ask the engine for the chosen module's spectrum. */
  computeSpectrum(): Promise<void>;
  /** Listen to the engine's spectraStep events; returns the unsubscribe function. */
  watchSpectra(): () => void;
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

/** `points` with `p` added, replacing a point at the same step. */
function withPoint(points: readonly SpectraPoint[] | undefined, p: SpectraPoint): SpectraPoint[] {
  return [...(points ?? []).filter((q) => q.step !== p.step), p].sort((a, b) => a.step - b.step);
}

function pointOf(step: number, e: SpectraEntry): SpectraPoint {
  return { step, delta_rank90: e.delta_rank90, overlap_principal: e.overlap_principal, overlap_minor: e.overlap_minor };
}

export const createSpectrumSlice: SliceCreator<SpectrumSlice> = (set, get) => ({
  spectrumLayer: 0,
  spectrumModule: 'q',
  spectrumRecord: null,
  spectrumStep: 0,
  spectrumStatus: 'idle',
  spectrumError: null,
  spectraEvery: 10,
  spectraRunId: 0,
  spectraHistory: {},
  setSpectrumLayer(layer) {
    set({ spectrumLayer: layer });
  },
  setSpectrumModule(module) {
    set({ spectrumModule: module });
  },
  async setSpectraEvery(every) {
    set({ spectraEvery: every, spectrumError: null });
    try {
      await engine().request({ type: 'spectraSettings', every }).result;
    } catch (e) {
      set({ spectrumError: (e as Error).message });
    }
  },
  async computeSpectrum() {
    if (get().spectrumStatus === 'computing') return;
    const { spectrumLayer: layer, spectrumModule: module } = get();
    set({ spectrumStatus: 'computing', spectrumError: null });
    try {
      const r = await engine().request({ type: 'spectrum', layer, module }).result;
      const rec = r.record;
      const runId = get().runInfo?.runId ?? 0;
      set((s) => {
        const next: Partial<SpectrumSlice> = { spectrumRecord: rec, spectrumStep: r.step, spectrumStatus: 'idle' };
        if (r.step > 0 && rec.delta_rank90 !== undefined && runId === s.spectraRunId) {
          const p = { step: r.step, delta_rank90: rec.delta_rank90, overlap_principal: rec.overlap_principal ?? 0, overlap_minor: rec.overlap_minor ?? 0 };
          next.spectraHistory = { ...s.spectraHistory, [rec.name]: withPoint(s.spectraHistory[rec.name], p) };
        }
        return next;
      });
    } catch (e) {
      set({ spectrumStatus: 'failed', spectrumError: (e as Error).message });
    }
  },
  watchSpectra() {
    return engine().subscribe((e) => {
      if (e.type === 'trainStarted') {
        const history: Record<string, SpectraPoint[]> = {};
        for (const round of e.run.resumed?.spectra ?? []) {
          for (const entry of round.entries) history[entry.name] = withPoint(history[entry.name], pointOf(round.step, entry));
        }
        set({ spectraRunId: e.run.runId, spectraHistory: history });
      } else if (e.type === 'spectraStep') {
        set((s) => {
          const history = e.runId === s.spectraRunId ? { ...s.spectraHistory } : {};
          for (const entry of e.entries) history[entry.name] = withPoint(history[entry.name], pointOf(e.step, entry));
          return { spectraRunId: e.runId, spectraHistory: history };
        });
      }
    });
  },
});
