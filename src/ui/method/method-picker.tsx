/**
 * One radio per method row (see store/methods.ts) with its sentence; rows the engine lacks show
 * "coming". The papers are linked apart (MethodPapers, after Start), so the keyboard goes from the
 * method straight to its settings.
 */
import { useId } from 'react';
import { arxivUrl, METHOD_ROWS, methodAvailable } from '../../store/methods.ts';
import { useAppStore } from '../../store/store.ts';

export function MethodPicker() {
  const name = useId();
  const methodId = useAppStore((s) => s.methodId);
  const setMethod = useAppStore((s) => s.setMethod);
  return (
    <fieldset className="method-picker">
      <legend>Method</legend>
      {METHOD_ROWS.map((row) => {
        const available = methodAvailable(row);
        const descId = `${name}-${row.id}-desc`;
        return (
          <div key={row.id} className={`method-row${methodId === row.id ? ' selected' : ''}${available ? '' : ' coming'}`} data-testid={`method-row-${row.id}`}>
            <label>
              <input
                type="radio"
                name={name}
                value={row.id}
                checked={methodId === row.id}
                disabled={!available}
                aria-describedby={descId}
                onChange={() => setMethod(row.id)}
                data-testid={`method-${row.id}`}
              />
              <strong>{row.label}</strong>
              {!available && <span className="badge">coming</span>}
            </label>
            <p id={descId} className="method-summary">
              {row.summary}
            </p>
          </div>
        );
      })}
    </fieldset>
  );
}

/** Each method's paper, linked after the settings and Start in the tab order. */
export function MethodPapers() {
  return (
    <p className="hint method-papers">
      Papers:{' '}
      {METHOD_ROWS.map((row, i) => (
        <span key={row.id}>
          {i > 0 && ' · '}
          <a href={arxivUrl(row.paper.arxiv)} target="_blank" rel="noreferrer" title={row.paper.title} data-testid={`paper-${row.id}`}>
            {row.label} (arXiv {row.paper.arxiv})
          </a>
        </span>
      ))}
      . Low-rank methods learn less of the new data but forget less of what the model knew (the full fine-tuning paper,
      “LoRA Learns Less and Forgets Less”).
    </p>
  );
}
