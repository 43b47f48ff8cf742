/** Entry point: start the engine worker, then render the app. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { engine } from './store/engine.ts';
import { useAppStore } from './store/store.ts';
import { syncAutoRecompute } from './store/auto-recompute.ts';
import { applyQuery, syncUrl } from './store/url-sync.ts';
import { App } from './ui/app.tsx';
import { ErrorBoundary } from './ui/error-boundary.tsx';
import './ui/app.css';

// The dev server and the end-to-end tests' build (mode 'e2e') can reach the engine, e.g. to send `loseDevice`.
if (import.meta.env.DEV || import.meta.env.MODE === 'e2e') Object.assign(window, { subspace: { engine: engine(), store: useAppStore } });

// A link's settings first, so the model load and data split already use them.
applyQuery(location.search);
syncUrl();
syncAutoRecompute();

void useAppStore
  .getState()
  .startEngine()
  .then(() => {
    const state = useAppStore.getState();
    if (state.engineStatus !== 'ready') return;
    state.watchStorage();
    void state.refreshSavedRuns();
    return state.loadDefaultModel();
  });

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <ErrorBoundary>
      <App />
    </ErrorBoundary>
  </StrictMode>,
);
