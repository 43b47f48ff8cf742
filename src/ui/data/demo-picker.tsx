/** The built-in demo datasets; choosing one tokenises it at once. */
import { useEffect, useId } from 'react';
import { useAppStore } from '../../store/store.ts';

export function DemoPicker() {
  const name = useId();
  const demos = useAppStore((s) => s.demos);
  const loadDemos = useAppStore((s) => s.loadDemos);
  // The demo this mode trains (the last one chosen: another mode's data may be in the engine meanwhile).
  const source = useAppStore((s) => s.modeSources.demo);
  const chooseData = useAppStore((s) => s.chooseData);
  const ready = useAppStore((s) => s.engineStatus === 'ready');
  useEffect(() => {
    if (ready && !demos) void loadDemos();
  }, [ready, demos, loadDemos]);
  if (!demos) return <p className="empty">Loading the demo datasets…</p>;
  const chosen = source?.kind === 'demo' ? source.id : null;
  return (
    <div className="demo-list" role="radiogroup" aria-label="Demo datasets">
      {demos.map((d) => (
        <label key={d.id} className={`demo${chosen === d.id ? ' selected' : ''}`}>
          <input
            type="radio"
            name={name}
            value={d.id}
            checked={chosen === d.id}
            aria-label={d.title}
            aria-describedby={`${name}-${d.id}-desc`}
            onChange={() => void chooseData({ kind: 'demo', id: d.id })}
            data-testid={`demo-${d.id}`}
          />
          <span>
            <strong>{d.title}</strong>
            <span id={`${name}-${d.id}-desc`}>
              {' '}
              <span className="muted">({d.records} records)</span>
              <br />
              <span className="demo-description">{d.description}</span>
            </span>
          </span>
        </label>
      ))}
    </div>
  );
}
