/** "Start training": disabled while a run is active or `blocker` (useStartBlocker) says what the page shows is not what would train. */
import { runActive } from '../../store/run-status.ts';
import { useAppStore } from '../../store/store.ts';

export function StartButton({ blocker, blockerId, testId }: { blocker: string | null; blockerId: string; testId: string }) {
  const active = useAppStore((s) => runActive(s.runStatus));
  const start = useAppStore((s) => s.startRun);
  return (
    <button
      type="button"
      className="primary"
      disabled={active || blocker !== null}
      aria-describedby={!active && blocker ? blockerId : undefined}
      onClick={() => void start()}
      data-testid={testId}
    >
      Start training
    </button>
  );
}
