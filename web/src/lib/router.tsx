// A small client-side router: history API, <Link>, path patterns with :params.

import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

const EVENT = 'iam:navigate';

export interface Location {
	path: string;
	search: string;
	/** state passed to navigate() (a flash message, for one) */
	state: NavState | null;
}

export interface NavState {
	flash?: string;
	[k: string]: unknown;
}

let current: Location = read();

function read(): Location {
	const st = window.history.state as { iam?: NavState } | null;
	return { path: window.location.pathname, search: window.location.search, state: st?.iam || null };
}

function update(): void {
	const next = read();
	if (next.path !== current.path || next.search !== current.search || next.state !== current.state) current = next;
	for (const l of listeners) l();
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', update);
window.addEventListener(EVENT, update);

function subscribe(fn: () => void): () => void {
	listeners.add(fn);
	return () => listeners.delete(fn);
}

export function useLocation(): Location {
	return useSyncExternalStore(subscribe, () => current);
}

export function getLocation(): Location {
	return current;
}

export function navigate(to: string, opts: { replace?: boolean; state?: NavState } = {}): void {
	const url = new URL(to, window.location.href);
	const same = url.pathname === window.location.pathname && url.search === window.location.search;
	const data = { iam: opts.state || null };
	if (opts.replace || (same && !opts.state)) window.history.replaceState(data, '', url.pathname + url.search + url.hash);
	else window.history.pushState(data, '', url.pathname + url.search + url.hash);
	window.dispatchEvent(new Event(EVENT));
	if (!same) window.scrollTo(0, 0);
}

/** Match a pattern like /meetings/:id against a path. */
export function match(pattern: string, path: string): Record<string, string> | null {
	const p = pattern.split('/').filter(Boolean);
	const s = path.replace(/\/+$/, '').split('/').filter(Boolean);
	if (p.length !== s.length) return null;
	const params: Record<string, string> = {};
	for (let i = 0; i < p.length; i++) {
		if (p[i].startsWith(':')) {
			try {
				params[p[i].slice(1)] = decodeURIComponent(s[i]);
			} catch {
				return null;
			}
		} else if (p[i] !== s[i]) return null;
	}
	return params;
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { to: string; children: ReactNode; state?: NavState };

export function Link({ to, children, onClick, state, ...rest }: LinkProps) {
	const handle = (e: MouseEvent<HTMLAnchorElement>) => {
		onClick?.(e);
		if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
		if (rest.target && rest.target !== '_self') return;
		e.preventDefault();
		navigate(to, { state });
	};
	return (
		<a href={to} onClick={handle} {...rest}>
			{children}
		</a>
	);
}
