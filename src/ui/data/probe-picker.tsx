/**
 * The forgetting probe: text the base model already knew (by default, for the built-in model, the
 * held-out part of its own corpus). A run evaluates its loss before the first step and with every eval,
 * so the chart shows how much of the old knowledge the run gives up while it learns the new data.
 */
import { useId } from 'react';
import type { DemoId } from '../../schema/data.ts';
import { useAppStore } from '../../store/store.ts';

export function ProbePicker() {
  const id = useId();
  const demos = useAppStore((s) => s.demos);
  const probe = useAppStore((s) => s.probeDemo);
  const setProbe = useAppStore((s) => s.setProbeDemo);
  const builtIn = useAppStore((s) => s.modelCard !== null);
  if (!demos) return null;
  return (
    <div className="field probe-picker">
      <label htmlFor={id}>Forgetting probe</label>
      <select id={id} aria-describedby={`${id}-hint`} value={probe ?? ''} onChange={(e) => setProbe((e.currentTarget.value || null) as DemoId | null)} data-testid="probe-select">
        <option value="">None</option>
        {demos.map((d) => (
          <option key={d.id} value={d.id}>
            {d.title}
          </option>
        ))}
      </select>
      <span id={`${id}-hint`} className="field-hint">
        Loss on text the model already knew, measured before the first step and with every eval: how much the run forgets.
        {!builtIn && ' The demos are from the built-in model’s corpus; for another model they measure drift, not forgetting.'}
      </span>
    </div>
  );
}
