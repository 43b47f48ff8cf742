/** The studio's automatic choice of activation recomputation (memory-slice.ts says who decides). */
import { chooseRecompute } from '../schema/estimate.ts';
import type { AppState } from './app-state.ts';
import { useAppStore } from './store.ts';

/** What the automatic choice is for these settings, or null when the user decides or there is no model. */
export function automaticRecompute(s: AppState): boolean | null {
  if (!s.recomputeAuto || !s.model) return null;
  return chooseRecompute(s.trainConfig, s.model.config, s.model.paramCount, s.model.weightStorage, s.gpuBudgetBytes);
}

/** Keep trainConfig.recompute at the automatic choice while the studio decides it; returns the unsubscribe. */
export function syncAutoRecompute(): () => void {
  const apply = (s: AppState) => {
    const want = automaticRecompute(s);
    if (want !== null && want !== s.trainConfig.recompute) useAppStore.setState({ trainConfig: { ...s.trainConfig, recompute: want } });
  };
  apply(useAppStore.getState());
  return useAppStore.subscribe((s, prev) => {
    if (s.trainConfig === prev.trainConfig && s.model === prev.model && s.gpuBudgetBytes === prev.gpuBudgetBytes && s.recomputeAuto === prev.recomputeAuto) return;
    apply(s);
  });
}
