/**
 * The page: header with the GPU; then the set-up column (model, data, method) next to the results
 * column (train with its chart, compare runs, generate and compare, export) — or why WebGPU is missing.
 */
import { useAppStore } from '../store/store.ts';
import { CompareRunsPanel } from './compare-runs/compare-runs-panel.tsx';
import { DataPanel } from './data/data-panel.tsx';
import { ExportPanel } from './export/export-panel.tsx';
import { GeneratePanel } from './generate/generate-panel.tsx';
import { LabPanel } from './lab/lab-panel.tsx';
import { AdapterBadge } from './gpu/adapter-badge.tsx';
import { EngineBanner } from './gpu/engine-banner.tsx';
import { WebGpuMissing } from './gpu/webgpu-missing.tsx';
import { MethodPanel } from './method/method-panel.tsx';
import { ModelPanel } from './model/model-panel.tsx';
import { RunPanel } from './train/run-panel.tsx';
import { SavedRunsPanel } from './runs/saved-runs-panel.tsx';
import { SpectrumPanel } from './spectrum/spectrum-panel.tsx';

export function App() {
  const status = useAppStore((s) => s.engineStatus);
  return (
    <>
      <header className="app-header">
        <h1>
          Subspace <span className="tagline">LLaMA fine-tuning studio on WebGPU</span>
        </h1>
        <AdapterBadge />
      </header>
      <main className="app-main">
        <EngineBanner />
        {status === 'unavailable' ? (
          <WebGpuMissing />
        ) : (
          <div className="workspace">
            <div className="column" aria-label="Set-up">
              <ModelPanel />
              <DataPanel />
              <MethodPanel />
            </div>
            <div className="column" aria-label="Results">
              <RunPanel />
              <CompareRunsPanel />
              <SavedRunsPanel />
              <SpectrumPanel />
              <GeneratePanel />
              <ExportPanel />
              <LabPanel />
            </div>
          </div>
        )}
      </main>
    </>
  );
}
