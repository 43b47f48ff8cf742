/** "Memory to train": trainable parameters and GPU memory of each picker method for the current settings. */
import { useMemo } from 'react';
import { useAppStore } from '../../store/store.ts';
import { formatBytes } from '../../schema/estimate.ts';
import { formatInt } from '../shared/format.ts';
import { methodMemoryRows } from './memory-rows.ts';

export function MemoryTable() {
  const model = useAppStore((s) => s.model);
  const config = useAppStore((s) => s.trainConfig);
  const chosen = useAppStore((s) => s.methodId);
  const rows = useMemo(() => (model ? methodMemoryRows(config, model, chosen) : []), [config, model, chosen]);
  if (!model) return null;
  const targets = config.targets.join(', ');
  return (
    <div className="table-scroll memory" data-testid="memory-table">
      <table className="memory-table">
        <caption>
          <strong>Memory to train</strong>{' '}
          <span className="muted">
            (rank {config.rank} on {targets || 'no module'}, batch {config.batch} × {config.seq} tokens; estimates of the engine's buffers for {model.weightStorage === '16-bit' ? '16-bit' : 'f32'} weights)
          </span>
        </caption>
        <thead>
          <tr>
            <th scope="col">Method</th>
            <th scope="col" className="num">Trains</th>
            <th scope="col" className="num">GPU memory</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr
              key={r.id}
              className={r.chosen ? 'chosen' : undefined}
              aria-current={r.chosen ? 'true' : undefined}
              data-testid={`memory-${r.id}`}
              data-chosen={r.chosen}
              data-trainable={r.trainable ?? undefined}
              data-bytes={r.bytes ?? undefined}
            >
              <th scope="row">
                {r.label}
                {r.chosen && <span className="badge">chosen</span>}
              </th>
              <td className="num">{r.trainable === null ? '—' : formatInt(r.trainable)}</td>
              <td className="num">
                {r.bytes === null ? 'coming' : formatBytes(r.bytes)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
