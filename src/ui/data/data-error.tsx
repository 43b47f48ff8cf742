/** Why the data could not be used, pointing at the JSONL line (and field) at fault, or listing every bad line. */
import { useAppStore } from '../../store/store.ts';
import type { DataProblem } from '../../schema/data.ts';

/** "line N, field x: what" for one bad line. */
const where = (p: DataProblem): string => `line ${p.line}${p.field ? `, field ${p.field}` : ''}`;

export function DataErrorView() {
  const error = useAppStore((s) => s.dataError);
  if (!error) return null;
  const problems = error.problems ?? [];
  if (problems.length > 1) {
    const unlisted = error.unlisted ?? 0;
    return (
      <div className="inline-error" role="alert" data-testid="data-error" data-line={error.line ?? ''}>
        <p data-testid="data-error-message">{`${error.file ?? 'The data'} has ${problems.length + unlisted} bad lines:`}</p>
        <ul className="data-problems">
          {problems.map((p) => (
            <li key={p.line} data-testid="data-problem" data-line={p.line}>
              <strong>{where(p)}</strong>: {p.message}
            </li>
          ))}
        </ul>
        {unlisted > 0 && <p data-testid="data-problems-more">{`… and ${unlisted} more bad lines`}</p>}
      </div>
    );
  }
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
