/** Entry point: start the engine worker, then render the app. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { useAppStore } from './store/store.ts';
import { App } from './ui/app.tsx';
import { ErrorBoundary } from './ui/error-boundary.tsx';
import './ui/app.css';

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
