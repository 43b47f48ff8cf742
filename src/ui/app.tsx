/** The page: header with the GPU, then the model and generate panels (or why WebGPU is missing). */
import { useAppStore } from '../store/store.ts';
import { GeneratePanel } from './generate/generate-panel.tsx';
import { AdapterBadge } from './gpu/adapter-badge.tsx';
import { EngineBanner } from './gpu/engine-banner.tsx';
import { WebGpuMissing } from './gpu/webgpu-missing.tsx';
import { ModelPanel } from './model/model-panel.tsx';

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
            <ModelPanel />
            <GeneratePanel />
          </div>
        )}
      </main>
    </>
  );
}
