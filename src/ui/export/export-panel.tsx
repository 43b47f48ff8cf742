/** Downloads of the last run: its adapter (peft or MoRA zip), the merged model (HF zip), and its metrics. */
import { useState } from 'react';
import { methodRow } from '../../store/methods.ts';
import { useAppStore } from '../../store/store.ts';
import { runBusy } from '../../store/run-status.ts';
import type { ExportKind } from '../../workers/protocol.ts';
import { downloadBlob } from '../shared/download.ts';
import { formatBytes } from '../../schema/estimate.ts';
import { ExportStatus } from './export-status.tsx';
import { ImportAdapter } from './import-adapter.tsx';
import { LoraConversion } from './lora-conversion.tsx';
import { OnnxExport } from './onnx-export.tsx';
import { metricsCsv, metricsJson } from './metrics-files.ts';

export function ExportPanel() {
  const tuned = useAppStore((s) => s.tuned);
  const status = useAppStore((s) => s.runStatus);
  const hasModel = useAppStore((s) => s.model !== null);
  const exportRun = useAppStore((s) => s.exportRun);
  const generating = useAppStore((s) => s.generateStatus !== 'idle' || s.compareStatus !== 'idle');
  const hasMetrics = useAppStore((s) => s.runInfo !== null && s.runProgress !== null);
  const [busy, setBusy] = useState<ExportKind | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const stored16 = useAppStore((s) => s.model?.weightStorage === '16-bit');
  const [mergedF32, setMergedF32] = useState(false);
  const stepping = runBusy(status);
  const method = tuned ? methodRow(tuned.methodId) : null;
  const adapterKind: ExportKind | null = method?.engine === 'lora' || method?.engine === 'dora' ? 'peft' : method?.engine === 'mora' ? 'mora' : null;
  const blocked = stepping || generating || busy !== null;
  const convertible = method?.engine === 'mora' || method?.engine === 'dora' || method?.engine === 'full';

  const exportZip = async (kind: ExportKind) => {
    setBusy(kind);
    setError(null);
    setDone(null);
    try {
      const r = await exportRun(kind, kind === 'merged' && mergedF32 ? { mergedF32 } : undefined);
      downloadBlob(r.fileName, r.bytes, 'application/zip');
      setDone(`${r.fileName} (${formatBytes(r.bytes.byteLength)}): ${r.entries.join(', ')}`);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(null);
    }
  };
  const exportMetrics = (format: 'csv' | 'json') => {
    const { metrics, runInfo } = useAppStore.getState();
    const name = `subspace-metrics-run${metrics.runId}.${format}`;
    if (format === 'csv') downloadBlob(name, metricsCsv(metrics), 'text/csv');
    else downloadBlob(name, metricsJson(metrics, runInfo), 'application/json');
    setDone(name);
  };

  return (
    <section className="panel" aria-labelledby="export-title" data-testid="export-panel">
      <h2 id="export-title">Export</h2>
      {!tuned && <p className="hint">Train a run to export its adapter; the merged model and metrics follow the last run.</p>}
      {stepping && <p className="hint">Pause or finish the run to export.</p>}
      <div className="actions">
        {adapterKind === 'peft' && (
          <button type="button" disabled={blocked} onClick={() => void exportZip('peft')} data-testid="export-peft">
            peft adapter (.zip)
          </button>
        )}
        {adapterKind === 'mora' && (
          <button type="button" disabled={blocked} onClick={() => void exportZip('mora')} data-testid="export-mora">
            MoRA adapter (.zip)
          </button>
        )}
        <button type="button" disabled={blocked || !hasModel} onClick={() => void exportZip('merged')} data-testid="export-merged">
          {tuned ? 'Merged model' : 'Model'} in HF layout (.zip)
        </button>
        {stored16 && (
          <label className="inline" title="Matrices the loaded file stored in 16 bits are written in that dtype again, rounded after the update is added">
            <input type="checkbox" checked={mergedF32} onChange={(e) => setMergedF32(e.target.checked)} data-testid="export-merged-f32" />
            Merged model in F32 (default: the file's 16 bits)
          </label>
        )}
        <button type="button" disabled={!hasMetrics} onClick={() => exportMetrics('csv')} data-testid="export-csv">
          Metrics CSV
        </button>
        <button type="button" disabled={!hasMetrics} onClick={() => exportMetrics('json')} data-testid="export-json">
          Metrics JSON
        </button>
      </div>
      <ExportStatus busy={busy && `Preparing the ${busy === 'merged' ? 'merged model' : 'adapter'}…`} saved={done} error={error} savedId="export-done" errorId="export-error" />
      {convertible && <LoraConversion blocked={blocked} />}
      <OnnxExport blocked={stepping || generating} />
      <ImportAdapter />
    </section>
  );
}
