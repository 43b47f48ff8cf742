/** Entry point: start the engine worker, then render the app. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { useAppStore } from './store/store.ts';
import { applyQuery, syncUrl } from './store/url-sync.ts';
import { App } from './ui/app.tsx';
import { ErrorBoundary } from './ui/error-boundary.tsx';
import './ui/app.css';

// A link's settings first, so the model load and data split already use them.
applyQuery(location.search);
syncUrl();

void useAppStore
  .getState()
  .startEngine()
  .then(() => {
    if (useAppStore.getState().engineStatus === 'ready') return useAppStore.getState().loadDefaultModel();
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
