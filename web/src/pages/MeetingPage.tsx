// One meeting: live status while it is processed, the audio with seeking,
// the timed transcript (click to play from there, the current segment
// highlighted and kept in view), find-in-transcript, exports, rename and
// delete, and Retry when transcription failed.

import { memo, useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { Alert, ConfirmDialog, PageHeader, Progress, StatusBadge, Spinner, toast, useDocumentTitle } from '../components/ui';
import { IconDown, IconDownload, IconPencil, IconRetry, IconSearch, IconTrash, IconUp } from '../components/icons';
import { del, download, get, post, put } from '../lib/api';
import { formatBytes, formatClock, formatDate, formatDuration } from '../lib/format';
import { fetchMeeting, forgetMeeting, putMeeting, useMeeting, useWatch } from '../lib/meetings';
import { ApiError, messageOf } from '../lib/problem';
import { Link, navigate } from '../lib/router';
import type { Meeting, Segment, Transcript } from '../lib/types';

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
}

const SegmentRow = memo(function SegmentRow({ seg, index, active, hits, firstHit, currentHit, low, onSeek }: SegProps) {
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

	return (
		<li
			className={`segment${active ? ' segment--active' : ''}`}
			data-segment-index={index}
			data-start={seg.start}
			aria-current={active ? 'true' : undefined}
			onClick={(e) => {
				// selecting text to copy is not a click to play
				const sel = window.getSelection();
				if (sel && !sel.isCollapsed && sel.toString().trim()) return;
				if ((e.target as HTMLElement).closest('button')) return;
				onSeek(index);
			}}
		>
			<button type="button" className="segment__time" onClick={() => onSeek(index)} aria-label={`Play from ${formatClock(seg.start)}`}>
				{formatClock(seg.start)}
			</button>
			<p className="segment__text">{parts.length ? parts : <span className="muted">(no words)</span>}</p>
		</li>
	);
});

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

function TranscriptView({ meeting, transcript, audioRef, playerRef }: { meeting: Meeting; transcript: Transcript; audioRef: React.RefObject<HTMLAudioElement | null>; playerRef: React.RefObject<HTMLDivElement | null> }) {
	const segments = transcript.segments;
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

	return (
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
				Click a line (or its time) to play from there.
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
					return <SegmentRow key={String(s.id)} seg={s} index={i} active={i === active} hits={h ? h.list : NO_HITS} firstHit={h ? h.first : 0} currentHit={h ? current : -1} low={low[i]} onSeek={seek} />;
				})}
			</ol>
		</section>
	);
}

const NO_HITS: Hit[] = [];

// ------------------------------------------------------------------ player

function Player({ meeting, audioRef }: { meeting: Meeting; audioRef: React.RefObject<HTMLAudioElement | null> }) {
	const [src, setSrc] = useState<string | null>(null);
	const [error, setError] = useState<string | null>(null);
	const retries = useRef(0);
	const resumeAt = useRef<number | null>(null);

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

	// tickets are short-lived: when the audio stops loading, get a new one and carry on
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

function Title({ meeting }: { meeting: Meeting }) {
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
		</div>
	);
}

const FORMATS = [
	{ f: 'txt', label: 'TXT', hint: 'Plain text' },
	{ f: 'srt', label: 'SRT', hint: 'Subtitles (SubRip)' },
	{ f: 'vtt', label: 'VTT', hint: 'Subtitles (WebVTT)' },
	{ f: 'json', label: 'JSON', hint: 'Segments and words with times' },
] as const;

function Exports({ meeting }: { meeting: Meeting }) {
	const [busy, setBusy] = useState<string | null>(null);
	const [error, setError] = useState<string | null>(null);
	async function go(f: string) {
		setBusy(f);
		setError(null);
		try {
			const name = await download(`/api/v1/meetings/${encodeURIComponent(meeting.id)}/transcript?format=${f}`, `${meeting.title || 'transcript'}.${f}`);
			toast(`Downloaded ${name}.`);
		} catch (e) {
			setError(`The ${f.toUpperCase()} export failed: ${messageOf(e)}`);
		} finally {
			setBusy(null);
		}
	}
	return (
		<div className="exports">
			<div className="exports__group" role="group" aria-label="Export transcript">
				<span className="exports__label" aria-hidden="true">
					<IconDownload /> Export
				</span>
				{FORMATS.map(({ f, label, hint }) => (
					<button key={f} type="button" className="btn btn--small" onClick={() => void go(f)} disabled={busy !== null} title={hint} aria-label={`Export as ${label} (${hint})`} data-export={f}>
						{busy === f ? '…' : label}
					</button>
				))}
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
	const [transcript, setTranscript] = useState<Transcript | null>(null);
	const [transcriptError, setTranscriptError] = useState<string | null>(null);
	const [confirmDelete, setConfirmDelete] = useState(false);
	const [deleting, setDeleting] = useState(false);
	const [deleteError, setDeleteError] = useState<string | null>(null);
	const audioRef = useRef<HTMLAudioElement | null>(null);
	const playerRef = useRef<HTMLDivElement>(null);
	useDocumentTitle(meeting?.title || 'Meeting');
	useWatch([id]);

	const load = useCallback(() => {
		setLoadError(null);
		fetchMeeting(id).catch((e) => setLoadError({ status: e instanceof ApiError ? e.status : 0, text: messageOf(e) }));
	}, [id]);
	useEffect(load, [load]);

	const status = meeting?.status;
	const loadTranscript = useCallback(async () => {
		setTranscriptError(null);
		try {
			setTranscript(await get<Transcript>(`/api/v1/meetings/${encodeURIComponent(id)}/transcript`));
		} catch (e) {
			setTranscriptError(messageOf(e));
		}
	}, [id]);
	useEffect(() => {
		if (status === 'completed') void loadTranscript();
		else setTranscript(null);
	}, [status, loadTranscript]);

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
				heading={<Title meeting={meeting} />}
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
				<button type="button" className="btn btn--quiet btn--danger-text" onClick={() => setConfirmDelete(true)}>
					<IconTrash /> Delete
				</button>
			</PageHeader>

			<StatusPanel meeting={meeting} />

			{hasAudio ? (
				<div className={`player${meeting.status === 'completed' ? ' player--sticky' : ''}`} ref={playerRef}>
					<Player meeting={meeting} audioRef={audioRef} />
				</div>
			) : null}
			{meeting.status === 'completed' ? <Exports meeting={meeting} /> : null}

			{meeting.status === 'completed' ? (
				transcript ? (
					<TranscriptView meeting={meeting} transcript={transcript} audioRef={audioRef} playerRef={playerRef} />
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
				)
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
