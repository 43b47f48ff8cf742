/** Load a model from the Hugging Face Hub by repo id: input, progress bar (bytes, speed) and inline errors. */
import { useState, type FormEvent } from 'react';
import { useAppStore } from '../../store/store.ts';

const mb = (n: number): string => (n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`);

export function HubLoader() {
  const ready = useAppStore((s) => s.engineStatus === 'ready');
  const loading = useAppStore((s) => s.modelLoading);
  const progress = useAppStore((s) => s.hubProgress);
  const error = useAppStore((s) => s.modelError);
  const loadHubModel = useAppStore((s) => s.loadHubModel);
  const cacheProblems = useAppStore((s) => s.hubCacheProblems);
  const token = useAppStore((s) => s.hubToken);
  const setToken = useAppStore((s) => s.setHubToken);
  const [repo, setRepo] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void loadHubModel(repo);
  };
  const hubError = error?.code?.startsWith('hub-') ? error : null;
  return (
    <form className="hub-loader" onSubmit={submit} data-testid="hub-loader">
      <div className="field">
        <label htmlFor="hub-repo">Hugging Face repo id</label>
        <div className="hub-row">
          <input
            id="hub-repo"
            type="text"
            placeholder="owner/name"
            spellCheck={false}
            autoComplete="off"
            value={repo}
            onChange={(e) => setRepo(e.target.value)}
            aria-invalid={hubError ? true : undefined}
            aria-describedby={hubError ? 'hub-error' : undefined}
            data-testid="hub-repo"
          />
          <button type="submit" disabled={!ready || loading || repo.trim() === ''} data-testid="hub-load">
            Load
          </button>
        </div>
        <span className="field-hint">A LLaMA-architecture model (model.safetensors, or sharded with model.safetensors.index.json); downloads are cached in the browser.</span>
      </div>
      <div className="field">
        <label htmlFor="hub-token">Access token (gated and private repos)</label>
        <input
          id="hub-token"
          type="password"
          placeholder="hf_…"
          spellCheck={false}
          autoComplete="off"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          data-testid="hub-token"
        />
        <span className="field-hint">Kept in this page's memory only and sent only to the Hub: a reload forgets it.</span>
      </div>
      {progress && (
        <div className="hub-progress" data-testid="hub-progress">
          <progress max={progress.total || undefined} value={progress.loaded} aria-label={`Downloading ${progress.file}`} />
          <p className="progress-line">
            {progress.file}: {mb(progress.loaded)}
            {progress.total > 0 && ` of ${mb(progress.total)}`}
            {progress.cached ? ' (from the browser cache)' : progress.bytesPerSecond > 0 && ` at ${mb(progress.bytesPerSecond)}/s`}
          </p>
        </div>
      )}
      {cacheProblems.map((message) => (
        <p key={message} className="inline-warning" role="status" data-testid="hub-cache-problem">
          {message}
        </p>
      ))}
      {hubError && (
        <p id="hub-error" className="inline-error" role="alert" data-testid="hub-error">
          {hubError.message}
        </p>
      )}
    </form>
  );
}
