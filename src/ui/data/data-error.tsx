/** Why the data could not be used, pointing at the JSONL line (and field) at fault. */
import { useAppStore } from '../../store/store.ts';

export function DataErrorView() {
  const error = useAppStore((s) => s.dataError);
  if (!error) return null;
  return (
    <div className="inline-error" role="alert" data-testid="data-error" data-line={error.line ?? ''}>
      {error.line !== undefined && (
        <p className="error-where">
          Line <strong data-testid="data-error-line">{error.line}</strong>
          {error.field && (
            <>
              , field <code>{error.field}</code>
            </>
          )}
          :
        </p>
      )}
      <p data-testid="data-error-message">{error.message}</p>
    </div>
  );
}
