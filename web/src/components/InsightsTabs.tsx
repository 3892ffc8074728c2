// The meeting page's tabs: Transcript (the page's own view, passed as
// children and kept mounted so nothing typed is lost) and the insights the
// server computes after each transcription: Summary, Action items (with
// decisions), Topics and Sentiment (an SVG timeline per speaker). Every
// sentence, item, mention and chart point is a button that plays the audio
// from that moment. Insights load when a tab other than Transcript is first
// opened, are polled while the server computes them, and can be recomputed
// (after edits, when they are older than the transcript).

import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type ReactNode, type RefObject } from 'react';
import { get, post } from '../lib/api';
import { formatClock } from '../lib/format';
import { messageOf } from '../lib/problem';
import type { Meeting } from '../lib/types';
import ChatPanel from './ChatPanel';
import { Alert, Progress } from './ui';
import './Insights.css';

export interface InsightSentence {
	text: string;
	start: number;
	end?: number;
	speaker: string | null;
	speaker_name?: string | null;
}
export interface InsightItem {
	text: string;
	who: string | null;
	when: string | null;
	start: number;
	speaker: string | null;
}
export interface InsightTopic {
	phrase: string;
	score: number;
	mentions: number[];
}
export interface SentimentPoint {
	start: number;
	end: number;
	compound: number | null;
	segments: number;
	speakers: { speaker: string | null; compound: number }[];
}
export interface Insights {
	meeting_id: string;
	status: 'none' | 'queued' | 'running' | 'done' | 'failed';
	progress: number;
	transcript_version: number | null;
	current_transcript_version: number | null;
	stale: boolean;
	error: string | null;
	summary: { source: string; sentences: InsightSentence[] } | null;
	action_items: { source: string; items: InsightItem[] } | null;
	decisions: { source: string; items: InsightItem[] } | null;
	topics: { source: string; items: InsightTopic[] } | null;
	sentiment: {
		source: string;
		segments: { index: number; start: number; end: number; speaker: string | null; compound: number }[];
		speakers: { speaker: string | null; name: string | null; compound: number; segments: number; positive: number; negative: number; neutral: number }[];
		timeline: SentimentPoint[];
	} | null;
}

type Tab = 'transcript' | 'summary' | 'actions' | 'topics' | 'sentiment';
const TABS: { id: Tab; label: string }[] = [
	{ id: 'transcript', label: 'Transcript' },
	{ id: 'summary', label: 'Summary' },
	{ id: 'actions', label: 'Action items' },
	{ id: 'topics', label: 'Topics' },
	{ id: 'sentiment', label: 'Sentiment' },
];

const busy = (s: Insights | null) => s?.status === 'queued' || s?.status === 'running';

/** Play the audio from t seconds. */
function useSeek(audioRef: RefObject<HTMLAudioElement | null>) {
	return useCallback(
		(t: number) => {
			const a = audioRef.current;
			if (!a || !Number.isFinite(t)) return;
			a.currentTime = Math.max(0, t);
			void a.play().catch(() => undefined);
		},
		[audioRef],
	);
}

function Time({ t, onSeek, label }: { t: number; onSeek: (t: number) => void; label?: string }) {
	return (
		<button type="button" className="insight-time" onClick={() => onSeek(t)} aria-label={`Play from ${formatClock(t)}${label ? `: ${label}` : ''}`} data-seek={t}>
			{formatClock(t)}
		</button>
	);
}

function Source({ source }: { source: string }) {
	return <p className="muted insight-source">{source === 'offline' ? 'Computed offline from the transcript.' : `Computed by ${source}.`}</p>;
}

function SummaryTab({ ins, onSeek }: { ins: Insights; onSeek: (t: number) => void }) {
	const s = ins.summary;
	if (!s || !s.sentences.length) return <p className="muted">There is nothing to summarise in this transcript.</p>;
	return (
		<>
			<ol className="insight-list" data-insight="summary">
				{s.sentences.map((x, i) => (
					<li key={i} className="insight-row">
						<Time t={x.start} onSeek={onSeek} label={x.text} />
						<span className="insight-text">
							{x.speaker_name ? <strong>{x.speaker_name}: </strong> : null}
							{x.text}
						</span>
					</li>
				))}
			</ol>
			<Source source={s.source} />
		</>
	);
}

function ItemList({ items, kind, onSeek }: { items: InsightItem[]; kind: string; onSeek: (t: number) => void }) {
	return (
		<ul className="insight-list" data-insight={kind}>
			{items.map((x, i) => (
				<li key={i} className="insight-row">
					<Time t={x.start} onSeek={onSeek} label={x.text} />
					<span className="insight-text">
						{x.text}
						{x.who || x.when ? (
							<span className="insight-meta">
								{x.who ? <span className="insight-chip" title="Who">{x.who}</span> : null}
								{x.when ? <span className="insight-chip insight-chip--when" title="When">{x.when}</span> : null}
							</span>
						) : null}
					</span>
				</li>
			))}
		</ul>
	);
}

function ActionsTab({ ins, onSeek }: { ins: Insights; onSeek: (t: number) => void }) {
	const a = ins.action_items?.items ?? [];
	const d = ins.decisions?.items ?? [];
	return (
		<>
			<h3 className="insight-h">Action items</h3>
			{a.length ? <ItemList items={a} kind="action_items" onSeek={onSeek} /> : <p className="muted">No action items were found.</p>}
			<h3 className="insight-h">Decisions</h3>
			{d.length ? <ItemList items={d} kind="decisions" onSeek={onSeek} /> : <p className="muted">No decisions were found.</p>}
			{ins.action_items ? <Source source={ins.action_items.source} /> : null}
		</>
	);
}

function TopicsTab({ ins, onSeek }: { ins: Insights; onSeek: (t: number) => void }) {
	const t = ins.topics;
	if (!t || !t.items.length) return <p className="muted">No topics stood out in this transcript.</p>;
	return (
		<>
			<ul className="insight-list" data-insight="topics">
				{t.items.map((x, i) => (
					<li key={i} className="insight-topic">
						<span className="insight-topic__head">
							<span className="insight-topic__phrase">{x.phrase}</span>
							<span className="insight-bar" aria-hidden="true">
								<span className="insight-bar__fill" style={{ width: `${Math.round(x.score * 100)}%` }} />
							</span>
							<span className="muted">
								{x.mentions.length} {x.mentions.length === 1 ? 'mention' : 'mentions'}
							</span>
						</span>
						<span className="insight-mentions">
							{x.mentions.slice(0, 20).map((m, k) => (
								<Time key={k} t={m} onSeek={onSeek} label={x.phrase} />
							))}
							{x.mentions.length > 20 ? <span className="muted">…</span> : null}
						</span>
					</li>
				))}
			</ul>
			<Source source={t.source} />
		</>
	);
}

const W = 640;
const H = 72;
const PAD = 6;

/** One speaker's sentiment over the meeting: compound -1..1 per window, 0 as the midline. */
function SpeakerChart({ name, points, duration, onSeek }: { name: string; points: { start: number; end: number; v: number }[]; duration: number; onSeek: (t: number) => void }) {
	const x = (t: number) => PAD + ((W - 2 * PAD) * Math.min(t, duration)) / Math.max(duration, 1);
	const y = (v: number) => H / 2 - (v * (H / 2 - PAD));
	// a window is drawn at its middle (the last one ends with the audio)
	const mid = (p: { start: number; end: number }) => (p.start + Math.min(p.end, duration)) / 2;
	const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(mid(p)).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
	return (
		<figure className="sentiment-chart">
			<figcaption>{name}</figcaption>
			<svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Sentiment of ${name} over time`}>
				<rect x="0" y="0" width={W} height={H / 2} className="sentiment-chart__pos" />
				<rect x="0" y={H / 2} width={W} height={H / 2} className="sentiment-chart__neg" />
				<line x1="0" x2={W} y1={H / 2} y2={H / 2} className="sentiment-chart__mid" />
				{points.length > 1 ? <path d={path} className="sentiment-chart__line" /> : null}
				{points.map((p, i) => (
					<circle
						key={i}
						cx={x(mid(p))}
						cy={y(p.v)}
						r="4"
						className={`sentiment-chart__dot${p.v >= 0.05 ? ' is-pos' : p.v <= -0.05 ? ' is-neg' : ''}`}
						tabIndex={0}
						role="button"
						aria-label={`${formatClock(p.start)}: ${p.v.toFixed(2)}, play from here`}
						data-seek={p.start}
						onClick={() => onSeek(p.start)}
						onKeyDown={(e) => {
							if (e.key === 'Enter' || e.key === ' ') {
								e.preventDefault();
								onSeek(p.start);
							}
						}}
					>
						<title>{`${formatClock(p.start)}–${formatClock(p.end)}: ${p.v.toFixed(2)}`}</title>
					</circle>
				))}
			</svg>
		</figure>
	);
}

function SentimentTab({ ins, duration, onSeek }: { ins: Insights; duration: number; onSeek: (t: number) => void }) {
	const s = ins.sentiment;
	if (!s || s.source === 'unavailable') return <p className="muted">Sentiment is not available on this server (its lexicon is not installed).</p>;
	if (!s.timeline.length) return <p className="muted">There is no speech to score in this transcript.</p>;
	const end = duration > 0 ? duration : Math.max(...s.segments.map((p) => p.end), 1);
	const label = (sp: { speaker: string | null; name: string | null }) => sp.name || (sp.speaker ? sp.speaker : 'Unknown speaker');
	const rows = s.speakers.map((sp) => ({
		key: sp.speaker ?? 'none',
		name: label(sp),
		avg: sp.compound,
		sp,
		points: s.timeline.flatMap((p) => p.speakers.filter((q) => q.speaker === sp.speaker).map((q) => ({ start: p.start, end: p.end, v: q.compound }))),
	}));
	return (
		<>
			<ul className="sentiment-speakers">
				{rows.map((r) => (
					<li key={r.key}>
						<strong>{r.name}</strong>{' '}
						<span className={`insight-chip${r.avg >= 0.05 ? ' is-pos' : r.avg <= -0.05 ? ' is-neg' : ''}`}>{r.avg >= 0.05 ? 'positive' : r.avg <= -0.05 ? 'negative' : 'neutral'} {r.avg.toFixed(2)}</span>{' '}
						<span className="muted">
							{r.sp.positive} positive · {r.sp.neutral} neutral · {r.sp.negative} negative
						</span>
					</li>
				))}
			</ul>
			<div data-insight="sentiment">
				{rows.map((r) => (
					<SpeakerChart key={r.key} name={r.name} points={r.points} duration={end} onSeek={onSeek} />
				))}
				<div className="sentiment-axis muted" aria-hidden="true">
					<span>0:00</span>
					<span>{formatClock(end)}</span>
				</div>
			</div>
			<Source source={s.source} />
		</>
	);
}

export function InsightsTabs({
	meeting,
	audioRef,
	transcriptVersion,
	children,
}: {
	meeting: Meeting;
	audioRef: RefObject<HTMLAudioElement | null>;
	transcriptVersion: number | null;
	children: ReactNode;
}) {
	const [tab, setTab] = useState<Tab>('transcript');
	const [ins, setIns] = useState<Insights | null>(null);
	const [error, setError] = useState<string | null>(null);
	const [recomputing, setRecomputing] = useState(false);
	const tabRefs = useRef<Record<string, HTMLButtonElement | null>>({});
	const onSeek = useSeek(audioRef);
	const path = `/api/v1/meetings/${encodeURIComponent(meeting.id)}/insights`;

	const load = useCallback(async () => {
		try {
			setIns(await get<Insights>(path));
			setError(null);
		} catch (e) {
			setError(messageOf(e));
		}
	}, [path]);

	// Load once an insights tab is opened, and again when the transcript changes.
	const wanted = tab !== 'transcript' || ins !== null;
	useEffect(() => {
		if (wanted) void load();
		// eslint-disable-next-line react-hooks/exhaustive-deps
	}, [wanted, transcriptVersion, load]);
	// Poll while the server computes them.
	useEffect(() => {
		if (!busy(ins)) return;
		const t = setTimeout(() => void load(), 1200);
		return () => clearTimeout(t);
	}, [ins, load]);

	async function recompute() {
		setRecomputing(true);
		try {
			setIns(await post<Insights>(path));
			setError(null);
		} catch (e) {
			setError(messageOf(e));
		} finally {
			setRecomputing(false);
		}
	}

	function onKey(e: KeyboardEvent<HTMLDivElement>) {
		const i = TABS.findIndex((t) => t.id === tab);
		let j = -1;
		if (e.key === 'ArrowRight') j = (i + 1) % TABS.length;
		else if (e.key === 'ArrowLeft') j = (i + TABS.length - 1) % TABS.length;
		else if (e.key === 'Home') j = 0;
		else if (e.key === 'End') j = TABS.length - 1;
		if (j < 0) return;
		e.preventDefault();
		setTab(TABS[j].id);
		tabRefs.current[TABS[j].id]?.focus();
	}

	let body: ReactNode = null;
	if (tab !== 'transcript') {
		if (error && !ins) {
			body = (
				<Alert
					title="The insights could not be loaded."
					action={
						<button type="button" className="btn" onClick={() => void load()}>
							Try again
						</button>
					}
				>
					{error}
				</Alert>
			);
		} else if (!ins) {
			body = <p className="muted">Loading…</p>;
		} else if (ins.status === 'none' || (busy(ins) && !ins.summary)) {
			body = busy(ins) ? (
				<div aria-live="polite" className="insight-busy">
					<Progress value={ins.progress} label="Computing insights" />
					<p className="muted">Computing the summary, action items, topics and sentiment…</p>
				</div>
			) : (
				<p className="muted">
					No insights yet.{' '}
					<button type="button" className="btn btn--small" onClick={() => void recompute()} disabled={recomputing}>
						Compute them
					</button>
				</p>
			);
		} else if (ins.status === 'failed' && !ins.summary) {
			body = (
				<Alert
					title="The insights could not be computed."
					action={
						<button type="button" className="btn" onClick={() => void recompute()} disabled={recomputing}>
							Try again
						</button>
					}
				>
					{ins.error}
				</Alert>
			);
		} else if (tab === 'summary') body = <SummaryTab ins={ins} onSeek={onSeek} />;
		else if (tab === 'actions') body = <ActionsTab ins={ins} onSeek={onSeek} />;
		else if (tab === 'topics') body = <TopicsTab ins={ins} onSeek={onSeek} />;
		else body = <SentimentTab ins={ins} duration={meeting.duration_seconds ?? 0} onSeek={onSeek} />;
	}

	return (
		<div className="insights">
			<div className="insight-tabs" role="tablist" aria-label="Meeting views" onKeyDown={onKey}>
				{TABS.map((t) => (
					<button
						key={t.id}
						ref={(el) => {
							tabRefs.current[t.id] = el;
						}}
						type="button"
						role="tab"
						id={`tab-${t.id}`}
						aria-selected={tab === t.id}
						aria-controls={`panel-${t.id === 'transcript' ? 'transcript' : 'insights'}`}
						tabIndex={tab === t.id ? 0 : -1}
						className={`insight-tab${tab === t.id ? ' is-active' : ''}`}
						onClick={() => setTab(t.id)}
						data-tab={t.id}
					>
						{t.label}
					</button>
				))}
			</div>
			<details className="card chat-details" data-chat-panel>
				<summary>Chat with this meeting</summary>
				<ChatPanel meeting={meeting} onSeek={onSeek} />
			</details>
			<div role="tabpanel" id="panel-transcript" aria-labelledby="tab-transcript" hidden={tab !== 'transcript'}>
				{children}
			</div>
			{tab !== 'transcript' ? (
				<div role="tabpanel" id="panel-insights" aria-labelledby={`tab-${tab}`} className="card insight-panel" data-insights-status={ins?.status ?? 'loading'}>
					{ins && (ins.stale || busy(ins)) && ins.summary ? (
						<p className="insight-stale" aria-live="polite">
							{busy(ins) ? 'Updating from the latest transcript…' : 'These insights are from an older version of the transcript.'}{' '}
							{!busy(ins) ? (
								<button type="button" className="btn btn--small" onClick={() => void recompute()} disabled={recomputing} data-recompute>
									Update
								</button>
							) : null}
						</p>
					) : null}
					{body}
					{ins && ins.status === 'done' && !ins.stale ? (
						<p className="insight-foot">
							<button type="button" className="btn btn--small btn--quiet" onClick={() => void recompute()} disabled={recomputing} data-recompute>
								Recompute
							</button>
						</p>
					) : null}
				</div>
			) : null}
		</div>
	);
}
