/**
 * The model (the last run merged in) for transformers.js: the ONNX folder as a ZIP, and "Run the
 * export here" — the engine worker loads it into onnxruntime-web (WebGPU, else WASM) and generates
 * greedily beside the engine, showing both texts, tokens/s, and whether they are the same.
 */
import { useState } from 'react';
import { useAppStore } from '../../store/store.ts';
import type { EventOf, OnnxDtype, OnnxProvider } from '../../workers/protocol.ts';
import { downloadBlob } from '../shared/download.ts';
import { formatBytes } from '../../schema/estimate.ts';
import { ExportStatus, useExportTask } from './export-status.tsx';

const PROVIDER_NAME: Record<OnnxProvider, string> = { webgpu: 'WebGPU', wasm: 'WASM' };

export function OnnxExport({ blocked }: { blocked: boolean }) {
  const hasModel = useAppStore((s) => s.model !== null);
  const exportRun = useAppStore((s) => s.exportRun);
  const runOnnxExport = useAppStore((s) => s.runOnnxExport);
  const [dtype, setDtype] = useState<OnnxDtype>('fp32');
  const [prompt, setPrompt] = useState('Once upon a time');
  const [tokens, setTokens] = useState('60');
  const [provider, setProvider] = useState<OnnxProvider>('webgpu');
  const { busy, error, run: runTask } = useExportTask();
  const [saved, setSaved] = useState<string | null>(null);
  const [ran, setRan] = useState<EventOf<'onnxRan'> | null>(null);
  const disabled = blocked || busy !== null || !hasModel;

  const download = () => {
    setSaved(null);
    return runTask('Exporting the ONNX model…', async () => {
      const r = await exportRun('onnx', { dtype });
      downloadBlob(r.fileName, r.bytes, 'application/zip');
      setSaved(`${r.fileName} (${formatBytes(r.bytes.byteLength)}): ${r.entries.join(', ')}`);
    });
  };

  const run = () => {
    setRan(null);
    return runTask('Exporting the model…', async (progress) => {
      setRan(await runOnnxExport({ prompt, maxTokens: Number(tokens), dtype, provider }, (m) => progress(`${m}…`)));
    });
  };

  return (
    <div className="onnx-export" data-testid="onnx-export">
      <h3>transformers.js and onnxruntime-web</h3>
      <div className="actions">
        <label>
          Weights{' '}
          <select value={dtype} onChange={(e) => setDtype(e.target.value as OnnxDtype)} data-testid="onnx-dtype">
            <option value="fp32">fp32 (onnx/model.onnx)</option>
            <option value="fp16">fp16 (onnx/model_fp16.onnx)</option>
          </select>
        </label>
        <button type="button" disabled={disabled} onClick={() => void download()} data-testid="export-onnx">
          Download for transformers.js (.zip)
        </button>
      </div>
      <div className="actions">
        <label>
          Prompt <input value={prompt} onChange={(e) => setPrompt(e.target.value)} data-testid="onnx-prompt" />
        </label>
        <label>
          Tokens <input type="number" min={1} max={512} value={tokens} onChange={(e) => setTokens(e.target.value)} data-testid="onnx-tokens" />
        </label>
        <label>
          Execution provider{' '}
          <select value={provider} onChange={(e) => setProvider(e.target.value as OnnxProvider)} data-testid="onnx-provider">
            <option value="webgpu">WebGPU (WASM if it fails)</option>
            <option value="wasm">WASM</option>
          </select>
        </label>
        <button type="button" disabled={disabled} onClick={() => void run()} data-testid="onnx-run">
          Run the export here
        </button>
      </div>
      <ExportStatus busy={busy} saved={saved} error={error} savedId="onnx-export-done" errorId="onnx-error" />
      {ran && <OnnxRunResult ran={ran} />}
    </div>
  );
}

function OnnxRunResult({ ran }: { ran: EventOf<'onnxRan'> }) {
  const rows = [
    { who: 'Engine (WebGPU kernels)', side: ran.engine, testId: 'onnx-engine' },
    { who: `onnxruntime-web (${PROVIDER_NAME[ran.provider]})`, side: ran.onnx, testId: 'onnx-ort' },
  ];
  const firstDiff = ran.identical ? -1 : ran.engine.ids.findIndex((t, i) => t !== ran.onnx.ids[i]);
  return (
    <div data-testid="onnx-run-result" data-identical={String(ran.identical)} data-provider={ran.provider}>
      <p data-testid="onnx-provider-used">
        Ran on onnxruntime-web's {PROVIDER_NAME[ran.provider]} execution provider
        {ran.fallback ? ` (${ran.fallback})` : ''}; the {formatBytes(ran.modelBytes)} model loaded in {(ran.loadMs / 1000).toFixed(2)} s.
      </p>
      <table className="onnx-compare">
        <thead>
          <tr>
            <th>Runtime</th>
            <th>Greedy text</th>
            <th>New tokens</th>
            <th>Tokens/s</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ who, side, testId }) => (
            <tr key={testId} data-testid={testId}>
              <td>{who}</td>
              <td className="onnx-text" data-testid={`${testId}-text`}>{side.text}</td>
              <td>{side.newTokens}</td>
              <td data-testid={`${testId}-tps`}>{side.tokensPerSecond.toFixed(1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p data-testid="onnx-identical">
        {ran.identical
          ? `Identical: the same ${ran.engine.newTokens} greedy tokens.`
          : `The texts differ, from token ${firstDiff < 0 ? Math.min(ran.engine.ids.length, ran.onnx.ids.length) : firstDiff} of the sequence (prompt included).`}
      </p>
    </div>
  );
}
