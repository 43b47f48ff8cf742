/** The generated text as it streams in, with the run's status underneath. */
import { useAppStore } from '../../store/store.ts';
import { formatMs } from '../shared/format.ts';

export function OutputView() {
  const output = useAppStore((s) => s.output);
  const status = useAppStore((s) => s.generateStatus);
  const run = useAppStore((s) => s.lastRun);
  const error = useAppStore((s) => s.generateError);
  let line: string | null = null;
  if (status === 'running') line = 'Generating…';
  else if (status === 'stopping') line = 'Stopping…';
  else if (run) {
    const speed = run.ms > 0 ? ` (${((run.newTokens * 1000) / run.ms).toFixed(1)} tokens/s)` : '';
    line = `${run.cancelled ? 'Stopped' : 'Done'}: ${run.newTokens} tokens in ${formatMs(run.ms)}${speed}.`;
  }
  return (
    <div className="output-block">
      <h3 className="visually-hidden">Output</h3>
      <div className="output" role="log" aria-label="Generated text" tabIndex={0} data-testid="output">
        {output || <span className="muted">Generated text appears here.</span>}
      </div>
      {line && (
        <p className="status" role="status" data-testid="generate-status" data-state={status !== 'idle' ? status : run?.cancelled ? 'stopped' : 'done'}>
          {line}
        </p>
      )}
      {error && (
        <p className="inline-error" role="alert" data-testid="generate-error">
          {error}
        </p>
      )}
    </div>
  );
}
