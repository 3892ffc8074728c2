import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';

export function render(): void {
	const root = document.getElementById('root');
	if (!root) return;
	createRoot(root).render(
		<StrictMode>
			<App />
		</StrictMode>,
	);
}
