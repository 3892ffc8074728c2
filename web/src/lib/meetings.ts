// Meetings the app has seen, shared by every page, and their live status.
//
// A meeting that is queued or processing is watched through Server-Sent
// Events (POST .../ticket, then EventSource .../events?ticket=...), at most
// MAX_STREAMS at a time so that the browser's six connections per host stay
// free for everything else; the rest are polled. A stream that fails is
// reopened with a new ticket, with backoff, and falls back to polling.

import { useEffect, useSyncExternalStore } from 'react';
import { get, post } from './api';
import { ApiError } from './problem';
import type { Meeting, StatusEvent } from './types';

const MAX_STREAMS = 3;
const POLL_MS = 3000;

const cache = new Map<string, Meeting>();
const deleted = new Set<string>();
const byId = new Map<string, Set<() => void>>();
const anyListeners = new Set<() => void>();
let version = 0;

function notify(id: string): void {
	version++;
	for (const l of byId.get(id) || []) l();
	for (const l of anyListeners) l();
}

export const isActive = (s: string | undefined) => s === 'queued' || s === 'processing';
export const isTerminal = (s: string | undefined) => s === 'completed' || s === 'failed';

export function putMeeting(m: Meeting): Meeting {
	if (deleted.has(m.id)) return m;
	const old = cache.get(m.id);
	// an SSE event may be newer than a list reply that was in flight: never go back
	if (old && rank(old.status) > rank(m.status) && Date.parse(old.updated_at) >= Date.parse(m.updated_at)) {
		m = { ...m, status: old.status, progress: old.progress, processing_error: old.processing_error };
	}
	// only GET /meetings/{id} says what the caller may do: list rows and events keep what it said
	if (old?.permissions && !m.permissions) m = { ...m, permissions: old.permissions };
	cache.set(m.id, m);
	notify(m.id);
	return m;
}

function rank(s: string): number {
	return { pending: 0, uploaded: 0, queued: 1, processing: 2, completed: 3, failed: 3 }[s] ?? 0;
}

export function patchMeeting(id: string, patch: Partial<Meeting>): void {
	const old = cache.get(id);
	if (!old) return;
	cache.set(id, { ...old, ...patch });
	notify(id);
}

export function forgetMeeting(id: string): void {
	deleted.add(id);
	cache.delete(id);
	notify(id);
}

export function cachedMeeting(id: string): Meeting | undefined {
	return cache.get(id);
}

export function useMeeting(id: string | null | undefined): Meeting | undefined {
	return useSyncExternalStore(
		(fn) => {
			if (!id) return () => undefined;
			let set = byId.get(id);
			if (!set) byId.set(id, (set = new Set()));
			set.add(fn);
			return () => set!.delete(fn);
		},
		() => (id ? cache.get(id) : undefined),
	);
}

/** Re-renders on any meeting change. */
export function useMeetingsVersion(): number {
	return useSyncExternalStore(
		(fn) => {
			anyListeners.add(fn);
			return () => anyListeners.delete(fn);
		},
		() => version,
	);
}

export async function fetchMeeting(id: string): Promise<Meeting> {
	try {
		return putMeeting(await get<Meeting>(`/api/v1/meetings/${encodeURIComponent(id)}`));
	} catch (e) {
		if (e instanceof ApiError && e.status === 404) forgetMeeting(id);
		throw e;
	}
}

// ------------------------------------------------------------------ new meetings

const createdListeners = new Set<(m: Meeting) => void>();

/** Tell open lists about a meeting made here (an upload, a recording). */
export function announce(m: Meeting): void {
	putMeeting(m);
	for (const l of createdListeners) l(m);
}

export function onCreated(fn: (m: Meeting) => void): () => void {
	createdListeners.add(fn);
	return () => createdListeners.delete(fn);
}

// ------------------------------------------------------------------ live status

interface Watcher {
	id: string;
	refs: number;
	es: EventSource | null;
	opening: boolean;
	poll: ReturnType<typeof setTimeout> | undefined;
	retry: ReturnType<typeof setTimeout> | undefined;
	failures: number;
	unsub: () => void;
}

const watchers = new Map<string, Watcher>();
let streams = 0;

function stopStream(w: Watcher): void {
	if (w.es) {
		w.es.close();
		w.es = null;
		streams--;
		// a slot is free: give it to a meeting that is being polled
		for (const other of watchers.values()) {
			if (other !== w && !other.es && !other.opening && other.poll && isActive(cache.get(other.id)?.status)) {
				clearTimeout(other.poll);
				other.poll = undefined;
				void openStream(other);
				break;
			}
		}
	}
}

function stopAll(w: Watcher): void {
	stopStream(w);
	clearTimeout(w.poll);
	clearTimeout(w.retry);
	w.poll = undefined;
	w.retry = undefined;
}

async function finish(w: Watcher): Promise<void> {
	stopAll(w);
	try {
		await fetchMeeting(w.id); // the full record: duration, engine, times
	} catch {
		/* the status from the event is shown meanwhile */
	}
}

function schedulePoll(w: Watcher): void {
	clearTimeout(w.poll);
	w.poll = setTimeout(async () => {
		w.poll = undefined;
		if (!watchers.has(w.id)) return;
		try {
			const m = await fetchMeeting(w.id);
			if (!isActive(m.status)) return;
		} catch (e) {
			if (e instanceof ApiError && (e.status === 404 || e.status === 401)) return;
		}
		if (watchers.has(w.id) && !w.es) {
			if (streams < MAX_STREAMS && w.failures < 5) void openStream(w);
			else schedulePoll(w);
		}
	}, POLL_MS);
}

async function openStream(w: Watcher): Promise<void> {
	if (w.es || w.opening) return;
	if (streams >= MAX_STREAMS || w.failures >= 5) {
		schedulePoll(w);
		return;
	}
	w.opening = true;
	let ticket: string;
	try {
		ticket = (await post<{ ticket: string }>(`/api/v1/meetings/${encodeURIComponent(w.id)}/ticket`)).ticket;
	} catch (e) {
		w.opening = false;
		if (e instanceof ApiError && e.status === 404) {
			forgetMeeting(w.id);
			return;
		}
		w.failures++;
		schedulePoll(w);
		return;
	}
	w.opening = false;
	if (!watchers.has(w.id) || w.es || !isActive(cache.get(w.id)?.status)) return;
	const es = new EventSource(`/api/v1/meetings/${encodeURIComponent(w.id)}/events?ticket=${encodeURIComponent(ticket)}`);
	w.es = es;
	streams++;
	es.addEventListener('status', (ev) => {
		let d: StatusEvent;
		try {
			d = JSON.parse((ev as MessageEvent<string>).data) as StatusEvent;
		} catch {
			return;
		}
		w.failures = 0;
		patchMeeting(w.id, { status: d.status, progress: d.progress, processing_error: d.processing_error });
		if (isTerminal(d.status)) void finish(w);
		else if (!isActive(d.status)) stopStream(w);
	});
	es.addEventListener('error', () => {
		// CONNECTING: the browser reconnects by itself. CLOSED: it gave up
		// (an expired ticket, the meeting is gone): check and start again.
		if (es.readyState !== EventSource.CLOSED || w.es !== es) return;
		stopStream(w);
		w.failures++;
		clearTimeout(w.retry);
		w.retry = setTimeout(() => {
			if (watchers.has(w.id)) schedulePoll(w);
		}, Math.min(30_000, 500 * 2 ** w.failures));
	});
}

function evaluate(w: Watcher): void {
	const m = cache.get(w.id);
	if (!m) return;
	if (isActive(m.status)) {
		if (!w.es && !w.opening && !w.poll && !w.retry) void openStream(w);
	} else if (w.es) {
		stopStream(w);
	}
}

/** Keep this meeting's status live while it is queued or processing. Returns the stop function. */
export function watch(id: string): () => void {
	let w = watchers.get(id);
	if (w) {
		w.refs++;
	} else {
		const nw: Watcher = { id, refs: 1, es: null, opening: false, poll: undefined, retry: undefined, failures: 0, unsub: () => undefined };
		w = nw;
		watchers.set(id, nw);
		let set = byId.get(id);
		if (!set) byId.set(id, (set = new Set()));
		const fn = () => evaluate(nw);
		set.add(fn);
		nw.unsub = () => set!.delete(fn);
		evaluate(nw);
	}
	const mine = w;
	let done = false;
	return () => {
		if (done) return;
		done = true;
		mine.refs--;
		if (mine.refs <= 0) {
			mine.unsub();
			stopAll(mine);
			watchers.delete(id);
		}
	};
}

/** watch() for the lifetime of a component. */
export function useWatch(ids: string[]): void {
	const key = ids.join(',');
	useEffect(() => {
		const stops = key ? key.split(',').map((id) => watch(id)) : [];
		return () => stops.forEach((s) => s());
	}, [key]);
}
