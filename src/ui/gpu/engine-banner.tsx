/** An engine-wide problem (worker crash, lost device), shown above everything; a lost device can be recovered from here. */
import { useAppStore } from '../../store/store.ts';

export function EngineBanner() {
  const error = useAppStore((s) => s.engineError);
  const lost = useAppStore((s) => s.deviceLost);
  const starting = useAppStore((s) => s.engineStatus === 'starting');
  const restart = useAppStore((s) => s.restartEngine);
  if (!error) return null;
  return (
    <div className="banner banner-error" role="alert" data-testid="engine-error">
      {error}
      {lost && (
        <button type="button" className="banner-action" disabled={starting} onClick={() => void restart()} data-testid="engine-restart">
          Restart the engine
        </button>
      )}
    </div>
  );
}
