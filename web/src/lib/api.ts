// fetch for the IAM API: the Authorization header, one refresh-and-retry on
// 401 (then the session has ended), and problem+json turned into ApiError.

import { ApiError, networkError, parseProblem } from './problem';
import * as session from './session';

export interface RequestOptions {
	method?: string;
	json?: unknown;
	/** send without a token (login, register) */
	anonymous?: boolean;
	signal?: AbortSignal;
	headers?: Record<string, string>;
}

async function send(path: string, opts: RequestOptions, token: string | null): Promise<Response> {
	const headers: Record<string, string> = { Accept: 'application/json', ...(opts.headers || {}) };
	let body: string | undefined;
	if (opts.json !== undefined) {
		headers['Content-Type'] = 'application/json';
		body = JSON.stringify(opts.json);
	}
	if (token) headers.Authorization = `Bearer ${token}`;
	try {
		return await fetch(path, { method: opts.method || 'GET', headers, body, signal: opts.signal, credentials: 'same-origin' });
	} catch (e) {
		if (e instanceof DOMException && e.name === 'AbortError') throw e;
		throw networkError();
	}
}

/** The raw response of an authenticated request (for downloads); throws ApiError unless 2xx. */
export async function apiResponse(path: string, opts: RequestOptions = {}): Promise<Response> {
	if (opts.anonymous) {
		const res = await send(path, opts, null);
		if (!res.ok) throw new ApiError(parseProblem(res.status, (h) => res.headers.get(h), await res.text()));
		return res;
	}
	let token = await session.accessToken();
	if (!token) {
		session.end();
		throw new ApiError(parseProblem(401, () => null, JSON.stringify({ detail: session.SESSION_ENDED, code: 'session_ended' })));
	}
	let res = await send(path, opts, token);
	if (res.status === 401) {
		token = await session.refresh(token);
		if (token) res = await send(path, opts, token);
		if (!token || res.status === 401) {
			session.end();
			throw new ApiError(parseProblem(401, () => null, JSON.stringify({ detail: session.SESSION_ENDED, code: 'session_ended' })));
		}
	}
	if (!res.ok) throw new ApiError(parseProblem(res.status, (h) => res.headers.get(h), await res.text()));
	return res;
}

/** An API call that answers JSON (or nothing: 204 -> undefined). */
export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
	const res = await apiResponse(path, opts);
	if (res.status === 204) return undefined as T;
	const text = await res.text();
	if (!text) return undefined as T;
	try {
		return JSON.parse(text) as T;
	} catch {
		throw new ApiError(parseProblem(res.status, () => null, JSON.stringify({ detail: 'IAM sent a reply this page cannot read. Reload and try again.' })));
	}
}

export const get = <T>(path: string, signal?: AbortSignal) => api<T>(path, { signal });
export const post = <T>(path: string, json?: unknown) => api<T>(path, { method: 'POST', json });
export const put = <T>(path: string, json: unknown) => api<T>(path, { method: 'PUT', json });
export const del = (path: string) => api<void>(path, { method: 'DELETE' });

/** File name from a Content-Disposition header (filename* first). */
export function filenameFrom(cd: string | null, fallback: string): string {
	if (!cd) return fallback;
	const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(cd);
	if (star) {
		try {
			return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''));
		} catch {
			/* fall through */
		}
	}
	const plain = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(cd) || /filename\s*=\s*([^;]+)/.exec(cd);
	if (plain) return plain[1].trim().replace(/\\(.)/g, '$1');
	return fallback;
}

/** Fetch with auth and save the body as a file with the server's name. */
export async function download(path: string, fallbackName: string): Promise<string> {
	const res = await apiResponse(path, { headers: { Accept: '*/*' } });
	const name = filenameFrom(res.headers.get('Content-Disposition'), fallbackName);
	const blob = await res.blob();
	const url = URL.createObjectURL(blob);
	const a = document.createElement('a');
	a.href = url;
	a.download = name;
	a.rel = 'noopener';
	a.style.display = 'none';
	document.body.appendChild(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 60_000);
	return name;
}
