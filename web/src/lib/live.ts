// One WebSocket for the whole app (GET /api/v2/messages/ws/{user_id}): live
// events such as meeting.status, new_message, notification, presence and
// typing arrive as {"type", "data"} and go to whoever subscribed to that
// type. The socket opens with a short-lived ticket (browsers cannot send
// headers on it), while someone listens and the user is signed in.
//
// Drops: it reconnects by itself, each time with a fresh ticket, after an
// exponential backoff with jitter (0.25–0.5 s, doubling up to 15–30 s). The
// backoff resets only once a socket has really worked (the server answered
// it), so a server that accepts and at once closes is not hammered. A drop
// the browser does not notice (a half-open TCP connection: Chromium keeps
// sockets when the network goes away) is found by our own ping: no answer
// within PONG_WAIT_MS and the socket is given up. Going offline closes it;
// coming back online (or back to the tab) retries at once. Every (re)connect
// tells the "connected" listeners, so pages catch up on what they missed
// (the bell re-reads the counts, the inbox its list, presence who is online)
// and fall back to their old mechanism while it is down.
//
// Presence and typing are kept here too: usePresence(id) (who of my
// organizations is online: GET /api/v2/presence at every connect, then the
// socket's presence events) and useTyping() (who is typing to me: "typing"
// events, each good for TYPING_SHOW_MS); sendTyping(to) tells someone that
// I am typing, at most every TYPING_EVERY_MS.

import { useEffect, useState, useSyncExternalStore } from 'react';
import { api, get } from './api';
import { getState, subscribe as onSession } from './session';

export type LiveHandler = (data: any) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

export const PING_MS = 25_000;
export const PONG_WAIT_MS = 10_000;
export const TICKET_WAIT_MS = 10_000;
export const BACKOFF_MIN_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
export const TYPING_EVERY_MS = 3_000;
export const TYPING_SHOW_MS = 5_000;

const handlers = new Map<string, Set<LiveHandler>>();
const connListeners = new Set<(up: boolean) => void>();
let ws: WebSocket | null = null;
let up = false;
let attempts = 0;
let retry: ReturnType<typeof setTimeout> | undefined;
let pinger: ReturnType<typeof setInterval> | undefined;
let watchdog: ReturnType<typeof setTimeout> | undefined;
let opening = false;
let userId: string | null = null;

function setUp(v: boolean): void {
	if (up === v) return;
	up = v;
	for (const l of [...connListeners]) l(v);
}

function wanted(): boolean {
	return handlers.size > 0 && getState().status === 'authenticated' && !!getState().user;
}

/** The wait before reconnect attempt n (0-based): half the window fixed, half random. */
export function backoffDelay(n: number, rand = Math.random()): number {
	const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(n, 16));
	return base / 2 + rand * (base / 2);
}

function scheduleReconnect(): void {
	clearTimeout(retry);
	retry = undefined;
	if (!wanted()) return;
	retry = setTimeout(() => {
		retry = undefined;
		void connect();
	}, backoffDelay(attempts));
	attempts++;
}

function stopTimers(): void {
	clearInterval(pinger);
	clearTimeout(watchdog);
	pinger = undefined;
	watchdog = undefined;
}

function close(): void {
	clearTimeout(retry);
	retry = undefined;
	stopTimers();
	if (ws) {
		const old = ws;
		ws = null;
		old.onclose = null;
		old.close(1000);
	}
	setUp(false);
}

/** Give up on the open socket (it stopped answering, or the network went away) and reconnect. */
function drop(): void {
	if (!ws) return;
	const old = ws;
	ws = null;
	old.onclose = null;
	stopTimers();
	try {
		old.close(4000, 'no answer');
	} catch {
		/* already closing */
	}
	setUp(false);
	scheduleReconnect();
}

function ping(sock: WebSocket): void {
	if (sock.readyState !== WebSocket.OPEN) return;
	sock.send(JSON.stringify({ type: 'ping', timestamp: Date.now() }));
	if (!watchdog) watchdog = setTimeout(() => ws === sock && drop(), PONG_WAIT_MS);
}

async function connect(): Promise<void> {
	if (ws || opening || !wanted()) return;
	clearTimeout(retry);
	retry = undefined;
	opening = true;
	const user = getState().user!;
	let ticket: string;
	try {
		// bounded: a request stuck on a dead connection must not stop the retries
		ticket = (await api<{ ticket: string }>('/api/v1/realtime/ticket', { method: 'POST', signal: AbortSignal.timeout(TICKET_WAIT_MS) })).ticket;
	} catch {
		opening = false;
		scheduleReconnect();
		return;
	}
	opening = false;
	if (ws || !wanted()) return;
	userId = user.id;
	const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
	const sock = new WebSocket(`${proto}//${location.host}/api/v2/messages/ws/${encodeURIComponent(user.id)}?ticket=${encodeURIComponent(ticket)}`);
	ws = sock;
	sock.onopen = () => {
		if (ws !== sock) return;
		setUp(true);
		// our own keep-alive and liveness check: the first answer also proves the socket works
		stopTimers();
		ping(sock);
		pinger = setInterval(() => ping(sock), PING_MS);
	};
	sock.onmessage = (ev) => {
		if (ws !== sock) return;
		attempts = 0; // the server answered: this socket works
		clearTimeout(watchdog);
		watchdog = undefined;
		let msg: { type?: string; data?: unknown };
		try {
			msg = JSON.parse(String(ev.data));
		} catch {
			return;
		}
		if (!msg || typeof msg.type !== 'string') return;
		const set = handlers.get(msg.type);
		if (set) for (const fn of [...set]) fn(msg.data);
	};
	sock.onclose = () => {
		if (ws !== sock) return;
		ws = null;
		stopTimers();
		setUp(false);
		scheduleReconnect();
	};
}

// Sign-in, sign-out and a change of user: open, close or reopen.
onSession(() => {
	const s = getState();
	if (s.status !== 'authenticated' || !s.user) close();
	else if (userId && s.user.id !== userId) {
		close();
		void connect();
	} else if (!ws) void connect();
});

/** Retry now rather than at the end of the backoff (back online, back to the tab). */
function retryNow(): void {
	if (ws || opening || !wanted()) return;
	attempts = 0;
	void connect();
}

if (typeof window !== 'undefined') {
	window.addEventListener('offline', drop);
	window.addEventListener('online', retryNow);
	document.addEventListener('visibilitychange', () => {
		if (document.visibilityState === 'visible') retryNow();
	});
}

/** Call fn with the data of every event of this type. Returns the unsubscribe function. */
export function subscribe(type: string, fn: LiveHandler): () => void {
	let set = handlers.get(type);
	if (!set) handlers.set(type, (set = new Set()));
	set.add(fn);
	void connect();
	return () => {
		set!.delete(fn);
		if (!set!.size) handlers.delete(type);
		if (!handlers.size) close();
	};
}

/** Send a message to the server (typing); false when the socket is not open. */
export function send(msg: { type: string; [k: string]: unknown }): boolean {
	if (!ws || ws.readyState !== WebSocket.OPEN) return false;
	ws.send(JSON.stringify(msg));
	return true;
}

/** Is the socket open now; onConnected(fn) tells of every change. */
export const isConnected = (): boolean => up;
export function onConnected(fn: (up: boolean) => void): () => void {
	connListeners.add(fn);
	return () => connListeners.delete(fn);
}

/** subscribe() for the lifetime of a component (fn may change between renders). */
export function useLive(type: string, fn: LiveHandler): boolean {
	const [connected, setConnected] = useState(up);
	const fnRef = useRefLatest(fn);
	useEffect(() => {
		const off = subscribe(type, (d) => fnRef.current(d));
		const offConn = onConnected(setConnected);
		setConnected(up);
		return () => {
			off();
			offConn();
		};
	}, [type, fnRef]);
	return connected;
}

/**
 * Call fn each time the socket comes up after the component mounted (a
 * reconnect, or the first connect when it mounted while the socket was
 * down: its first load may have failed or be stale), to catch up.
 */
export function useReconnected(fn: () => void): void {
	const fnRef = useRefLatest(fn);
	useEffect(
		() =>
			onConnected((isUp) => {
				if (isUp) fnRef.current();
			}),
		[fnRef],
	);
}

function useRefLatest<T>(v: T): { current: T } {
	const [ref] = useState(() => ({ current: v }));
	ref.current = v;
	return ref;
}

// ---------------------------------------------------------------- presence

let online = new Set<string>();
let presenceVersion = 0;
const presenceListeners = new Set<() => void>();
let presenceOff: (() => void)[] = [];
let presenceLoad = 0;

function emitPresence(): void {
	presenceVersion++;
	for (const l of [...presenceListeners]) l();
}

/** Who is online now (at load and after every reconnect); events that came meanwhile win. */
async function loadPresence(): Promise<void> {
	const mine = ++presenceLoad;
	const changed = new Map<string, boolean>();
	const note = (d: { user_id?: string; status?: string }) => {
		if (d && typeof d.user_id === 'string') changed.set(d.user_id, d.status === 'online');
	};
	const off = subscribe('presence', note);
	try {
		const r = await get<{ online: string[] }>('/api/v2/presence');
		if (mine !== presenceLoad) return;
		const next = new Set(r.online);
		for (const [id, on] of changed) {
			if (on) next.add(id);
			else next.delete(id);
		}
		online = next;
		emitPresence();
	} catch {
		/* keep what we knew; the next connect asks again */
	} finally {
		off();
	}
}

function presenceSubscribe(l: () => void): () => void {
	presenceListeners.add(l);
	if (presenceListeners.size === 1) {
		presenceOff = [
			subscribe('presence', (d: { user_id?: string; status?: string }) => {
				if (!d || typeof d.user_id !== 'string') return;
				const on = d.status === 'online';
				if (on === online.has(d.user_id)) return;
				online = new Set(online);
				if (on) online.add(d.user_id);
				else online.delete(d.user_id);
				emitPresence();
			}),
			onConnected((isUp) => {
				emitPresence(); // my own dot follows my socket
				if (isUp) void loadPresence();
			}),
		];
		if (up) void loadPresence();
	}
	return () => {
		presenceListeners.delete(l);
		if (!presenceListeners.size) {
			for (const off of presenceOff) off();
			presenceOff = [];
			presenceLoad++;
		}
	};
}

/** "online" or "offline" for a person of my organizations (me: online while my socket is up). */
export function usePresence(id: string | null | undefined): 'online' | 'offline' {
	useSyncExternalStore(presenceSubscribe, () => presenceVersion);
	if (!id) return 'offline';
	if (id === getState().user?.id) return up ? 'online' : 'offline';
	return online.has(id) ? 'online' : 'offline';
}

// ---------------------------------------------------------------- typing

const typingUntil = new Map<string, number>();
const typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
let typingList: string[] = [];
const typingListeners = new Set<() => void>();
let typingOff: (() => void) | null = null;
const lastSent = new Map<string, number>();

function emitTyping(): void {
	typingList = [...typingUntil.keys()];
	for (const l of [...typingListeners]) l();
}

function typingSubscribe(l: () => void): () => void {
	typingListeners.add(l);
	if (typingListeners.size === 1)
		typingOff = subscribe('typing', (d: { from?: string }) => {
			if (!d || typeof d.from !== 'string') return;
			const from = d.from;
			const isNew = !typingUntil.has(from);
			typingUntil.set(from, Date.now() + TYPING_SHOW_MS);
			clearTimeout(typingTimers.get(from));
			typingTimers.set(
				from,
				setTimeout(() => {
					typingUntil.delete(from);
					typingTimers.delete(from);
					emitTyping();
				}, TYPING_SHOW_MS),
			);
			if (isNew) emitTyping();
		});
	return () => {
		typingListeners.delete(l);
		if (!typingListeners.size && typingOff) {
			typingOff();
			typingOff = null;
		}
	};
}

/** The ids of the people typing to me now (each for TYPING_SHOW_MS after their last event). */
export function useTyping(): string[] {
	return useSyncExternalStore(typingSubscribe, () => typingList);
}

/** Tell `to` that I am typing to them: at most once every TYPING_EVERY_MS per person. */
export function sendTyping(to: string | null | undefined): void {
	if (!to || to === getState().user?.id) return;
	const now = Date.now();
	if (now - (lastSent.get(to) ?? 0) < TYPING_EVERY_MS) return;
	if (send({ type: 'typing', to })) lastSent.set(to, now);
}
