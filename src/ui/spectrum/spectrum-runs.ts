/**
 * The runs the spectrum view can show (the model's current run, this session's finished runs and the
 * saved ones), their labels and settings, and each run's spectra rounds: live for the run training
 * now, from storage for the others.
 */
import type { AppState } from '../../store/app-state.ts';
import { runLabel } from '../../store/runs-slice.ts';
import type { SpectraPoint } from '../../store/spectrum-slice.ts';
import type { TrainConfig } from '../../schema/train-config.ts';
import type { SpectraRound } from '../../schema/metrics.ts';
import { methodRow, type MethodId } from '../../store/methods.ts';

export interface SpectrumRunOption {
  runId: number;
  /** e.g. "Run 2 · MoRA r8"; "Base model" for run 0. */
  label: string;
  methodId: MethodId | null;
  config: TrainConfig | null;
  /** Why its spectrum cannot be computed here (another base model), or null. */
  unavailable: string | null;
}

type Inputs = Pick<AppState, 'runs' | 'runInfo' | 'runMethodId' | 'tuned' | 'savedRuns' | 'model'>;

/** The base model, the current run, then every listed run, each once, by run id. */
export function spectrumRunOptions(s: Inputs): SpectrumRunOption[] {
  const byId = new Map<number, SpectrumRunOption>();
  for (const r of s.runs) byId.set(r.runId, { runId: r.runId, label: r.label, methodId: r.methodId, config: r.config, unavailable: null });
  if (s.runInfo && s.runMethodId && !byId.has(s.runInfo.runId)) {
    const { runId, config } = s.runInfo;
    byId.set(runId, { runId, label: runLabel(runId, s.runMethodId, config), methodId: s.runMethodId, config, unavailable: null });
  }
  if (s.tuned && !byId.has(s.tuned.runId)) {
    const label = `Run ${s.tuned.runId} · ${methodRow(s.tuned.methodId).label}`;
    byId.set(s.tuned.runId, { runId: s.tuned.runId, label, methodId: s.tuned.methodId, config: null, unavailable: null });
  }
  for (const saved of s.savedRuns ?? []) {
    const option = byId.get(saved.runId);
    if (!option) continue;
    if (s.model && saved.model.fingerprint !== s.model.fingerprint) option.unavailable = `trained ${saved.model.name}`;
  }
  const base: SpectrumRunOption = { runId: 0, label: 'Base model', methodId: null, config: null, unavailable: null };
  return [base, ...[...byId.values()].sort((a, b) => a.runId - b.runId)];
}

/** Whether run `option` trained module `name` (so its rounds should have points for it). */
export function trainsModule(option: SpectrumRunOption | undefined, module: string): boolean {
  if (!option?.config) return false;
  return option.config.method === 'full' || option.config.targets.includes(module as TrainConfig['targets'][number]);
}

/** One run's spectra history: points per module name and the steps of all its rounds. */
export interface RunHistory {
  history: Record<string, SpectraPoint[]>;
  roundSteps: number[];
}

/** Rounds (any order) as a history. */
export function roundsHistory(rounds: readonly SpectraRound[]): RunHistory {
  const history: Record<string, SpectraPoint[]> = {};
  for (const round of [...rounds].sort((a, b) => a.step - b.step)) {
    for (const e of round.entries) {
      (history[e.name] ??= []).push({ step: round.step, delta_rank90: e.delta_rank90, overlap_principal: e.overlap_principal, overlap_minor: e.overlap_minor });
    }
  }
  return { history, roundSteps: [...new Set(rounds.map((r) => r.step))].sort((a, b) => a - b) };
}

/** Run `runId`'s history: the live one when it is the run the rounds stream for, else the saved run's rounds. */
export function runHistory(s: Pick<AppState, 'spectraRunId' | 'spectraHistory' | 'spectraRoundSteps' | 'savedRuns'>, runId: number): RunHistory {
  if (runId === s.spectraRunId) return { history: s.spectraHistory, roundSteps: s.spectraRoundSteps };
  const saved = s.savedRuns?.find((r) => r.runId === runId);
  return saved ? roundsHistory(saved.spectra) : { history: {}, roundSteps: [] };
}
