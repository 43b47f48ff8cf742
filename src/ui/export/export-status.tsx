/** What the Export panel's actions share: a task's busy message and error, and how they show beside what was saved. */
import { useState } from 'react';

/** Run one export task at a time: `busy` (its latest progress message) while it runs, `error` if it threw. */
export function useExportTask() {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = async (label: string, task: (progress: (message: string) => void) => Promise<void>): Promise<void> => {
    setBusy(label);
    setError(null);
    try {
      await task(setBusy);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(null);
    }
  };
  return { busy, error, run };
}

/** A spinner with `busy`, "Saved …" and the error, under the test ids given. */
export function ExportStatus({ busy, saved, error, savedId, errorId }: {
  busy: string | null; saved: string | null; error: string | null; savedId: string; errorId: string;
}) {
  return (
    <>
      {busy && (
        <p className="status" role="status">
          <span className="spinner" aria-hidden="true" /> {busy}
        </p>
      )}
      {saved && (
        <p className="status" role="status" data-testid={savedId}>
          Saved {saved}
        </p>
      )}
      {error && (
        <p className="inline-error" role="alert" data-testid={errorId}>
          {error}
        </p>
      )}
    </>
  );
}
