/** The last model load failure, naming the file at fault. */
import { useAppStore } from '../../store/store.ts';

export function ModelError() {
  const error = useAppStore((s) => s.modelError);
  const hasModel = useAppStore((s) => s.model !== null);
  if (!error || error.code?.startsWith('hub-')) return null; // shown by HubLoader next to its input
  const problem = error.file && error.message.startsWith(`${error.file}: `) ? error.message.slice(error.file.length + 2) : error.message;
  return (
    <div className="inline-error" role="alert" data-testid="model-error">
      <p>
        {error.file ? (
          <>
            Could not load <strong data-testid="model-error-file">{error.file}</strong>: {problem}
          </>
        ) : (
          <>Could not load the model: {problem}</>
        )}
      </p>
      {hasModel && <p className="hint">The previously loaded model is still in use.</p>}
    </div>
  );
}
