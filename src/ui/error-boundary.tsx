/** Shows a readable message instead of a blank page when rendering throws. */
import { Component, type ReactNode } from 'react';

interface State {
  error: Error | null;
}

export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  render(): ReactNode {
    if (!this.state.error) return this.props.children;
    return (
      <main className="app-main">
        <section className="panel panel-error" role="alert" data-testid="app-crashed">
          <h2>Something went wrong</h2>
          <p>The page hit an unexpected problem: {this.state.error.message}</p>
          <p>
            <button type="button" onClick={() => location.reload()}>
              Reload the page
            </button>
          </p>
        </section>
      </main>
    );
  }
}
