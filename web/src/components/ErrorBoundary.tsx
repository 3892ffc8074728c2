// The last line of defence: a rendering error shows a way out, never a blank page.

import { Component, type ErrorInfo, type ReactNode } from 'react';

interface State {
	error: Error | null;
}

export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, State> {
	state: State = { error: null };

	static getDerivedStateFromError(error: Error): State {
		return { error };
	}

	componentDidCatch(error: Error, info: ErrorInfo): void {
		console.error('IAM: a page failed to render', error, info.componentStack);
	}

	componentDidUpdate(prev: { resetKey?: string }): void {
		// moving to another page clears the error
		if (this.state.error && prev.resetKey !== this.props.resetKey) this.setState({ error: null });
	}

	render() {
		if (!this.state.error) return this.props.children;
		return (
			<div className="alert alert--error" role="alert">
				<div className="alert__body">
					<p className="alert__title">This page ran into a problem and could not be shown.</p>
					<p className="alert__text">Reload to try again. If it keeps happening, go back to your meetings.</p>
				</div>
				<div className="alert__action">
					<button type="button" className="btn" onClick={() => window.location.reload()}>
						Reload
					</button>
				</div>
			</div>
		);
	}
}
