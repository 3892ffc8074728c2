// One meeting: live status while it is processed, the audio with seeking,
// the timed transcript (click to play from there, the current segment
// highlighted and kept in view), find-in-transcript, exports, rename and
// delete, and Retry when transcription failed. Editing: speakers (names,
// colours, talk time, merge), a line's text and speaker in place, the
// revision history with restore; every edit carries the ETag it was made on
// (If-Match), and a change made meanwhile by someone else is loaded and
// said, with what the person typed kept.

import { memo, useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { InsightsTabs } from '../components/InsightsTabs';
import { ShareDialog } from '../components/ShareDialog';
import '../components/ShareDialog.css';
import { Alert, ConfirmDialog, PageHeader, Progress, StatusBadge, Spinner, toast, useDocumentTitle } from '../components/ui';
import { IconDown, IconDownload, IconHistory, IconPencil, IconRetry, IconSearch, IconTrash, IconUp } from '../components/icons';
import { del, download, post, put } from '../lib/api';
import { formatBytes, formatClock, formatDate, formatDuration } from '../lib/format';
import { useLive } from '../lib/live';
import { fetchMeeting, forgetMeeting, isTerminal, patchMeeting, putMeeting, useMeeting, useWatch } from '../lib/meetings';
import { ApiError, messageOf } from '../lib/problem';
import { Link, navigate } from '../lib/router';
import * as session from '../lib/session';
import { fetchTranscript, isStale, sendEdit, type Edit, type Loaded } from '../lib/transcripts';
import type { Meeting, Segment, Speaker, Transcript } from '../lib/types';
import { HistoryPanel, useRestore, type Viewing } from './TranscriptHistory';
import { RenameSpeaker, SpeakerTag, SpeakersPanel, STALE_TEXT, spkClass, type RunEdit } from './TranscriptSpeakers';

// ------------------------------------------------------------------ search

interface Hit {
	seg: number;
	start: number;
	end: number;
}

/**
 * Lower case that keeps every UTF-16 index where it was, so matches found in
 * the folded text are the same ranges of the original (a few characters,
 * such as "İ", grow when lowercased and stay as they are).
 */
function fold(text: string): string {
	const lower = text.toLocaleLowerCase();
	if (lower.length === text.length) return lower;
	let out = '';
	for (const ch of text) {
		const c = ch.toLocaleLowerCase();
		out += c.length === ch.length ? c : ch;
	}
	return out;
}

function findHits(segments: Segment[], query: string): Hit[] {
	const q = fold(query.trim());
	if (!q) return [];
	const hits: Hit[] = [];
	segments.forEach((s, i) => {
		const text = fold(s.text);
		let at = text.indexOf(q);
		while (at >= 0) {
			hits.push({ seg: i, start: at, end: at + q.length });
			at = text.indexOf(q, at + q.length);
		}
	});
	return hits;
}

// ------------------------------------------------------------------ confidence

/** Words the engine was less sure of than this are marked for checking. */
const LOW_CONFIDENCE = 0.5;

interface LowWord {
	start: number;
	end: number;
	confidence: number;
}

const NO_LOW: LowWord[] = [];

const isWordChar = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}\p{M}]/u.test(c);

/**
 * Where the segment's low-confidence words are in its text. The words are
 * the text's words in order (as the engine wrote them, punctuation and
 * all); each is looked up from where the previous one ended, as a whole
 * word, so a word the text does not carry is skipped without losing the
 * others. Segments with no
 * such word share NO_LOW (and render as plain text).
 */
function lowWords(seg: Segment): LowWord[] {
	// a line a person corrected has been checked: its words are not flagged
	if (seg.edited) return NO_LOW;
	const words = seg.words;
	if (!words || !words.some((w) => typeof w.confidence === 'number' && w.confidence < LOW_CONFIDENCE)) return NO_LOW;
	const text = seg.text;
	const out: LowWord[] = [];
	let from = 0;
	for (const w of words) {
		const word = w.word ? w.word.trim() : '';
		if (!word) continue;
		let at = text.indexOf(word, from);
		while (at >= 0 && (isWordChar(text[at - 1]) || isWordChar(text[at + word.length]))) at = text.indexOf(word, at + 1);
		if (at < 0) continue;
		if (typeof w.confidence === 'number' && w.confidence < LOW_CONFIDENCE) out.push({ start: at, end: at + word.length, confidence: w.confidence });
		from = at + word.length;
	}
	return out.length ? out : NO_LOW;
}

const LOW_TITLE = 'Low confidence — check this word';

/** text[from, to) with the low-confidence words in it marked. */
function markLow(text: string, from: number, to: number, low: LowWord[], key: string): ReactNode[] {
	const parts: ReactNode[] = [];
	let pos = from;
	low.forEach((w, k) => {
		const a = Math.max(w.start, from);
		const b = Math.min(w.end, to);
		if (a >= b) return;
		if (a > pos) parts.push(text.slice(pos, a));
		parts.push(
			<span key={`${key}-${k}`} className="word-low" title={`${LOW_TITLE} (${Math.round(w.confidence * 100)}%)`} data-confidence={w.confidence}>
				{text.slice(a, b)}
			</span>,
		);
		pos = b;
	});
	if (pos < to) parts.push(text.slice(pos, to));
	return parts;
}

// ------------------------------------------------------------------ transcript

interface SegProps {
	seg: Segment;
	index: number;
	active: boolean;
	hits: Hit[];
	/** global index of the first hit in this segment */
	firstHit: number;
	currentHit: number;
	/** its low-confidence words (NO_LOW for most segments: plain text, nothing per word) */
	low: LowWord[];
	onSeek: (index: number) => void;
	/** the transcript has speakers: show this line's */
	showSpeaker: boolean;
	speaker: Speaker | undefined;
	/** lines can be edited (the current text, not an old one being viewed) */
	editable: boolean;
	/** the edit form, when this line is being edited */
	editor: ReactNode | null;
	/** the rename form, when this line's speaker is being renamed here */
	renameForm: ReactNode | null;
	onStartEdit: (index: number) => void;
	onStartRename: (speaker: string, index: number) => void;
}

const SegmentRow = memo(function SegmentRow({ seg, index, active, hits, firstHit, currentHit, low, onSeek, showSpeaker, speaker, editable, editor, renameForm, onStartEdit, onStartRename }: SegProps) {
	const parts: ReactNode[] = [];
	const text = seg.text;
	const plain = (from: number, to: number, key: string) => {
		if (low === NO_LOW) parts.push(text.slice(from, to));
		else parts.push(...markLow(text, from, to, low, key));
	};
	let pos = 0;
	hits.forEach((h, k) => {
		if (h.start > pos) plain(pos, h.start, `t${k}`);
		const g = firstHit + k;
		parts.push(
			<mark key={k} className={g === currentHit ? 'hit hit--current' : 'hit'} data-hit={g}>
				{low === NO_LOW ? text.slice(h.start, h.end) : markLow(text, h.start, h.end, low, `h${k}`)}
			</mark>,
		);
		pos = h.end;
	});
	if (pos < text.length) plain(pos, text.length, 'end');

	const spk = seg.speaker || null;
	return (
		<li
			className={`segment${active ? ' segment--active' : ''}${showSpeaker ? ` segment--spk ${spkClass(spk)}` : ''}${editor ? ' segment--editing' : ''}`}
			data-segment-index={index}
			data-start={seg.start}
			data-speaker={spk || undefined}
			data-edited={seg.edited ? 'true' : undefined}
			aria-current={active ? 'true' : undefined}
			onClick={(e) => {
				// selecting text to copy is not a click to play
				const sel = window.getSelection();
				if (sel && !sel.isCollapsed && sel.toString().trim()) return;
				if ((e.target as HTMLElement).closest('button, form, input, textarea, select')) return;
				onSeek(index);
			}}
		>
			<button type="button" className="segment__time" onClick={() => onSeek(index)} aria-label={`Play from ${formatClock(seg.start)}`}>
				{formatClock(seg.start)}
			</button>
			<div className="segment__body">
				{showSpeaker || seg.edited ? (
					<div className="segment__head">
						{showSpeaker ? renameForm || <SpeakerTag speaker={speaker} id={spk} onClick={editable && spk && speaker ? () => onStartRename(spk, index) : undefined} /> : null}
						{seg.edited ? (
							<span className="segment__edited" title="Changed by hand since it was transcribed" data-edited-mark>
								edited
							</span>
						) : null}
					</div>
				) : null}
				{editor || (
					<p className="segment__text" onDoubleClick={editable ? () => onStartEdit(index) : undefined}>
						{parts.length ? parts : <span className="muted">(no words)</span>}
					</p>
				)}
			</div>
			{editable && !editor ? (
				<button type="button" className="btn btn--icon btn--quiet segment__edit" onClick={() => onStartEdit(index)} aria-label={`Edit the line at ${formatClock(seg.start)}`} title="Edit this line (Enter saves, Esc cancels)" data-edit-segment={index}>
					<IconPencil />
				</button>
			) : null}
		</li>
	);
});

// ------------------------------------------------------------------ editing a line

interface EditState {
	index: number;
	draft: string;
	/** the speaker chosen for the line (its own unless reassigned) */
	speaker: string | null;
	/**
	 * The line as it was when the edit began: only what the person changed
	 * is sent, so a change someone else made meanwhile (to the speaker, say)
	 * is not undone by saving the draft again after a 412.
	 */
	origText: string;
	origSpeaker: string | null;
	error: string | null;
	/** the transcript changed under the edit (412): what the line says now is shown */
	stale: boolean;
	busy: boolean;
}

function SegmentEditor({ seg, state, speakers, onChange, onSave, onCancel }: { seg: Segment; state: EditState; speakers: Speaker[]; onChange: (patch: Partial<EditState>) => void; onSave: () => void; onCancel: () => void }) {
	const ref = useRef<HTMLTextAreaElement>(null);
	const id = `seg-edit-${state.index}`;
	const errId = `${id}-error`;
	const helpId = `${id}-help`;

	useEffect(() => {
		const el = ref.current;
		if (!el) return;
		el.focus();
		el.setSelectionRange(el.value.length, el.value.length);
	}, []);
	// grow with the text
	useEffect(() => {
		const el = ref.current;
		if (!el) return;
		el.style.height = 'auto';
		el.style.height = `${el.scrollHeight + 2}px`;
	}, [state.draft]);
	useEffect(() => {
		if (state.error) ref.current?.focus();
	}, [state.error]);

	return (
		<form
			className="seg-edit"
			onSubmit={(e) => {
				e.preventDefault();
				onSave();
			}}
			onKeyDown={(e) => {
				if (e.key === 'Escape') {
					e.preventDefault();
					e.stopPropagation();
					onCancel();
				}
			}}
			data-segment-editor={state.index}
		>
			<label htmlFor={id} className="visually-hidden">
				Text of the line at {formatClock(seg.start)}
			</label>
			<textarea
				id={id}
				ref={ref}
				className="seg-edit__text"
				value={state.draft}
				rows={2}
				maxLength={10000}
				onChange={(e) => onChange({ draft: e.target.value, error: state.stale ? state.error : null })}
				onKeyDown={(e) => {
					if (e.key === 'Enter' && !e.nativeEvent.isComposing) {
						e.preventDefault();
						onSave();
					}
				}}
				aria-invalid={state.error && !state.stale ? true : undefined}
				aria-describedby={[state.error ? errId : '', helpId].filter(Boolean).join(' ')}
				readOnly={state.busy}
				spellCheck
			/>
			<div className="seg-edit__bar">
				{speakers.length ? (
					<label className="seg-edit__speaker">
						<span>Speaker</span>
						<select className="select select--small" value={state.speaker || ''} onChange={(e) => onChange({ speaker: e.target.value || null })} disabled={state.busy} data-segment-speaker>
							{!state.speaker ? <option value="">Unknown</option> : null}
							{speakers.map((s) => (
								<option key={s.id} value={s.id}>
									{s.name || s.label}
								</option>
							))}
						</select>
					</label>
				) : null}
				<button type="submit" className="btn btn--primary btn--small" disabled={state.busy}>
					{state.busy ? 'Saving…' : 'Save'}
				</button>
				<button type="button" className="btn btn--small btn--quiet" onClick={onCancel} disabled={state.busy}>
					Cancel
				</button>
				<span className="muted seg-edit__help" id={helpId}>
					Enter saves · Esc cancels
				</span>
			</div>
			{state.error ? (
				<div id={errId} className={state.stale ? 'seg-edit__stale' : 'field__error'} data-field-error="text" role="alert">
					<p>{state.error}</p>
					{state.stale ? (
						<p className="seg-edit__now">
							The line now reads: <q data-current-text>{seg.text}</q>
						</p>
					) : null}
				</div>
			) : null}
		</form>
	);
}

function activeIndex(segments: Segment[], t: number): number {
	let lo = 0;
	let hi = segments.length - 1;
	let ans = -1;
	while (lo <= hi) {
		const mid = (lo + hi) >> 1;
		if (segments[mid].start <= t + 0.05) {
			ans = mid;
			lo = mid + 1;
		} else hi = mid - 1;
	}
	return ans;
}

/** Is el (partly) hidden behind the sticky player or off-screen? */
function outOfView(el: HTMLElement, topInset: number): boolean {
	const r = el.getBoundingClientRect();
	return r.top < topInset || r.bottom > window.innerHeight;
}

function focusLater(selector: string) {
	setTimeout(() => document.querySelector<HTMLElement>(selector)?.focus(), 0);
}

function TranscriptView({
	meeting,
	transcript,
	audioRef,
	playerRef,
	onEdit,
}: {
	meeting: Meeting;
	transcript: Transcript;
	audioRef: React.RefObject<HTMLAudioElement | null>;
	playerRef: React.RefObject<HTMLDivElement | null>;
	/** how edits are made; none: read-only (an older version) */
	onEdit?: RunEdit;
}) {
	const segments = transcript.segments;
	const speakers = useMemo(() => transcript.speakers || [], [transcript.speakers]);
	const byId = useMemo(() => new Map(speakers.map((s) => [s.id, s])), [speakers]);
	const editable = !!onEdit;
	const [editing, setEditing] = useState<EditState | null>(null);
	const editingRef = useRef<EditState | null>(null);
	editingRef.current = editing;
	const [renaming, setRenaming] = useState<{ id: string; at: number | 'panel' } | null>(null);
	const [active, setActive] = useState(-1);
	const [query, setQuery] = useState('');
	const [current, setCurrent] = useState(0);
	const listRef = useRef<HTMLOListElement>(null);
	const hits = useMemo(() => findHits(segments, query), [segments, query]);
	const bySeg = useMemo(() => {
		const m = new Map<number, { list: Hit[]; first: number }>();
		hits.forEach((h, i) => {
			const e = m.get(h.seg);
			if (e) e.list.push(h);
			else m.set(h.seg, { list: [h], first: i });
		});
		return m;
	}, [hits]);

	const low = useMemo(() => segments.map(lowWords), [segments]);
	const anyLow = useMemo(() => low.some((l) => l !== NO_LOW), [low]);

	const topInset = () => (playerRef.current ? playerRef.current.getBoundingClientRect().bottom : 0);

	// follow playback
	useEffect(() => {
		const a = audioRef.current;
		if (!a) return undefined;
		const onTime = () => setActive(activeIndex(segments, a.currentTime));
		a.addEventListener('timeupdate', onTime);
		a.addEventListener('seeked', onTime);
		return () => {
			a.removeEventListener('timeupdate', onTime);
			a.removeEventListener('seeked', onTime);
		};
	}, [audioRef, segments]);

	useEffect(() => {
		if (active < 0 || !listRef.current) return;
		const a = audioRef.current;
		if (!a || a.paused) return;
		const el = listRef.current.querySelector<HTMLElement>(`[data-segment-index="${active}"]`);
		if (el && outOfView(el, topInset())) el.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
		// eslint-disable-next-line react-hooks/exhaustive-deps
	}, [active]);

	// keep the current match in view
	useEffect(() => {
		if (!hits.length || !listRef.current) return;
		const el = listRef.current.querySelector<HTMLElement>(`[data-hit="${current}"]`);
		if (el && outOfView(el, topInset())) el.scrollIntoView({ block: 'center' });
		// eslint-disable-next-line react-hooks/exhaustive-deps
	}, [current, hits]);

	const seek = useCallback(
		(i: number) => {
			const a = audioRef.current;
			const s = segments[i];
			if (!a || !s) return;
			a.currentTime = s.start;
			setActive(i);
			void a.play().catch(() => undefined);
		},
		[audioRef, segments],
	);

	/**
	 * A line with unsaved changes is open: keep it (it is not dropped by
	 * opening something else) and point at it. true when it blocks.
	 */
	const keepDraft = useCallback((except?: number) => {
		const cur = editingRef.current;
		if (!cur || cur.index === except) return false;
		if (cur.busy) return true;
		if (cur.draft.trim() === cur.origText.trim() && cur.speaker === cur.origSpeaker) return false;
		if (!cur.stale) setEditing({ ...cur, error: 'This line has changes that are not saved: press Enter to save them or Esc to drop them first.' });
		focusLater(`#seg-edit-${cur.index}`);
		return true;
	}, []);

	const startEdit = useCallback(
		(i: number) => {
			const s = segments[i];
			if (!s) return;
			if (keepDraft(i)) return;
			if (editingRef.current?.index === i) {
				focusLater(`#seg-edit-${i}`);
				return;
			}
			setRenaming(null);
			setEditing({ index: i, draft: s.text, speaker: s.speaker || null, origText: s.text, origSpeaker: s.speaker || null, error: null, stale: false, busy: false });
		},
		[segments, keepDraft],
	);

	const cancelEdit = useCallback(() => {
		const cur = editingRef.current;
		if (!cur || cur.busy) return;
		setEditing(null);
		focusLater(`[data-edit-segment="${cur.index}"]`);
	}, []);

	const saveEdit = useCallback(async () => {
		const cur = editingRef.current;
		if (!cur || cur.busy || !onEdit) return;
		const seg = segments[cur.index];
		if (!seg) return;
		const text = cur.draft.trim();
		if (!text) {
			setEditing({ ...cur, stale: false, error: 'The text cannot be empty. To remove words, keep at least one (or press Esc to leave the line as it is).' });
			return;
		}
		const edit: Edit = { kind: 'segment', index: cur.index };
		if (text !== cur.origText.trim() && text !== seg.text) edit.text = text;
		if (cur.speaker && cur.speaker !== cur.origSpeaker && cur.speaker !== (seg.speaker || null)) edit.speaker = cur.speaker;
		if (edit.text === undefined && edit.speaker === undefined) {
			setEditing(null);
			focusLater(`[data-edit-segment="${cur.index}"]`);
			return;
		}
		setEditing({ ...cur, busy: true });
		try {
			await onEdit(edit);
			setEditing(null);
			focusLater(`[data-edit-segment="${cur.index}"]`);
		} catch (e) {
			let error: string;
			let stale = false;
			if (isStale(e)) {
				stale = true;
				error = `${STALE_TEXT} Your text is kept in the box: check it against the line as it is now, then press Enter to save it or Esc to drop it.`;
			} else if (e instanceof ApiError) {
				const f = e.fields();
				error = f.text || f.speaker || e.problem.detail;
			} else error = messageOf(e);
			setEditing((s) => (s && s.index === cur.index ? { ...s, busy: false, error, stale } : s));
		}
	}, [segments, onEdit]);

	const changeEdit = useCallback((patch: Partial<EditState>) => setEditing((s) => (s ? { ...s, ...patch } : s)), []);

	const startRename = useCallback(
		(id: string, at: number) => {
			if (keepDraft()) return;
			setEditing(null);
			setRenaming({ id, at });
		},
		[keepDraft],
	);

	const endRename = useCallback(() => {
		setRenaming((r) => {
			if (r) focusLater(r.at === 'panel' ? `[data-speaker-id="${r.id}"] [data-speaker-tag]` : `[data-segment-index="${r.at}"] [data-speaker-tag]`);
			return null;
		});
	}, []);

	const step = (d: number) => {
		if (!hits.length) return;
		setCurrent((c) => (c + d + hits.length) % hits.length);
	};

	const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
		if (e.key === 'Enter') {
			e.preventDefault();
			step(e.shiftKey ? -1 : 1);
		} else if (e.key === 'Escape') {
			setQuery('');
		}
	};

	if (!segments.length) {
		return <Alert kind="info" title="No speech was recognised in this audio.">If there is speech in it, try Transcribe again; very quiet or noisy recordings may give nothing.</Alert>;
	}

	const edited = editing && editing.index < segments.length ? editing : null;

	return (
		<>
		{speakers.length ? (
			<SpeakersPanel
				speakers={speakers}
				onEdit={onEdit}
				renaming={renaming && renaming.at === 'panel' ? renaming.id : null}
				onRename={(sid) => {
					if (sid) {
						if (keepDraft()) return;
						setEditing(null);
						setRenaming({ id: sid, at: 'panel' });
					} else endRename();
				}}
			/>
		) : null}
		<section className="transcript" aria-labelledby="transcript-title">
			<div className="transcript__bar">
				<h2 id="transcript-title">Transcript</h2>
				<div className="find" role="search">
					<label htmlFor="find-input" className="visually-hidden">
						Find in transcript
					</label>
					<span className="find__icon" aria-hidden="true">
						<IconSearch />
					</span>
					<input
						id="find-input"
						type="search"
						placeholder="Find in transcript"
						value={query}
						onChange={(e) => {
							setQuery(e.target.value);
							setCurrent(0);
						}}
						onKeyDown={onKey}
						autoComplete="off"
					/>
					<span className="find__count" aria-live="polite" data-find-count>
						{query.trim() ? (hits.length ? `${current + 1} of ${hits.length}` : 'No matches') : ''}
					</span>
					<button type="button" className="btn btn--icon" onClick={() => step(-1)} disabled={!hits.length} aria-label="Previous match">
						<IconUp />
					</button>
					<button type="button" className="btn btn--icon" onClick={() => step(1)} disabled={!hits.length} aria-label="Next match">
						<IconDown />
					</button>
				</div>
			</div>
			<p className="muted transcript__help">
				Click a line (or its time) to play from there.{editable ? ' To correct a line, use its pencil button or double-click it: Enter saves, Esc cancels.' : ''}
				{anyLow ? (
					<>
						{' '}
						<span data-low-legend>
							<span className="word-low-sample">Dotted</span> words may be misheard — check them against the audio.
						</span>
					</>
				) : null}
			</p>
			<ol className="segments" ref={listRef} lang={meeting.language && meeting.language !== 'auto' ? meeting.language : undefined}>
				{segments.map((s, i) => {
					const h = bySeg.get(i);
					const spk = s.speaker ? byId.get(s.speaker) : undefined;
					const editor = edited && edited.index === i && onEdit ? <SegmentEditor seg={s} state={edited} speakers={speakers} onChange={changeEdit} onSave={() => void saveEdit()} onCancel={cancelEdit} /> : null;
					const renameForm = renaming && renaming.at === i && spk && onEdit ? <RenameSpeaker speaker={spk} onEdit={onEdit} onDone={endRename} /> : null;
					return (
						<SegmentRow
							key={String(s.id)}
							seg={s}
							index={i}
							active={i === active}
							hits={h ? h.list : NO_HITS}
							firstHit={h ? h.first : 0}
							currentHit={h ? current : -1}
							low={low[i]}
							onSeek={seek}
							showSpeaker={speakers.length > 0}
							speaker={spk}
							editable={editable}
							editor={editor}
							renameForm={renameForm}
							onStartEdit={startEdit}
							onStartRename={startRename}
						/>
					);
				})}
			</ol>
		</section>
		</>
	);
}

const NO_HITS: Hit[] = [];

// ------------------------------------------------------------------ player

function Player({ meeting, audioRef }: { meeting: Meeting; audioRef: React.RefObject<HTMLAudioElement | null> }) {
	const [src, setSrc] = useState<string | null>(null);
	const [error, setError] = useState<string | null>(null);
	const retries = useRef(0);
	// ?t=SECONDS (a search hit): start there once the audio is ready
	const resumeAt = useRef<number | null>(Number(new URLSearchParams(window.location.search).get('t')) || null);

	const loadTicket = useCallback(async () => {
		try {
			const { ticket } = await post<{ ticket: string }>(`/api/v1/meetings/${encodeURIComponent(meeting.id)}/ticket`);
			setSrc(`/api/v1/meetings/${encodeURIComponent(meeting.id)}/audio?ticket=${encodeURIComponent(ticket)}`);
			setError(null);
		} catch (e) {
			setError(messageOf(e));
		}
	}, [meeting.id]);

	useEffect(() => {
		void loadTicket();
	}, [loadTicket]);

	// tickets are short-lived (5 minutes): when the audio stops loading, get a new one and carry on
	const onError = () => {
		const a = audioRef.current;
		if (!a || !src) return;
		if (retries.current >= 2) {
			setError('The audio could not be played. Reload the page to try again.');
			return;
		}
		retries.current++;
		resumeAt.current = a.currentTime || null;
		void loadTicket();
	};

	const onLoaded = () => {
		const a = audioRef.current;
		// tickets live 5 minutes: every new one that loads earns the next renewal
		retries.current = 0;
		if (a && resumeAt.current) {
			a.currentTime = resumeAt.current;
			resumeAt.current = null;
		}
	};

	return (
		<>
			{error ? <Alert>{error}</Alert> : null}
			{src ? (
				<audio ref={audioRef} className="player__audio" controls preload="metadata" src={src} onError={onError} onLoadedMetadata={onLoaded} onPlaying={() => (retries.current = 0)} aria-label={`Audio of ${meeting.title}`} />
			) : !error ? (
				<div className="player__placeholder">
					<Spinner label="Loading audio" />
				</div>
			) : null}
		</>
	);
}

// ------------------------------------------------------------------ page

/** The meeting's title, with a rename button unless the caller may only read. */
function Title({ meeting, readOnly = false }: { meeting: Meeting; readOnly?: boolean }) {
	const [editing, setEditing] = useState(false);
	const [value, setValue] = useState(meeting.title);
	const [error, setError] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);
	const inputRef = useRef<HTMLInputElement>(null);
	const editRef = useRef<HTMLButtonElement>(null);

	useEffect(() => {
		if (editing) inputRef.current?.select();
	}, [editing]);

	async function save(e: FormEvent) {
		e.preventDefault();
		const t = value.trim();
		if (!t) {
			setError('The name cannot be empty.');
			return;
		}
		if (t === meeting.title) {
			setEditing(false);
			return;
		}
		setBusy(true);
		try {
			putMeeting(await put<Meeting>(`/api/v1/meetings/${encodeURIComponent(meeting.id)}`, { title: t }));
			setEditing(false);
			setError(null);
			toast('Meeting renamed.');
			setTimeout(() => editRef.current?.focus(), 0);
		} catch (err) {
			setError(err instanceof ApiError ? err.fields().title || err.problem.detail : messageOf(err));
		} finally {
			setBusy(false);
		}
	}

	if (editing) {
		return (
			<form className="rename" onSubmit={save}>
				<label htmlFor="rename-input" className="visually-hidden">
					Meeting name
				</label>
				<input
					id="rename-input"
					ref={inputRef}
					value={value}
					maxLength={200}
					onChange={(e) => setValue(e.target.value)}
					onKeyDown={(e) => {
						if (e.key === 'Escape') {
							setEditing(false);
							setValue(meeting.title);
							setError(null);
						}
					}}
					aria-invalid={error ? true : undefined}
					aria-describedby={error ? 'rename-error' : undefined}
					disabled={busy}
				/>
				<button type="submit" className="btn btn--primary btn--small" disabled={busy}>
					{busy ? 'Saving…' : 'Save'}
				</button>
				<button
					type="button"
					className="btn btn--small btn--quiet"
					onClick={() => {
						setEditing(false);
						setValue(meeting.title);
						setError(null);
					}}
					disabled={busy}
				>
					Cancel
				</button>
				{error ? (
					<p id="rename-error" className="field__error rename__error">
						{error}
					</p>
				) : null}
			</form>
		);
	}
	return (
		<div className="title-line">
			<h1 tabIndex={-1} data-page-title>
				{meeting.title || 'Untitled meeting'}
			</h1>
			{readOnly ? null : (
				<button
					ref={editRef}
					type="button"
					className="btn btn--icon btn--quiet"
					onClick={() => {
						setValue(meeting.title);
						setEditing(true);
					}}
					aria-label="Rename meeting"
					title="Rename"
				>
					<IconPencil />
				</button>
			)}
		</div>
	);
}

const FORMATS = [
	{ f: 'txt', label: 'TXT', hint: 'Plain text' },
	{ f: 'srt', label: 'SRT', hint: 'Subtitles (SubRip)' },
	{ f: 'vtt', label: 'VTT', hint: 'Subtitles (WebVTT)' },
	{ f: 'json', label: 'JSON', hint: 'Segments and words with times' },
	{ f: 'docx', label: 'DOCX', hint: 'Word document with the summary and action items' },
	{ f: 'pdf', label: 'PDF', hint: 'PDF document with the summary and action items' },
] as const;

/** Download buttons: the current text, or an older one (`version`: "original" or a revision number). */
function Exports({ meeting, version, children }: { meeting: Meeting; version?: string; children?: ReactNode }) {
	const [busy, setBusy] = useState<string | null>(null);
	const [error, setError] = useState<string | null>(null);
	async function go(f: string) {
		setBusy(f);
		setError(null);
		try {
			const v = version ? `&version=${encodeURIComponent(version)}` : '';
			const suffix = version ? (version === 'original' ? '-original' : `-v${version}`) : '';
			const name = await download(`/api/v1/meetings/${encodeURIComponent(meeting.id)}/transcript?format=${f}${v}`, `${meeting.title || 'transcript'}${suffix}.${f}`);
			toast(`Downloaded ${name}.`);
		} catch (e) {
			setError(`The ${f.toUpperCase()} export failed: ${messageOf(e)}`);
		} finally {
			setBusy(null);
		}
	}
	return (
		<div className="exports">
			<div className="exports__row">
				<div className="exports__group" role="group" aria-label={version ? 'Export this version' : 'Export transcript'}>
					<span className="exports__label" aria-hidden="true">
						<IconDownload /> {version ? 'Export this version' : 'Export'}
					</span>
					{FORMATS.map(({ f, label, hint }) => (
						<button key={f} type="button" className="btn btn--small" onClick={() => void go(f)} disabled={busy !== null} title={hint} aria-label={`Export ${version ? 'this version ' : ''}as ${label} (${hint})`} data-export={f}>
							{busy === f ? '…' : label}
						</button>
					))}
				</div>
				{children}
			</div>
			{error ? <p className="field__error">{error}</p> : null}
		</div>
	);
}

function StatusPanel({ meeting }: { meeting: Meeting }) {
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState<string | null>(null);
	async function transcribe() {
		setBusy(true);
		setError(null);
		try {
			putMeeting(await post<Meeting>(`/api/v1/meetings/${encodeURIComponent(meeting.id)}/transcribe`, {}));
		} catch (e) {
			if (e instanceof ApiError && e.code === 'already_processing') void fetchMeeting(meeting.id).catch(() => undefined);
			else setError(messageOf(e));
		} finally {
			setBusy(false);
		}
	}
	const err = error ? <p className="field__error">{error}</p> : null;
	switch (meeting.status) {
		case 'pending':
			return (
				<Alert
					kind="info"
					title="This meeting has no audio yet."
					action={
						<Link to="/upload" className="btn">
							Upload audio
						</Link>
					}
				>
					An upload may not have finished. Upload the file again — if it was started from this browser it continues where it stopped.
				</Alert>
			);
		case 'uploaded':
			return (
				<Alert
					kind="info"
					title="The audio is stored but not transcribed."
					action={
						<button type="button" className="btn btn--primary" onClick={() => void transcribe()} disabled={busy}>
							{busy ? 'Starting…' : 'Transcribe'}
						</button>
					}
				>
					{err}
				</Alert>
			);
		case 'queued':
		case 'processing':
			return (
				<div className="card processing" aria-live="polite">
					<p className="processing__title">
						{meeting.status === 'queued' ? 'Waiting for a free transcriber…' : `Transcribing… ${meeting.progress}%`}
					</p>
					<Progress value={meeting.progress} label="Transcription progress" indeterminate={meeting.status === 'queued'} />
					<p className="muted">This runs on the server — you can leave this page and come back. The transcript appears here when it is ready.</p>
				</div>
			);
		case 'failed':
			return (
				<Alert
					title="Transcription failed."
					action={
						<button type="button" className="btn" onClick={() => void transcribe()} disabled={busy}>
							<IconRetry /> {busy ? 'Retrying…' : 'Retry'}
						</button>
					}
				>
					<p data-processing-error>{meeting.processing_error || 'The transcriber stopped without saying why.'}</p>
					{err}
				</Alert>
			);
		default:
			return null;
	}
}

export function MeetingPage({ id }: { id: string }) {
	const meeting = useMeeting(id);
	const [loadError, setLoadError] = useState<{ status: number; text: string } | null>(null);
	const [loaded, setLoaded] = useState<Loaded | null>(null);
	const transcript = loaded ? loaded.transcript : null;
	// A reader (an organization viewer, a collection's viewer, a read-only key) is offered no edits.
	const canEdit = transcript?.can_edit !== false;
	// What the caller may do with the meeting (its role, a collection grant, an API key's scope).
	const perms = meeting?.permissions;
	const readOnly = perms ? !perms.rename : !canEdit;
	const [transcriptError, setTranscriptError] = useState<string | null>(null);
	// the ETag edits are made on, and edits one after another (each on the version the last one made)
	const etagRef = useRef<string | null>(null);
	const queue = useRef<Promise<unknown>>(Promise.resolve());
	const [staleNotice, setStaleNotice] = useState(false);
	const [historyOpen, setHistoryOpen] = useState(false);
	const [historyKey, setHistoryKey] = useState(0);
	const [viewing, setViewing] = useState<Viewing | null>(null);
	const historyButtonRef = useRef<HTMLButtonElement>(null);
	const [confirmDelete, setConfirmDelete] = useState(false);
	const [sharing, setSharing] = useState(false);
	// Viewers make no public links (README's permission matrix: share).
	const role = useSyncExternalStore(session.subscribe, session.getState).user?.organization?.role;
	const canShare = perms ? perms.share : role !== 'viewer' && canEdit;
	const canDelete = perms ? perms.delete : canEdit;
	const [deleting, setDeleting] = useState(false);
	const [deleteError, setDeleteError] = useState<string | null>(null);
	const audioRef = useRef<HTMLAudioElement | null>(null);
	const playerRef = useRef<HTMLDivElement>(null);
	useDocumentTitle(meeting?.title || 'Meeting');
	// Status updates over the app's WebSocket; the event stream and polling (useWatch) only while it is down.
	const live = useLive('meeting.status', (d: { id?: string; status?: Meeting['status']; progress?: number; processing_error?: string | null }) => {
		if (!d || d.id !== id || !d.status) return;
		patchMeeting(id, { status: d.status, progress: d.progress ?? 0, processing_error: d.processing_error ?? null });
		if (isTerminal(d.status)) void fetchMeeting(id).catch(() => undefined);
	});
	useWatch(live ? [] : [id]);
	useEffect(() => {
		// (re)connected: catch up on what happened while the socket was away
		if (live) void fetchMeeting(id).catch(() => undefined);
	}, [live, id]);

	const load = useCallback(() => {
		setLoadError(null);
		fetchMeeting(id).catch((e) => setLoadError({ status: e instanceof ApiError ? e.status : 0, text: messageOf(e) }));
	}, [id]);
	useEffect(load, [load]);

	const status = meeting?.status;
	const show = useCallback((r: Loaded) => {
		etagRef.current = r.etag;
		setLoaded(r);
	}, []);
	const loadTranscript = useCallback(async () => {
		setTranscriptError(null);
		try {
			show(await fetchTranscript(id));
		} catch (e) {
			setTranscriptError(messageOf(e));
		}
	}, [id, show]);
	useEffect(() => {
		if (status === 'completed') void loadTranscript();
		else {
			setLoaded(null);
			setViewing(null);
			setHistoryOpen(false);
		}
	}, [status, loadTranscript]);

	const runEdit: RunEdit = useCallback(
		(edit: Edit) => {
			const job = queue.current.then(async () => {
				try {
					show(await sendEdit(id, etagRef.current, edit));
					setHistoryKey((k) => k + 1);
				} catch (e) {
					if (isStale(e)) {
						// someone else's change landed first: show it, and say so
						setStaleNotice(true);
						try {
							show(await fetchTranscript(id));
						} catch {
							/* the edit's own error says enough */
						}
						setHistoryKey((k) => k + 1);
					} else if (e instanceof ApiError && e.code === 'meeting_busy') {
						void fetchMeeting(id).catch(() => undefined);
					}
					throw e;
				}
			});
			queue.current = job.catch(() => undefined);
			return job;
		},
		[id, show],
	);
	const restored = useCallback(() => {
		setViewing(null);
		setTimeout(() => historyButtonRef.current?.focus(), 0);
	}, []);
	const restoreViewed = useRestore(runEdit, restored);

	async function remove() {
		if (!meeting) return;
		setDeleting(true);
		setDeleteError(null);
		try {
			await del(`/api/v1/meetings/${encodeURIComponent(id)}`);
			forgetMeeting(id);
			navigate('/meetings', { state: { flash: `Deleted “${meeting.title}”.` } });
		} catch (e) {
			setDeleteError(messageOf(e));
			setDeleting(false);
		}
	}

	if (!meeting) {
		if (loadError) {
			return (
				<>
					<Link to="/meetings" className="back-link">
						← Meetings
					</Link>
					{loadError.status === 404 ? (
						<Alert title="This meeting doesn't exist." action={<Link to="/meetings" className="btn">Go to your meetings</Link>}>
							It may have been deleted, or the link is wrong.
						</Alert>
					) : (
						<Alert
							title="The meeting could not be loaded."
							action={
								<button type="button" className="btn" onClick={load}>
									Try again
								</button>
							}
						>
							{loadError.text}
						</Alert>
					)}
				</>
			);
		}
		return (
			<div className="meeting-skeleton" aria-busy="true" aria-label="Loading meeting">
				<span className="skeleton skeleton--h1" />
				<span className="skeleton skeleton--meta" />
				<span className="skeleton skeleton--player" />
				{Array.from({ length: 6 }, (_, i) => (
					<span key={i} className="skeleton skeleton--line" />
				))}
			</div>
		);
	}

	const hasAudio = meeting.status !== 'pending';
	const meta: ReactNode[] = [];
	meta.push(<time key="d" dateTime={meeting.meeting_date || meeting.created_at}>{formatDate(meeting.meeting_date || meeting.created_at)}</time>);
	if (meeting.duration_seconds !== null) meta.push(<span key="l">{formatDuration(meeting.duration_seconds)}</span>);
	if (meeting.original_filename) meta.push(<span key="f" className="meta__file">{meeting.original_filename}</span>);
	if (meeting.file_size !== null) meta.push(<span key="s">{formatBytes(meeting.file_size)}</span>);

	return (
		<>
			<Link to="/meetings" className="back-link">
				← Meetings
			</Link>
			<PageHeader
				heading={<Title meeting={meeting} readOnly={readOnly} />}
				sub={
					<span className="meta">
						{meta.map((m, i) => (
							<span key={i}>
								{i > 0 ? <span aria-hidden="true"> · </span> : null}
								{m}
							</span>
						))}
					</span>
				}
			>
				<StatusBadge status={meeting.status} progress={meeting.progress} />
				{canShare ? (
					<>
						<button type="button" className="btn" onClick={() => setSharing(true)} data-share-meeting>
							Share
						</button>
						<ShareDialog open={sharing} title={`Share “${meeting.title}”`} meetingId={meeting.id} onClose={() => setSharing(false)} />
					</>
				) : null}
				{!canDelete ? null : (
					<button type="button" className="btn btn--quiet btn--danger-text" onClick={() => setConfirmDelete(true)}>
						<IconTrash /> Delete
					</button>
				)}
			</PageHeader>

			<StatusPanel meeting={meeting} />

			{hasAudio ? (
				<div className={`player${meeting.status === 'completed' ? ' player--sticky' : ''}`} ref={playerRef}>
					<Player meeting={meeting} audioRef={audioRef} />
				</div>
			) : null}
			{meeting.status === 'completed' ? (
				<Exports meeting={meeting}>
					{transcript ? (
						<button
							ref={historyButtonRef}
							type="button"
							className="btn btn--small"
							aria-expanded={historyOpen}
							aria-controls={historyOpen ? 'history-panel' : undefined}
							onClick={() => setHistoryOpen((o) => !o)}
							data-history-toggle
						>
							<IconHistory /> History
						</button>
					) : null}
				</Exports>
			) : null}

			{staleNotice && transcript ? (
				<Alert
					kind="warning"
					title="Someone else changed this transcript."
					action={
						<button type="button" className="btn btn--small" onClick={() => setStaleNotice(false)}>
							OK
						</button>
					}
				>
					<p data-stale-notice>The latest version is now shown. Anything you were typing is still in its box: check it against the new text and save it again.</p>
				</Alert>
			) : null}

			{meeting.status === 'completed' && transcript && historyOpen ? (
				<HistoryPanel
					meetingId={meeting.id}
					current={transcript.version ?? null}
					speakers={transcript.speakers || []}
					reloadKey={historyKey}
					onView={(v) => {
						setViewing(v);
						setTimeout(() => document.querySelector<HTMLElement>('[data-viewing]')?.focus(), 0);
					}}
					onEdit={canEdit ? runEdit : undefined}
					onRestored={restored}
					onClose={() => {
						setHistoryOpen(false);
						setTimeout(() => historyButtonRef.current?.focus(), 0);
					}}
				/>
			) : null}

			{meeting.status === 'completed' && transcript && viewing ? (
				<div className="viewing" data-viewing={viewing.kind} tabIndex={-1}>
					<Alert
						kind="info"
						title={`You are looking at ${viewing.title} (read-only).`}
						action={
							<>
								{canEdit && viewing.version !== null && viewing.version !== transcript.version ? (
									<button type="button" className="btn btn--small" onClick={() => restoreViewed.ask(viewing.version as number, viewing.title)} data-restore-viewed>
										Restore this version
									</button>
								) : null}
								<button type="button" className="btn btn--small btn--primary" onClick={() => setViewing(null)} data-back-to-current>
									Back to the current transcript
								</button>
							</>
						}
					>
						{viewing.kind === 'original' ? 'This is the text as the machine transcribed it, before any edits.' : 'This is the transcript as it was after this change.'}
					</Alert>
					<Exports meeting={meeting} version={viewing.kind === 'original' ? 'original' : String(viewing.version)} />
				</div>
			) : null}
			{restoreViewed.dialog}

			{meeting.status === 'completed' ? (
				<InsightsTabs meeting={meeting} audioRef={audioRef} transcriptVersion={transcript?.version ?? null}>
					{transcript ? (
						viewing ? (
							<TranscriptView key={`view-${viewing.kind}-${viewing.version}`} meeting={meeting} transcript={viewing.transcript} audioRef={audioRef} playerRef={playerRef} />
						) : (
							<TranscriptView key="current" meeting={meeting} transcript={transcript} audioRef={audioRef} playerRef={playerRef} onEdit={canEdit ? runEdit : undefined} />
						)
					) : transcriptError ? (
						<Alert
							title="The transcript could not be loaded."
							action={
								<button type="button" className="btn" onClick={() => void loadTranscript()}>
									Try again
								</button>
							}
						>
							{transcriptError}
						</Alert>
					) : (
						<div className="transcript-skeleton" aria-busy="true" aria-label="Loading transcript">
							{Array.from({ length: 6 }, (_, i) => (
								<span key={i} className="skeleton skeleton--line" />
							))}
						</div>
					)}
				</InsightsTabs>
			) : null}

			{meeting.status === 'completed' && meeting.provider_used ? (
				<p className="muted engine-note">
					Transcribed by {meeting.provider_used}
					{meeting.model_used ? ` (${meeting.model_used})` : ''}
					{meeting.transcription_confidence !== null ? ` · confidence ${Math.round(meeting.transcription_confidence * 100)}%` : ''}
				</p>
			) : null}

			<ConfirmDialog
				open={confirmDelete}
				title={`Delete “${meeting.title}”?`}
				confirmLabel="Delete meeting"
				danger
				busy={deleting}
				error={deleteError}
				onConfirm={() => void remove()}
				onCancel={() => {
					setConfirmDelete(false);
					setDeleteError(null);
				}}
			>
				<p>The audio and the transcript are deleted for good. This cannot be undone.</p>
			</ConfirmDialog>
		</>
	);
}
