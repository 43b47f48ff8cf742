/** The fine-tuning method, its hyperparameters, Start at their end, and what the run will cost before it starts. */
import { useId } from 'react';
import { runActive } from '../../store/run-status.ts';
import { useAppStore } from '../../store/store.ts';
import { StartButton } from '../train/start-button.tsx';
import { useStartBlocker } from '../train/start-blocker.ts';
import { Budget } from './budget.tsx';
import { useConfigProblem } from './config-problem.ts';
import { Hyperparameters } from './hyperparameters.tsx';
import { MemoryWarning } from './memory-settings.tsx';
import { MethodPapers, MethodPicker } from './method-picker.tsx';
import { CopyLink, UrlMessage } from './share-link.tsx';

export function MethodPanel() {
  const blockerId = useId();
  const hasModel = useAppStore((s) => s.model !== null);
  const busy = useAppStore((s) => runActive(s.runStatus));
  const problem = useConfigProblem();
  const blocker = useStartBlocker();
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
      {hasModel && <MemoryWarning />}
      {/* Start right after the settings, so the keyboard reaches it without crossing the page. */}
      <div className="actions settings-start">
        <StartButton blocker={blocker} blockerId={blockerId} testId="settings-start" />
        {!busy && blocker && (
          <span id={blockerId} className="hint" data-testid="settings-blocker">
            {blocker}
          </span>
        )}
      </div>
      <CopyLink />
      {hasModel && <Budget />}
      <MethodPapers />
    </section>
  );
}
