// The Chat panel of a meeting page (a details section under the tabs, kept
// mounted so the conversation survives switching tabs) and of a collection
// page: ask questions of this meeting or collection. The answer streams in as the server sends it (POST
// /api/v1/chats/{id}/messages answers Server-Sent Events: token pieces,
// then done with citations, or an error). Every [n] in an answer and every
// cited passage is a button that plays the audio from that moment (on a
// collection page: opens that meeting there). The
// conversation is kept by the server; it is started with the first question.

import { useEffect, useRef, useState, type FormEvent } from 'react';
import { apiResponse, post } from '../lib/api';
import { formatClock } from '../lib/format';
import { messageOf } from '../lib/problem';
import { navigate } from '../lib/router';
import type { Meeting } from '../lib/types';
import './ChatPanel.css';

export interface Citation {
	n: number;
	meeting_id: string;
	meeting_title?: string;
	segment_index: number;
	speaker: string;
	start: number;
	end?: number;
	text: string;
}

interface Turn {
	key: number;
	question: string;
	answer: string;
	citations: Citation[];
	state: 'streaming' | 'done' | 'error';
	status?: string; // 'answer' | 'excerpt'
	source?: string;
	error?: string;
}

const MAX_CHARS = 4000;

/** Split SSE text into complete events; returns the rest that is not complete yet. */
function parseEvents(buf: string, on: (event: string, data: string) => void): string {
	let i: number;
	while ((i = buf.indexOf('\n\n')) >= 0) {
		const block = buf.slice(0, i);
		buf = buf.slice(i + 2);
		let event = 'message';
		const data: string[] = [];
		for (const line of block.split('\n')) {
			if (line.startsWith('event:')) event = line.slice(6).trim();
			else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
		}
		if (data.length) on(event, data.join('\n'));
	}
	return buf;
}

/** The answer's text with each [n] that names a citation as a button that seeks. */
function AnswerText({ text, citations, onCite, many }: { text: string; citations: Citation[]; onCite: (c: Citation) => void; many: boolean }) {
	const parts = text.split(/(\[\d+\])/);
	return (
		<>
			{parts.map((p, i) => {
				const m = /^\[(\d+)\]$/.exec(p);
				const c = m ? citations.find((x) => x.n === Number(m[1])) : undefined;
				if (!c) return <span key={i}>{p}</span>;
				return (
					<button key={i} type="button" className="chat-cite-ref" onClick={() => onCite(c)} data-seek={c.start} aria-label={`Play passage ${c.n}: ${c.speaker} at ${formatClock(c.start)}${many && c.meeting_title ? ` in ${c.meeting_title}` : ''}`}>
						[{c.n}]
					</button>
				);
			})}
		</>
	);
}

/**
 * What the chat is about: one meeting (citations seek its player through
 * onSeek), or a collection (citations open the meeting at that moment).
 */
type About = { meeting: Meeting; onSeek: (t: number) => void } | { collection: { id: string; name: string } };

export default function ChatPanel(props: About) {
	const many = 'collection' in props;
	const noun = many ? 'this collection' : 'this meeting';
	const onCite = (c: Citation) => {
		if ('collection' in props) navigate(`/meetings/${encodeURIComponent(c.meeting_id)}?t=${Math.floor(c.start)}`);
		else props.onSeek(c.start);
	};
	const [chatId, setChatId] = useState<string | null>(null);
	const [turns, setTurns] = useState<Turn[]>([]);
	const [text, setText] = useState('');
	const [busy, setBusy] = useState(false);
	const [formError, setFormError] = useState<string | null>(null);
	const abortRef = useRef<AbortController | null>(null);
	const keyRef = useRef(0);

	useEffect(() => () => abortRef.current?.abort(), []);

	const update = (key: number, f: (t: Turn) => Turn) => setTurns((ts) => ts.map((t) => (t.key === key ? f(t) : t)));

	async function ask(e: FormEvent) {
		e.preventDefault();
		const question = text.trim();
		if (!question) {
			setFormError('Type a question first.');
			return;
		}
		if (question.length > MAX_CHARS) {
			setFormError(`A question can be at most ${MAX_CHARS} characters.`);
			return;
		}
		setFormError(null);
		setBusy(true);
		const key = ++keyRef.current;
		let id = chatId;
		try {
			if (!id) {
				const chat = await post<{ id: string }>('/api/v1/chats', 'collection' in props ? { collection_id: props.collection.id } : { meeting_id: props.meeting.id });
				id = chat.id;
				setChatId(id);
			}
			const ctl = new AbortController();
			abortRef.current = ctl;
			const res = await apiResponse(`/api/v1/chats/${encodeURIComponent(id)}/messages`, {
				method: 'POST',
				json: { content: question },
				headers: { Accept: 'text/event-stream' },
				signal: ctl.signal,
			});
			setText('');
			setTurns((ts) => [...ts, { key, question, answer: '', citations: [], state: 'streaming' }]);
			const reader = res.body?.getReader();
			const dec = new TextDecoder();
			let buf = '';
			let finished = false;
			while (reader) {
				const { value, done } = await reader.read();
				if (done) break;
				buf = parseEvents(buf + dec.decode(value, { stream: true }), (event, data) => {
					let j: Record<string, unknown> = {};
					try {
						j = JSON.parse(data) as Record<string, unknown>;
					} catch {
						return;
					}
					if (event === 'token') update(key, (t) => ({ ...t, answer: t.answer + String(j.text ?? '') }));
					else if (event === 'done') {
						finished = true;
						update(key, (t) => ({
							...t,
							answer: String(j.content ?? t.answer),
							citations: (j.citations as Citation[]) ?? [],
							status: String(j.status ?? ''),
							source: String(j.source ?? ''),
							state: 'done',
						}));
					} else if (event === 'error') {
						finished = true;
						update(key, (t) => ({ ...t, state: 'error', error: String(j.detail ?? 'The answer failed. Ask again.') }));
					}
				});
			}
			if (!finished) update(key, (t) => ({ ...t, state: 'error', error: 'The answer stopped before it was complete. Nothing was saved; ask again.' }));
		} catch (err) {
			if (err instanceof DOMException && err.name === 'AbortError') return;
			setFormError(messageOf(err));
			setTurns((ts) => ts.filter((t) => t.key !== key));
		} finally {
			setBusy(false);
		}
	}

	return (
		<section className="chat-panel" aria-label={`Chat with ${noun}`}>
			{turns.length === 0 ? (
				<p className="muted chat-empty">
					Ask a question about {noun}. Answers cite the moments they come from; click one to {many ? 'open the meeting there' : 'play it'}.
				</p>
			) : null}
			<ol className="chat-turns" aria-live="polite">
				{turns.map((t) => (
					<li key={t.key} className="chat-turn" data-chat-state={t.state}>
						<p className="chat-q">
							<span className="visually-hidden">You asked: </span>
							{t.question}
						</p>
						<div className="chat-a" data-chat-answer>
							{t.answer ? <AnswerText text={t.answer} citations={t.citations} onCite={onCite} many={many} /> : t.state === 'streaming' ? <span className="muted">Thinking…</span> : null}
						</div>
						{t.state === 'error' ? (
							<p className="chat-error" role="alert">
								{t.error}
							</p>
						) : null}
						{t.state === 'done' && t.status === 'excerpt' ? <p className="muted chat-note">Excerpt answer: the passages themselves, not a written answer.</p> : null}
						{t.state === 'done' && t.status === 'answer' && t.source ? <p className="muted chat-note">Answered by {t.source}.</p> : null}
						{t.citations.length ? (
							<ul className="chat-cites" aria-label="Sources">
								{t.citations.map((c) => (
									<li key={c.n}>
										<button type="button" className="chat-cite" onClick={() => onCite(c)} data-seek={c.start} data-citation={c.n}>
											<span className="chat-cite__n">[{c.n}]</span> {many && c.meeting_title ? <span className="chat-cite__meeting">{c.meeting_title} · </span> : null}
											<span className="chat-cite__who">{c.speaker}</span>{' '}
											<span className="chat-cite__at">{formatClock(c.start)}</span>
											<span className="chat-cite__text">{c.text}</span>
										</button>
									</li>
								))}
							</ul>
						) : null}
					</li>
				))}
			</ol>
			<form className="chat-form" onSubmit={(e) => void ask(e)}>
				<label htmlFor="chat-input" className="visually-hidden">
					Your question
				</label>
				<textarea
					id="chat-input"
					className="chat-input"
					rows={2}
					value={text}
					maxLength={MAX_CHARS}
					placeholder={`Ask about ${noun}…`}
					onChange={(e) => setText(e.target.value)}
					onKeyDown={(e) => {
						if (e.key === 'Enter' && !e.shiftKey) {
							e.preventDefault();
							e.currentTarget.form?.requestSubmit();
						}
					}}
					disabled={busy}
				/>
				<button type="submit" className="btn btn--primary" disabled={busy} data-chat-send>
					{busy ? 'Answering…' : 'Ask'}
				</button>
			</form>
			{formError ? (
				<p className="chat-error" role="alert">
					{formError}
				</p>
			) : null}
		</section>
	);
}
