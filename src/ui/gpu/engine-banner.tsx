/** An engine-wide problem (worker crash, lost device), shown above everything. */
import { useAppStore } from '../../store/store.ts';

export function EngineBanner() {
  const error = useAppStore((s) => s.engineError);
  if (!error) return null;
  return (
    <div className="banner banner-error" role="alert" data-testid="engine-error">
      {error}
    </div>
  );
}
