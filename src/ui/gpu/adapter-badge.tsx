/** The WebGPU adapter the engine found, or where the search stands. */
import { useAppStore } from '../../store/store.ts';

export function AdapterBadge() {
  const status = useAppStore((s) => s.engineStatus);
  const adapter = useAppStore((s) => s.adapter);
  if (status === 'ready' && adapter) {
    const name = [adapter.vendor, adapter.architecture].filter(Boolean).join(' · ') || 'unknown adapter';
    return (
      <p className="adapter-badge ok" data-testid="adapter" title={adapter.features.join(', ')}>
        <span className="dot" aria-hidden="true" />
        WebGPU: <strong data-testid="adapter-name">{name}</strong>
        {adapter.description && <span className="muted"> — {adapter.description}</span>}
      </p>
    );
  }
  const text =
    status === 'starting' ? 'Looking for a WebGPU adapter…' : status === 'unavailable' ? 'WebGPU unavailable' : 'Engine stopped';
  return (
    <p className={`adapter-badge ${status === 'starting' ? '' : 'bad'}`} data-testid="engine-status" role="status">
      <span className="dot" aria-hidden="true" />
      {text}
    </p>
  );
}
