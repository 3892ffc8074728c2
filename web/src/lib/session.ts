// The signed-in session.
//
// * The access token lives in memory only. The refresh token is kept in
//   localStorage so that a reload (or a new tab) stays logged in.
// * Access tokens are refreshed about 60 s before they expire, and once more
//   when the API answers 401; if that fails the session has ended and the
//   app sends the user to log in with a message.
// * Refresh tokens are single-use and presenting one twice revokes the whole
//   session, so refreshes are serialised across tabs with the Web Locks API
//   ('iam-refresh'), and whoever refreshes hands the new pair to the other
//   tabs through a BroadcastChannel (and the storage event) before letting go
//   of the lock. Inside the lock a tab always uses the newest refresh token it
//   knows of (a generation number orders them), so no two tabs ever present
//   the same one.

import { ApiError, networkError, parseProblem } from './problem';
import type { TokenResponse, User } from './types';

const STORE_KEY = 'iam.refresh';
const LOCK = 'iam-refresh';
const EARLY_MS = 60_000; // refresh this long before expiry
const MIN_LEFT_MS = 20_000; // an access token with less than this left is not used

export const SESSION_ENDED = 'Your session ended — log in again.';

interface Stored {
	token: string;
	gen: number;
}

interface Access {
	token: string;
	expiresAt: number;
	/** the refresh token it was issued with */
	refresh: string;
	gen: number;
}

export type SessionStatus = 'loading' | 'anonymous' | 'authenticated';

export interface SessionState {
	status: SessionStatus;
	user: User | null;
	/** Why the user is looking at the login page (session ended, logged out elsewhere). */
	notice: string | null;
}

type Msg =
	| { type: 'tokens'; access: string; expiresAt: number; refresh: string; gen: number }
	| { type: 'logout'; reason: string | null }
	| { type: 'user'; user: User };

let state: SessionState = { status: 'loading', user: null, notice: null };
let access: Access | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
let inflight: Promise<string | null> | null = null;
const listeners = new Set<() => void>();

const channel: BroadcastChannel | null = typeof BroadcastChannel === 'function' ? new BroadcastChannel('iam-auth') : null;

// ------------------------------------------------------------------ state

function setState(patch: Partial<SessionState>): void {
	state = { ...state, ...patch };
	for (const l of listeners) l();
}

export function subscribe(fn: () => void): () => void {
	listeners.add(fn);
	return () => listeners.delete(fn);
}

export function getState(): SessionState {
	return state;
}

export function clearNotice(): void {
	if (state.notice) setState({ notice: null });
}

// ------------------------------------------------------------------ storage

function readStored(): Stored | null {
	let raw: string | null = null;
	try {
		raw = localStorage.getItem(STORE_KEY);
	} catch {
		return null;
	}
	if (!raw) return null;
	try {
		const v: unknown = JSON.parse(raw);
		if (v && typeof v === 'object' && typeof (v as Stored).token === 'string') {
			const s = v as Stored;
			return { token: s.token, gen: Number(s.gen) || 0 };
		}
	} catch {
		/* a bare token (older format) */
	}
	return { token: raw, gen: 0 };
}

function writeStored(s: Stored | null): void {
	try {
		if (s) localStorage.setItem(STORE_KEY, JSON.stringify(s));
		else localStorage.removeItem(STORE_KEY);
	} catch {
		/* private mode without storage: the session lasts as long as the tab */
	}
}

/** The newest refresh token this tab knows of: from storage or from a broadcast. */
function newestRefresh(): Stored | null {
	const s = readStored();
	if (access && (!s || access.gen > s.gen)) return { token: access.refresh, gen: access.gen };
	return s;
}

// ------------------------------------------------------------------ tokens

function schedule(): void {
	clearTimeout(timer);
	if (!access) return;
	const delay = Math.max(1000, access.expiresAt - Date.now() - EARLY_MS);
	timer = setTimeout(() => {
		void refresh().catch(() => {
			/* offline: the next request or the visibility change tries again */
		});
	}, delay);
}

function adopt(a: Access): void {
	if (access && access.gen > a.gen) return;
	access = a;
	schedule();
}

function accept(body: TokenResponse, gen: number): Access {
	const a: Access = {
		token: body.access_token,
		expiresAt: Date.now() + Math.max(60, body.expires_in || 900) * 1000,
		refresh: body.refresh_token,
		gen,
	};
	access = a;
	writeStored({ token: a.refresh, gen });
	schedule();
	channel?.postMessage({ type: 'tokens', access: a.token, expiresAt: a.expiresAt, refresh: a.refresh, gen } satisfies Msg);
	return a;
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
	const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
	if (locks && typeof locks.request === 'function') {
		return locks.request(LOCK, { mode: 'exclusive' }, fn) as Promise<T>;
	}
	return fn();
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Get a fresh access token. `failed` is an access token the API just refused:
 * it is never handed out again. Resolves to null when the session is over;
 * rejects (ApiError) when the server cannot be reached, leaving the session.
 */
export function refresh(failed?: string): Promise<string | null> {
	if (inflight) return inflight;
	let settle!: { ok: (t: string | null) => void; fail: (e: unknown) => void };
	const result = new Promise<string | null>((ok, fail) => (settle = { ok, fail }));
	inflight = result;
	withLock(async () => {
		// Another tab may have refreshed while we waited for the lock.
		if (access && access.token !== failed && access.expiresAt - Date.now() > EARLY_MS) return settle.ok(access.token);
		const cur = newestRefresh();
		if (!cur) return settle.ok(null);
		let res: Response;
		try {
			res = await fetch('/api/v1/auth/refresh', {
				method: 'POST',
				headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
				body: JSON.stringify({ refresh_token: cur.token }),
				credentials: 'same-origin',
			});
		} catch {
			return settle.fail(networkError());
		}
		const text = await res.text();
		if (res.ok) {
			const body = JSON.parse(text) as TokenResponse;
			const a = accept(body, cur.gen + 1);
			settle.ok(a.token);
			// Hold the lock a moment longer so the other tabs hear about the new
			// pair (storage, BroadcastChannel) before the next one may refresh.
			await pause(40);
			return undefined;
		}
		if (res.status === 400 || res.status === 401 || res.status === 403) {
			const now = newestRefresh();
			if (now && now.token === cur.token) writeStored(null);
			access = null;
			return settle.ok(null);
		}
		return settle.fail(new ApiError(parseProblem(res.status, (h) => res.headers.get(h), text)));
	})
		.catch((e: unknown) => settle.fail(e))
		.finally(() => {
			if (inflight === result) inflight = null;
		});
	return result;
}

/** The current access token, refreshed first when it is close to expiry. */
export async function accessToken(): Promise<string | null> {
	if (access && access.expiresAt - Date.now() > MIN_LEFT_MS) return access.token;
	return refresh();
}

/** The session is over: forget it everywhere and show the login page with `notice`. */
export function end(notice: string | null = SESSION_ENDED, broadcast = true): void {
	clearTimeout(timer);
	const hadSession = state.status === 'authenticated' || access !== null;
	access = null;
	writeStored(null);
	if (broadcast) channel?.postMessage({ type: 'logout', reason: notice } satisfies Msg);
	setState({ status: 'anonymous', user: null, notice: hadSession || state.status === 'loading' ? notice : state.notice });
}

// ------------------------------------------------------------------ login, logout

/** After login or register: keep the tokens, know the user. */
export function signedIn(body: TokenResponse): void {
	const prev = readStored();
	accept(body, (prev?.gen || 0) + 1);
	const user = body.user ? { ...body.user, organization: body.user.organization || body.organization } : null;
	setState({ status: 'authenticated', user, notice: null });
	if (!user) void loadUser();
}

export function setUser(user: User): void {
	setState({ user: { ...state.user, ...user } });
	channel?.postMessage({ type: 'user', user: state.user as User } satisfies Msg);
}

async function loadUser(): Promise<void> {
	const t = await accessToken();
	if (!t) return end();
	const res = await fetch('/api/v1/users/me', { headers: { Authorization: `Bearer ${t}`, Accept: 'application/json' } });
	if (res.status === 401) {
		const t2 = await refresh(t);
		if (!t2) return end();
		const r2 = await fetch('/api/v1/users/me', { headers: { Authorization: `Bearer ${t2}`, Accept: 'application/json' } });
		if (!r2.ok) return end();
		setState({ status: 'authenticated', user: (await r2.json()) as User });
		return;
	}
	if (!res.ok) throw new ApiError(parseProblem(res.status, (h) => res.headers.get(h), await res.text()));
	setState({ status: 'authenticated', user: (await res.json()) as User });
}

export async function logout(): Promise<void> {
	const t = access?.token;
	end(null);
	// on a shared computer the next person should not see this one's unfinished uploads
	try {
		for (const k of Object.keys(localStorage)) if (k.startsWith('tus::')) localStorage.removeItem(k);
	} catch {
		/* no storage */
	}
	if (t) {
		try {
			await fetch('/api/v1/auth/logout', { method: 'POST', headers: { Authorization: `Bearer ${t}` } });
		} catch {
			/* the tokens are forgotten here either way */
		}
	}
}

// ------------------------------------------------------------------ start-up

let started = false;

/** Restore the session from the stored refresh token (once, at start-up). */
export async function start(): Promise<void> {
	if (started) return;
	started = true;
	if (!readStored()) {
		setState({ status: 'anonymous' });
		return;
	}
	for (let attempt = 0; ; attempt++) {
		try {
			const t = await refresh();
			if (!t) {
				end(SESSION_ENDED, false);
				return;
			}
			// Show the app now; who the user is arrives alongside the page's own data.
			setState({ status: 'authenticated' });
			void loadUser().catch(() => undefined);
			return;
		} catch {
			// The server is unreachable: keep trying, the session may be fine.
			setState({ notice: "Can't reach IAM. Retrying…" });
			await pause(Math.min(10_000, 1000 * 2 ** attempt));
			if (state.status !== 'loading') return;
		}
	}
}

channel?.addEventListener('message', (ev: MessageEvent<Msg>) => {
	const m = ev.data;
	if (!m || typeof m !== 'object') return;
	if (m.type === 'tokens') {
		adopt({ token: m.access, expiresAt: m.expiresAt, refresh: m.refresh, gen: m.gen });
		if (state.status === 'anonymous' && !state.user) {
			// logged in in another tab
			setState({ status: 'loading' });
			void loadUser().catch(() => setState({ status: 'anonymous' }));
		}
	} else if (m.type === 'logout') {
		if (state.status !== 'anonymous') end(m.reason === null ? 'You logged out in another tab.' : m.reason, false);
	} else if (m.type === 'user') {
		if (state.user && state.user.id === m.user.id) setState({ user: m.user });
	}
});

if (typeof window !== 'undefined') {
	window.addEventListener('storage', (e) => {
		if (e.key !== STORE_KEY) return;
		if (e.newValue === null && state.status === 'authenticated') end('You logged out in another tab.', false);
	});
	document.addEventListener('visibilitychange', () => {
		// timers are throttled in background tabs: catch up when shown again
		if (document.visibilityState === 'visible' && access && access.expiresAt - Date.now() < EARLY_MS) {
			void refresh().catch(() => undefined);
		}
	});
}
