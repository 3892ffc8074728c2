// Resumable uploads through tus (tus-js-client against /api/v1/uploads).
//
// Uploads live here, not in a page, so they go on while the user moves
// around the app. Each request gets a fresh Authorization header
// (onBeforeRequest). The upload URL is remembered in localStorage under the
// file's fingerprint, so picking the same file again after a reload resumes
// it, and a dropped connection resumes from the server's offset (HEAD) once
// the browser is back online, never from zero. When the server refuses a
// file, the problem's `detail` is what the user sees.

import { useSyncExternalStore } from 'react';
import type * as Tus from 'tus-js-client';
import { del as apiDel } from './api';
import { announce, fetchMeeting } from './meetings';
import { parseProblem } from './problem';
import * as session from './session';

export type UploadState =
	| 'waiting' // queued behind other uploads
	| 'starting'
	| 'uploading'
	| 'offline' // connection lost; resumes by itself
	| 'done'
	| 'rejected' // the server refused the file: `error` says why
	| 'failed' // could not finish: `error`, and Retry
	| 'cancelled';

export interface UploadItem {
	key: string;
	name: string;
	size: number;
	title: string;
	state: UploadState;
	sent: number;
	/** bytes per second, smoothed */
	rate: number;
	resumedFrom: number;
	meetingId: string | null;
	error: string | null;
	/** refused with 402 quota_exceeded: the page offers the upgrade */
	quota?: boolean;
	startedAt: number;
	/** kind of source, for the wording */
	source: 'file' | 'recording';
	/** how many people speak, when the uploader knows (guides speaker detection) */
	speakers: number | null;
}

export interface PreviousUpload {
	storageKey: string;
	filename: string;
	title: string;
	size: number | null;
	createdAt: string;
	uploadUrl: string | null;
}

const DEFAULT_CHUNK = 5 * 1024 * 1024;
const PARALLEL = 2;
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000];

let items: UploadItem[] = [];
const uploads = new Map<string, Tus.Upload>();
const files = new Map<string, File>();
const listeners = new Set<() => void>();
let seq = 0;
let tusModule: Promise<typeof Tus> | null = null;

function loadTus(): Promise<typeof Tus> {
	if (!tusModule) tusModule = import('tus-js-client');
	return tusModule;
}

function emit(): void {
	for (const l of listeners) l();
}

function update(key: string, patch: Partial<UploadItem>): void {
	items = items.map((it) => (it.key === key ? { ...it, ...patch } : it));
	emit();
}

function find(key: string): UploadItem | undefined {
	return items.find((i) => i.key === key);
}

export function subscribe(fn: () => void): () => void {
	listeners.add(fn);
	return () => listeners.delete(fn);
}

export function getItems(): UploadItem[] {
	return items;
}

export function useUploads(): UploadItem[] {
	return useSyncExternalStore(subscribe, () => items);
}

export const isBusy = (s: UploadState) => s === 'waiting' || s === 'starting' || s === 'uploading' || s === 'offline';

/** Chunk size: 5 MB, or a test hook (?chunkSize= on the page, or localStorage iam.tusChunkSize). */
export function chunkSize(): number {
	const fromUrl = Number(new URLSearchParams(window.location.search).get('chunkSize'));
	if (Number.isFinite(fromUrl) && fromUrl >= 1024) {
		try {
			localStorage.setItem('iam.tusChunkSize', String(Math.floor(fromUrl)));
		} catch {
			/* no storage */
		}
		return Math.floor(fromUrl);
	}
	let stored = NaN;
	try {
		stored = Number(localStorage.getItem('iam.tusChunkSize'));
	} catch {
		/* no storage */
	}
	return Number.isFinite(stored) && stored >= 1024 ? Math.floor(stored) : DEFAULT_CHUNK;
}

/** Add files to upload; returns their keys. */
export function addFiles(list: File[], opts: { title?: string; source?: 'file' | 'recording'; speakers?: number | null } = {}): string[] {
	const keys: string[] = [];
	for (const f of list) {
		const key = `u${++seq}`;
		keys.push(key);
		files.set(key, f);
		items = [
			...items,
			{
				key,
				name: f.name,
				size: f.size,
				title: (opts.title && list.length === 1 ? opts.title : titleOf(f.name)).slice(0, 200),
				state: 'waiting',
				sent: 0,
				rate: 0,
				resumedFrom: 0,
				meetingId: null,
				error: null,
				startedAt: Date.now(),
				source: opts.source || 'file',
				speakers: opts.speakers && opts.speakers >= 1 && opts.speakers <= 20 ? Math.floor(opts.speakers) : null,
			},
		];
	}
	emit();
	pump();
	return keys;
}

function titleOf(name: string): string {
	const base = name.replace(/\.[A-Za-z0-9]{1,5}$/, '').trim();
	return base || name;
}

function pump(): void {
	let running = items.filter((i) => i.state === 'starting' || i.state === 'uploading').length;
	for (const it of items) {
		if (running >= PARALLEL) break;
		if (it.state === 'waiting') {
			running++;
			void begin(it.key);
		}
	}
}

function problemDetail(err: unknown): { status: number; detail: string } {
	const e = err as Tus.DetailedError;
	const res = e && e.originalResponse;
	if (res) {
		const status = res.getStatus();
		const p = parseProblem(status, (h) => res.getHeader(h) ?? null, res.getBody() || '');
		return { status, detail: p.detail };
	}
	return { status: 0, detail: 'The connection to IAM was lost.' };
}

// An upload whose request got 401 waits for this refresh before trying again.
let pendingRefresh: Promise<string | null> | null = null;

async function begin(key: string): Promise<void> {
	const file = files.get(key);
	const it = find(key);
	if (!file || !it) return;
	update(key, { state: 'starting', error: null });
	let tus: typeof Tus;
	try {
		tus = await loadTus();
	} catch {
		update(key, { state: 'failed', error: "The uploader could not be loaded. Check your connection and reload the page." });
		pump();
		return;
	}
	if (find(key)?.state !== 'starting') return;
	let lastTick = { t: performance.now(), sent: 0 };
	let lastToken: string | null = null;

	const upload = new tus.Upload(file, {
		endpoint: `${window.location.origin}/api/v1/uploads`,
		chunkSize: chunkSize(),
		retryDelays: RETRY_DELAYS,
		metadata: { filename: file.name, title: it.title, ...(it.speakers ? { speakers_expected: String(it.speakers) } : {}) },
		storeFingerprintForResuming: true,
		removeFingerprintOnSuccess: true,
		async onBeforeRequest(req) {
			if (pendingRefresh) await pendingRefresh.catch(() => null);
			const t = await session.accessToken().catch(() => null);
			lastToken = t;
			if (t) req.setHeader('Authorization', `Bearer ${t}`);
		},
		onAfterResponse(req, res) {
			const id = res.getHeader('X-Meeting-Id');
			if (id && find(key)?.meetingId !== id) update(key, { meetingId: id });
			if (req.getMethod() === 'HEAD' && res.getStatus() === 200) {
				// resuming: the server already has this much
				const off = Number(res.getHeader('Upload-Offset'));
				if (Number.isFinite(off) && off > 0) update(key, { resumedFrom: off, sent: off });
			}
		},
		onShouldRetry(err, attempt) {
			const status = err.originalResponse ? err.originalResponse.getStatus() : 0;
			if (status === 401) {
				if (attempt > 1) return false;
				pendingRefresh = session.refresh(lastToken || undefined).finally(() => {
					pendingRefresh = null;
				});
				return true;
			}
			if (status === 0) return navigator.onLine; // offline: wait for 'online' instead of spending tries
			if (status === 409 || status === 423 || status === 429 || status >= 500) return true;
			return false;
		},
		onProgress(sent, total) {
			const now = performance.now();
			const dt = now - lastTick.t;
			let rate = find(key)?.rate || 0;
			if (dt >= 250) {
				const inst = ((sent - lastTick.sent) * 1000) / dt;
				rate = rate ? rate * 0.7 + inst * 0.3 : inst;
				lastTick = { t: now, sent };
			}
			update(key, { sent: Math.min(sent, total), rate: Math.max(0, rate), state: 'uploading' });
		},
		onSuccess() {
			void succeeded(key);
		},
		onError(err) {
			void failed(key, err);
		},
	});
	uploads.set(key, upload);
	try {
		const previous = await upload.findPreviousUploads();
		if (previous.length > 0) {
			previous.sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime));
			upload.resumeFromPreviousUpload(previous[0]);
		}
	} catch {
		/* start afresh */
	}
	if (find(key)?.state !== 'starting') return;
	upload.start();
}

async function succeeded(key: string): Promise<void> {
	const it = find(key);
	if (!it) return;
	update(key, { state: 'done', sent: it.size, error: null });
	uploads.delete(key);
	files.delete(key);
	pump();
	if (it.meetingId) {
		try {
			announce(await fetchMeeting(it.meetingId));
		} catch {
			/* the link still works */
		}
	}
}

async function failed(key: string, err: unknown): Promise<void> {
	const it = find(key);
	if (!it || it.state === 'cancelled') return;
	const { status, detail } = problemDetail(err);
	if (status === 0) {
		// network: resume when the browser is back online (or retry soon if it never said it was offline)
		update(key, { state: 'offline', error: navigator.onLine ? 'The connection to IAM was lost. Retrying…' : "You're offline. The upload continues when the connection is back." });
		waitForNetwork(key);
		return;
	}
	if (status === 401) {
		// the session is over: the upload can be continued after logging in again
		update(key, { state: 'failed', error: 'Your session ended. Log in again and press Retry: the upload continues where it stopped.' });
		uploads.delete(key);
		session.end();
		return;
	}
	const refused = status === 400 || status === 402 || status === 413 || status === 415 || status === 422;
	update(key, { state: refused ? 'rejected' : 'failed', error: detail, quota: status === 402 });
	const up = uploads.get(key);
	if (refused) {
		uploads.delete(key);
		files.delete(key);
		if (up?.url) void forgetStored(up.url);
		// The upload made a meeting that now has no audio: don't leave it behind.
		if (it.meetingId) {
			const id = it.meetingId;
			apiDel(`/api/v1/meetings/${encodeURIComponent(id)}`).catch(() => undefined);
			update(key, { meetingId: null });
		}
	}
	pump();
}

const waiting = new Set<string>();

function waitForNetwork(key: string): void {
	if (waiting.has(key)) return;
	waiting.add(key);
	let timer: ReturnType<typeof setTimeout> | undefined;
	const go = () => {
		window.removeEventListener('online', go);
		clearTimeout(timer);
		waiting.delete(key);
		const it = find(key);
		const up = uploads.get(key);
		if (!it || it.state !== 'offline' || !up) return;
		update(key, { state: 'uploading', error: null });
		up.start(); // HEAD for the server's offset, then PATCH from there
	};
	window.addEventListener('online', go);
	const poll = () => {
		if (navigator.onLine) go();
		else timer = setTimeout(poll, 5000);
	};
	timer = setTimeout(poll, navigator.onLine ? 3000 : 5000);
}

/** Try a failed upload again (it resumes where the server stopped). */
export function retry(key: string): void {
	const it = find(key);
	if (!it) return;
	const up = uploads.get(key);
	if (up && (it.state === 'failed' || it.state === 'offline')) {
		update(key, { state: 'uploading', error: null });
		up.start();
		return;
	}
	if (files.has(key)) {
		update(key, { state: 'waiting', error: null });
		pump();
	}
}

/** Stop an upload, delete what reached the server, and the meeting it made. */
export async function cancel(key: string): Promise<void> {
	const it = find(key);
	if (!it) return;
	const up = uploads.get(key);
	update(key, { state: 'cancelled', error: null });
	uploads.delete(key);
	files.delete(key);
	pump();
	if (up) {
		try {
			await up.abort(true);
		} catch {
			/* expires on the server after 24 h */
		}
	}
	if (it.meetingId && it.state !== 'done') {
		apiDel(`/api/v1/meetings/${encodeURIComponent(it.meetingId)}`).catch(() => undefined);
	}
}

/** Stop every upload and forget them (logging out). */
export function stopAll(): void {
	for (const up of uploads.values()) void up.abort(false).catch(() => undefined);
	uploads.clear();
	files.clear();
	items = [];
	emit();
}

export function dismiss(key: string): void {
	items = items.filter((i) => i.key !== key);
	emit();
}

export function clearFinished(): void {
	items = items.filter((i) => isBusy(i.state) || i.state === 'failed');
	emit();
}

// ------------------------------------------------------------------ uploads left from earlier visits

/** Drop the resume entry of an upload the server ended. */
async function forgetStored(url: string): Promise<void> {
	try {
		const tus = await loadTus();
		const store = tus.defaultOptions.urlStorage;
		if (!store) return;
		for (const p of await store.findAllUploads()) if (p.uploadUrl === url) await store.removeUpload(p.urlStorageKey);
	} catch {
		/* harmless: it is offered as unfinished and discarding it is a no-op */
	}
}

export async function previousUploads(): Promise<PreviousUpload[]> {
	const tus = await loadTus();
	if (!tus.canStoreURLs || !tus.defaultOptions.urlStorage) return [];
	const all = await tus.defaultOptions.urlStorage.findAllUploads();
	const activeUrls = new Set([...uploads.values()].map((u) => u.url).filter(Boolean));
	return all
		.filter((p) => p.uploadUrl && !activeUrls.has(p.uploadUrl))
		.map((p) => ({
			storageKey: p.urlStorageKey,
			filename: p.metadata?.filename || 'file',
			title: p.metadata?.title || p.metadata?.filename || 'Upload',
			size: p.size,
			createdAt: p.creationTime,
			uploadUrl: p.uploadUrl,
		}))
		.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
}

/** Forget an unfinished upload: delete it on the server, and its empty meeting. */
export async function discardPrevious(p: PreviousUpload): Promise<void> {
	const tus = await loadTus();
	if (p.uploadUrl) {
		const token = await session.accessToken().catch(() => null);
		const headers: Record<string, string> = { 'Tus-Resumable': '1.0.0' };
		if (token) headers.Authorization = `Bearer ${token}`;
		try {
			const head = await fetch(p.uploadUrl, { method: 'HEAD', headers });
			const meetingId = head.ok ? head.headers.get('X-Meeting-Id') : null;
			await fetch(p.uploadUrl, { method: 'DELETE', headers });
			if (meetingId) await apiDel(`/api/v1/meetings/${encodeURIComponent(meetingId)}`).catch(() => undefined);
		} catch {
			/* it expires on the server */
		}
	}
	await tus.defaultOptions.urlStorage?.removeUpload(p.storageKey);
}

window.addEventListener('beforeunload', (e) => {
	if (items.some((i) => i.state === 'uploading' || i.state === 'starting' || i.state === 'offline')) {
		e.preventDefault();
		e.returnValue = '';
	}
});
