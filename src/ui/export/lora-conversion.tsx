/**
 * A MoRA, DoRA or full fine-tuning run's update as a standard peft LoRA (SVD of each ΔW in the
 * engine, src/export/lora-conversion.ts): a fixed rank or the energy to keep, downloaded as a ZIP,
 * with each module's kept rank and relative error ‖ΔW − BA‖/‖ΔW‖ shown.
 */
import { useState } from 'react';
import { useAppStore } from '../../store/store.ts';
import type { ConversionSummary } from '../../workers/protocol.ts';
import { downloadBlob } from '../shared/download.ts';
import { ExportStatus, useExportTask } from './export-status.tsx';

type By = 'energy' | 'rank';

export function LoraConversion({ blocked }: { blocked: boolean }) {
  const exportRun = useAppStore((s) => s.exportRun);
  const [by, setBy] = useState<By>('energy');
  const [value, setValue] = useState('0.99');
  const { busy, error, run } = useExportTask();
  const [result, setResult] = useState<{ fileName: string; conversion: ConversionSummary } | null>(null);

  const convert = () => {
    setResult(null);
    return run('Factoring each update by SVD…', async () => {
      const n = Number(value);
      const r = await exportRun('lora', by === 'rank' ? { rank: n } : { energy: n });
      downloadBlob(r.fileName, r.bytes, 'application/zip');
      if (r.conversion) setResult({ fileName: r.fileName, conversion: r.conversion });
    });
  };

  return (
    <div className="lora-conversion" data-testid="lora-conversion">
      <div className="actions">
        <label>
          Keep{' '}
          <select
            value={by}
            onChange={(e) => {
              const next = e.target.value as By;
              setBy(next);
              setValue(next === 'rank' ? '8' : '0.99');
            }}
            data-testid="lora-conversion-by"
          >
            <option value="energy">the energy fraction of Σσ²</option>
            <option value="rank">a fixed rank</option>
          </select>
        </label>
        <input type="number" value={value} step={by === 'rank' ? 1 : 0.01} min={by === 'rank' ? 1 : 0.01} max={by === 'rank' ? undefined : 1}
          onChange={(e) => setValue(e.target.value)} aria-label={by === 'rank' ? 'Rank' : 'Energy'} data-testid="lora-conversion-value" />
        <button type="button" disabled={blocked || busy !== null} onClick={() => void convert()} data-testid="export-lora-conversion">
          As a standard LoRA by SVD (.zip)
        </button>
      </div>
      <ExportStatus busy={busy} saved={null} error={error} savedId="lora-conversion-done" errorId="lora-conversion-error" />
      {result && (
        <div data-testid="lora-conversion-result">
          <p>
            Saved {result.fileName}: r {result.conversion.r}, largest relative error{' '}
            <span data-testid="lora-conversion-max-error">{result.conversion.maxRelativeError.toExponential(3)}</span> (per module in conversion.json).
          </p>
          <table className="lora-conversion-modules">
            <thead>
              <tr>
                <th>Module</th>
                <th>Rank kept</th>
                <th>‖ΔW − BA‖/‖ΔW‖</th>
                <th>Energy kept</th>
              </tr>
            </thead>
            <tbody>
              {result.conversion.modules.map((m) => (
                <tr key={m.name} data-testid="lora-conversion-module">
                  <td>{m.name}</td>
                  <td>{m.rank}</td>
                  <td>{m.relative_error.toExponential(3)}</td>
                  <td>{(100 * m.energy_kept).toFixed(2)}%</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
