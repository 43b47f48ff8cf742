/** The fine-tuning method, its hyperparameters, and what the run will cost before it starts. */
import { useAppStore } from '../../store/store.ts';
import { Budget } from './budget.tsx';
import { useConfigProblem } from './config-problem.ts';
import { Hyperparameters } from './hyperparameters.tsx';
import { MethodPicker } from './method-picker.tsx';
import { CopyLink, UrlMessage } from './share-link.tsx';

export function MethodPanel() {
  const hasModel = useAppStore((s) => s.model !== null);
  const busy = useAppStore((s) => s.runStatus === 'starting' || s.runStatus === 'running' || s.runStatus === 'paused' || s.runStatus === 'stopping');
  const problem = useConfigProblem();
  return (
    <section className="panel" aria-labelledby="method-title" data-testid="method-panel">
      <h2 id="method-title">Method and hyperparameters</h2>
      <UrlMessage />
      {busy && <p className="hint">Settings are locked while a run is in progress.</p>}
      <fieldset className="plain" disabled={busy}>
        <legend className="visually-hidden">Method and hyperparameters</legend>
        <MethodPicker />
        <Hyperparameters problem={problem} />
      </fieldset>
      <CopyLink />
      {hasModel && <Budget />}
    </section>
  );
}
