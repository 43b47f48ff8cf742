/**
 * GPU memory before Start: the "Save memory: recompute activations" checkbox (bound to
 * TrainConfig.recompute; the studio turns it on when the estimate exceeds the budget and that helps),
 * the budget the estimate is checked against, and the warning that says by how much a run is over
 * and which single change fits it (src/schema/memory-fit.ts).
 */
import { useMemo } from 'react';
import { formatBytes, memoryEstimate } from '../../schema/estimate.ts';
import { memoryFit, memoryFitWarning } from '../../schema/memory-fit.ts';
import { methodRow } from '../../store/methods.ts';
import { useAppStore } from '../../store/store.ts';
import { NumberField } from '../shared/number-field.tsx';

const MiB = 1024 * 1024;

/** The checkbox and, when the studio turned it on, why. */
export function RecomputeToggle() {
  const on = useAppStore((s) => s.trainConfig.recompute);
  const auto = useAppStore((s) => s.recomputeAuto);
  const setRecompute = useAppStore((s) => s.setRecompute);
  const setAuto = useAppStore((s) => s.setRecomputeAuto);
  const config = useAppStore((s) => s.trainConfig);
  const model = useAppStore((s) => s.model);
  const budget = useAppStore((s) => s.gpuBudgetBytes);
  const note = useMemo(() => {
    if (!model) return null;
    const est = (recompute: boolean) => memoryEstimate({ ...config, recompute }, model.config, model.paramCount, model.weightStorage).total;
    if (auto && on) {
      return `Turned on automatically: storing the activations needs ≈ ${formatBytes(est(false))}, more than the ${formatBytes(budget)} budget; recomputing needs ≈ ${formatBytes(est(true))}.`;
    }
    if (auto) return `Chosen automatically: off while the run fits the ${formatBytes(budget)} budget.`;
    return `Your choice (≈ ${formatBytes(est(on))}; the other way ≈ ${formatBytes(est(!on))}).`;
  }, [auto, on, config, model, budget]);
  return (
    <div className="field recompute-toggle">
      <label>
        <input type="checkbox" checked={on} onChange={(e) => setRecompute(e.currentTarget.checked)} data-testid="recompute" />
        Save memory: recompute activations
      </label>
      <span className="field-hint" data-testid="recompute-note" data-auto={auto}>
        Keeps only each layer's input and recomputes the layer in backward (about a third more compute). {note}
        {!auto && (
          <>
            {' '}
            <button type="button" className="small" onClick={setAuto} data-testid="recompute-auto">
              Choose automatically
            </button>
          </>
        )}
      </span>
    </div>
  );
}

/** The budget in MiB: WebGPU tells no memory size, so it is a stated default the user can change. */
export function GpuBudgetField() {
  const budget = useAppStore((s) => s.gpuBudgetBytes);
  const setBudget = useAppStore((s) => s.setGpuBudget);
  return (
    <NumberField
      label="GPU memory budget (MiB)"
      value={Math.round(budget / MiB)}
      min={0}
      minExclusive
      step={1}
      integer
      hint="WebGPU does not tell how much memory the GPU has: 4096 MiB unless you set it"
      testId="gpu-budget"
      onCommit={(v) => setBudget(v * MiB)}
    />
  );
}

/** Before Start: the run's estimate against the budget; a warning, not a block (the budget is a guess). */
export function MemoryWarning() {
  const config = useAppStore((s) => s.trainConfig);
  const model = useAppStore((s) => s.model);
  const budget = useAppStore((s) => s.gpuBudgetBytes);
  const methodId = useAppStore((s) => s.methodId);
  const warning = useMemo(() => {
    if (!model) return null;
    return memoryFitWarning(memoryFit(config, model, budget, methodRow(methodId).uses.rank));
  }, [config, model, budget, methodId]);
  if (!warning) return null;
  return (
    <p className="inline-warning" role="status" data-testid="memory-warning">
      {warning}
    </p>
  );
}
