// A meeting's transcript as something to edit: reads keep the ETag the API
// sends ("t<version>"), every edit sends it back in If-Match (so a change
// made meanwhile by someone else is a 412, never overwritten), and the
// revision history. Also how speakers are named and coloured.

import { api, apiResponse, get } from './api';
import { ApiError, parseProblem } from './problem';
import type { Page, Revision, RevisionWithTranscript, Speaker, Transcript } from './types';

export interface Loaded {
	transcript: Transcript;
	/** the ETag of this version; null for an older text (original, a revision) */
	etag: string | null;
}

const base = (meetingId: string) => `/api/v1/meetings/${encodeURIComponent(meetingId)}/transcript`;

async function readLoaded(res: Response): Promise<Loaded> {
	const text = await res.text();
	let transcript: Transcript;
	try {
		transcript = JSON.parse(text) as Transcript;
	} catch {
		throw new ApiError(parseProblem(res.status, () => null, JSON.stringify({ detail: 'IAM sent a transcript this page cannot read. Reload and try again.' })));
	}
	return { transcript, etag: res.headers.get('ETag') };
}

/** The current transcript (with its ETag), or the machine original. */
export async function fetchTranscript(meetingId: string, which: 'current' | 'original' = 'current', signal?: AbortSignal): Promise<Loaded> {
	const q = which === 'original' ? '?version=original' : '';
	return readLoaded(await apiResponse(`${base(meetingId)}${q}`, { signal }));
}

/** A change to the transcript, as the API takes it. */
export type Edit =
	| { kind: 'segment'; index: number; text?: string; speaker?: string }
	| { kind: 'rename'; speaker: string; name: string | null }
	| { kind: 'merge'; speaker: string; into: string }
	| { kind: 'restore'; version: number };

/**
 * Apply an edit to the version the ETag names. Resolves with the new
 * transcript and ETag; throws ApiError (412 version_mismatch when the
 * transcript changed meanwhile, 400 with field errors, 409 meeting_busy).
 */
export async function sendEdit(meetingId: string, etag: string | null, edit: Edit): Promise<Loaded> {
	const headers: Record<string, string> = {};
	if (etag) headers['If-Match'] = etag;
	const b = base(meetingId);
	let res: Response;
	switch (edit.kind) {
		case 'segment': {
			const json: { text?: string; speaker?: string } = {};
			if (edit.text !== undefined) json.text = edit.text;
			if (edit.speaker !== undefined) json.speaker = edit.speaker;
			res = await apiResponse(`${b}/segments/${edit.index}`, { method: 'PATCH', json, headers });
			break;
		}
		case 'rename':
			res = await apiResponse(`${b}/speakers/${encodeURIComponent(edit.speaker)}`, { method: 'PUT', json: { name: edit.name }, headers });
			break;
		case 'merge':
			res = await apiResponse(`${b}/speakers/${encodeURIComponent(edit.speaker)}/merge`, { method: 'POST', json: { into: edit.into }, headers });
			break;
		case 'restore':
			res = await apiResponse(`${b}/revisions/${edit.version}/restore`, { method: 'POST', headers });
			break;
	}
	return readLoaded(res);
}

export const isStale = (e: unknown) => e instanceof ApiError && (e.status === 412 || e.code === 'version_mismatch');

export function listRevisions(meetingId: string, cursor: string | null, limit = 20): Promise<Page<Revision>> {
	const q = new URLSearchParams({ limit: String(limit) });
	if (cursor) q.set('cursor', cursor);
	return get<Page<Revision>>(`${base(meetingId)}/revisions?${q}`);
}

export function fetchRevision(meetingId: string, version: number): Promise<RevisionWithTranscript> {
	return api<RevisionWithTranscript>(`${base(meetingId)}/revisions/${version}`);
}

/**
 * The newest 'transcribed' revision (the machine text the original is),
 * looked for through at most `pages` pages of the history.
 */
export async function findMachineRevision(meetingId: string, pages = 20): Promise<Revision | null> {
	let cursor: string | null = null;
	for (let i = 0; i < pages; i++) {
		const page: Page<Revision> = await listRevisions(meetingId, cursor, 100);
		const hit = page.data.find((r) => r.action === 'transcribed');
		if (hit) return hit;
		if (!page.next_cursor) return null;
		cursor = page.next_cursor;
	}
	return null;
}

// ------------------------------------------------------------------ speakers

/** "Speaker 2" for "S2" (a speaker that no longer exists after a merge). */
export function labelOf(id: string): string {
	const m = /^S(\d+)$/.exec(id);
	return m ? `Speaker ${m[1]}` : id;
}

export function displayName(s: Pick<Speaker, 'name' | 'label' | 'id'> | undefined, id?: string | null): string {
	if (s) return s.name && s.name.trim() ? s.name : s.label || labelOf(s.id);
	return id ? labelOf(id) : 'Unknown speaker';
}

/** Number of colours in the palette (styles.css .spk--0 ... .spk--7). */
export const PALETTE_SIZE = 8;

/** The palette slot of a speaker: by its number, so S1 keeps its colour whatever else changes. */
export function colourOf(id: string | null | undefined): number {
	const m = id ? /^S(\d+)$/.exec(id) : null;
	if (!m) return -1;
	return (Number(m[1]) - 1) % PALETTE_SIZE;
}

/** "45 s", "2 min 5 s", "1 h 2 min" */
export function formatTalkTime(seconds: number): string {
	if (!Number.isFinite(seconds) || seconds <= 0) return '0 s';
	const s = Math.round(seconds);
	if (s < 60) return `${s} s`;
	if (s < 3600) {
		const m = Math.floor(s / 60);
		const r = s % 60;
		return r ? `${m} min ${r} s` : `${m} min`;
	}
	const h = Math.floor(s / 3600);
	const m = Math.round((s % 3600) / 60);
	return m ? `${h} h ${m} min` : `${h} h`;
}

// ------------------------------------------------------------------ revisions

const clip = (s: unknown, n = 60) => {
	const t = typeof s === 'string' ? s.trim() : '';
	return t.length > n ? `${t.slice(0, n - 1)}…` : t;
};

/** What a revision did, in a sentence (speaker ids named with the current names where they still exist). */
export function describeRevision(r: Revision, speakers: Speaker[]): string {
	const sum = r.summary || {};
	const name = (id: unknown) => (typeof id === 'string' ? displayName(speakers.find((s) => s.id === id), id) : 'a speaker');
	switch (r.action) {
		case 'transcribed':
			return 'Transcribed by the machine (the original)';
		case 'edit_segment': {
			const line = typeof sum.segment === 'number' ? `line ${sum.segment + 1}` : 'a line';
			const parts: string[] = [];
			if (typeof sum.text === 'string') parts.push(`Edited ${line}: “${clip(sum.text)}”`);
			if (typeof sum.speaker === 'string') parts.push(`${parts.length ? 'moved it' : `Moved ${line}`} to ${name(sum.speaker)}`);
			return parts.length ? parts.join(', ') : `Edited ${line}`;
		}
		case 'rename_speaker': {
			const before = clip(sum.name_before, 40) || labelOf(String(sum.speaker || ''));
			const after = clip(sum.name, 40);
			return after && after !== before ? `Renamed ${before} to ${after}` : `Renamed ${before}`;
		}
		case 'merge_speakers':
			return `Merged ${typeof sum.speaker === 'string' ? labelOf(sum.speaker) : 'a speaker'} into ${name(sum.into)}`;
		case 'restore':
			return typeof sum.restored_version === 'number' ? `Restored version ${sum.restored_version}` : 'Restored an earlier version';
		default:
			return String(r.action).replace(/_/g, ' ');
	}
}
