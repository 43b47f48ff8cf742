/** Load a model from disk (file picker or drag and drop) and show what was loaded. */
import { useAppStore } from '../../store/store.ts';
import { FileDropZone } from './file-drop-zone.tsx';
import { HubLoader } from './hub-loader.tsx';
import { ModelError } from './model-error.tsx';
import { ModelSummaryView } from './model-summary.tsx';

export function ModelPanel() {
  const ready = useAppStore((s) => s.engineStatus === 'ready');
  const loading = useAppStore((s) => s.modelLoading);
  const progress = useAppStore((s) => s.loadProgress);
  const loadModel = useAppStore((s) => s.loadModel);
  const loadDefaultModel = useAppStore((s) => s.loadDefaultModel);
  return (
    <section className="panel" aria-labelledby="model-title" data-testid="model-panel">
      <h2 id="model-title">Model</h2>
      <p className="hint">
        Choose the files together: a llama2.c checkpoint with its <code>tokenizer.bin</code>, or Hugging Face{' '}
        <code>config.json</code> + <code>model.safetensors</code> + <code>tokenizer.json</code>.
      </p>
      <FileDropZone disabled={!ready} onFiles={(files) => void loadModel(files)} />
      <button type="button" className="secondary" disabled={!ready || loading} onClick={() => void loadDefaultModel()} data-testid="load-default">
        Load the built-in model
      </button>
      <HubLoader />
      {loading && (
        <p className="status" role="status" data-testid="model-progress">
          <span className="spinner" aria-hidden="true" /> {progress ?? 'Loading…'}
        </p>
      )}
      <ModelError />
      <ModelSummaryView />
    </section>
  );
}
