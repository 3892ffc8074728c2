// One WebSocket for the whole app (GET /api/v2/messages/ws/{user_id}): live
// events such as meeting.status, new_message, notification, presence and
// typing arrive as {"type", "data"} and go to whoever subscribed to that
// type. The socket opens with a short-lived ticket (browsers cannot send
// headers on it), while someone listens and the user is signed in; it
// reconnects by itself with backoff (0.5 s doubling to 30 s, with jitter)
// and tells "connected" listeners, so pages can catch up on what they missed
// and fall back to their old mechanism while it is down.

import { useEffect, useState } from 'react';
import { post } from './api';
import { getState, subscribe as onSession } from './session';

export type LiveHandler = (data: any) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

const handlers = new Map<string, Set<LiveHandler>>();
const connListeners = new Set<(up: boolean) => void>();
let ws: WebSocket | null = null;
let up = false;
let attempts = 0;
let retry: ReturnType<typeof setTimeout> | undefined;
let pinger: ReturnType<typeof setInterval> | undefined;
let opening = false;
let userId: string | null = null;

function setUp(v: boolean): void {
	if (up === v) return;
	up = v;
	for (const l of connListeners) l(v);
}

function wanted(): boolean {
	return handlers.size > 0 && getState().status === 'authenticated' && !!getState().user;
}

function scheduleReconnect(): void {
	clearTimeout(retry);
	if (!wanted()) return;
	const base = Math.min(30_000, 500 * 2 ** attempts);
	attempts++;
	retry = setTimeout(() => void connect(), base / 2 + Math.random() * (base / 2));
}

function close(): void {
	clearTimeout(retry);
	clearInterval(pinger);
	retry = undefined;
	if (ws) {
		const old = ws;
		ws = null;
		old.onclose = null;
		old.close(1000);
	}
	setUp(false);
}

async function connect(): Promise<void> {
	if (ws || opening || !wanted()) return;
	opening = true;
	const user = getState().user!;
	let ticket: string;
	try {
		ticket = (await post<{ ticket: string }>('/api/v1/realtime/ticket')).ticket;
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
		attempts = 0;
		setUp(true);
		// a keep-alive of our own too: some proxies drop sockets that only the server pings
		clearInterval(pinger);
		pinger = setInterval(() => {
			if (sock.readyState === WebSocket.OPEN) sock.send(JSON.stringify({ type: 'ping', timestamp: Date.now() }));
		}, 30_000);
	};
	sock.onmessage = (ev) => {
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
		clearInterval(pinger);
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

function useRefLatest<T>(v: T): { current: T } {
	const [ref] = useState(() => ({ current: v }));
	ref.current = v;
	return ref;
}
