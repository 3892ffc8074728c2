// The inbox: folders, a message list with bulk selection (mouse or
// keyboard), a read view with its thread and meeting card, compose and
// reply with recipient suggestions from my organizations. Live: presence
// dots by people, "<name> is typing…" (and I tell my recipient while I
// write), and the list follows new messages and catches up after the app's
// WebSocket reconnects.
//
// Keyboard (outside text fields): j / k move, x selects, Enter opens,
// s stars, e archives, # deletes, r replies, c composes, u back to the list,
// Shift+8 (*) selects all / none.

import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { Alert, PageHeader, Spinner, toast, useDocumentTitle } from '../components/ui';
import { refreshInbox, useInboxCounts } from '../components/NotificationBell';
import { PresenceDot, TypingNote, rememberPeople } from '../components/Presence';
import { sendTyping, useLive, useReconnected } from '../lib/live';
import { api, get, put } from '../lib/api';
import { formatAgo, formatClock, formatDate } from '../lib/format';
import { ApiError, messageOf } from '../lib/problem';
import { Link, navigate, useLocation } from '../lib/router';
import './Inbox.css';

interface Person {
	id: string;
	email: string;
	name: string;
}

interface Message {
	id: string;
	sender_id: string;
	recipient_id: string;
	sender: Person;
	recipient: Person;
	subject: string;
	body: string;
	is_read: boolean;
	is_starred: boolean;
	is_archived: boolean;
	thread_id: string;
	reply_to: string | null;
	meeting: { id: string; title: string; at_seconds: number | null } | null;
	created_at: string;
}

interface Page {
	data: Message[];
	next_cursor: string | null;
}

type Folder = 'inbox' | 'sent' | 'starred' | 'archived';
const FOLDERS: { id: Folder; label: string }[] = [
	{ id: 'inbox', label: 'Inbox' },
	{ id: 'sent', label: 'Sent' },
	{ id: 'starred', label: 'Starred' },
	{ id: 'archived', label: 'Archived' },
];

type BulkAction = 'read' | 'unread' | 'star' | 'unstar' | 'archive' | 'unarchive' | 'delete';

const who = (p: Person) => p.name || p.email;

function typing(e: KeyboardEvent): boolean {
	const t = e.target as HTMLElement | null;
	return !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
}

interface Draft {
	recipient: string;
	recipient_id?: string | null;
	subject: string;
	body: string;
	reply_to: string | null;
}

function Compose({ draft, onSent, onCancel }: { draft: Draft; onSent: (m: Message) => void; onCancel: () => void }) {
	const [form, setForm] = useState(draft);
	const [errors, setErrors] = useState<Record<string, string>>({});
	const [formError, setFormError] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);
	const [people, setPeople] = useState<Person[]>([]);

	useEffect(() => {
		let live = true;
		const t = setTimeout(() => {
			const q = form.recipient.trim();
			get<{ data: Person[] }>(`/api/v2/messages/contacts?limit=20${q ? `&q=${encodeURIComponent(q.slice(0, 100))}` : ''}`)
				.then((r) => {
					rememberPeople(r.data);
					if (live) setPeople(r.data);
				})
				.catch(() => undefined);
		}, 150);
		return () => {
			live = false;
			clearTimeout(t);
		};
	}, [form.recipient]);

	async function submit(e: FormEvent) {
		e.preventDefault();
		const errs: Record<string, string> = {};
		if (!form.recipient.trim()) errs.recipient = 'Enter the e-mail address of someone in your organizations.';
		if (!form.subject.trim()) errs.subject = 'Enter a subject.';
		if (!form.body.trim()) errs.body = 'Write a message.';
		setErrors(errs);
		setFormError(null);
		if (Object.keys(errs).length) return;
		setBusy(true);
		try {
			const json: Record<string, unknown> = { recipient_email: form.recipient.trim(), subject: form.subject, body: form.body };
			if (form.reply_to) json.reply_to = form.reply_to;
			const m = await api<Message>('/api/v2/messages/', { method: 'POST', json });
			onSent(m);
		} catch (err) {
			if (err instanceof ApiError) {
				const f = err.fields();
				if (f.recipient_email) f.recipient = f.recipient_email;
				setErrors(f);
				if (err.status === 404) setFormError('Nobody in your organizations has that address.');
				else if (!err.problem.errors.length) setFormError(err.problem.detail);
			} else setFormError(messageOf(err));
		} finally {
			setBusy(false);
		}
	}

	const typed = form.recipient.trim().toLowerCase();
	const match = people.find((p) => p.email.toLowerCase() === typed);
	const toId = match?.id || (draft.recipient_id && typed === draft.recipient.trim().toLowerCase() ? draft.recipient_id : null);
	const set = (k: keyof Draft) => (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => {
		setForm({ ...form, [k]: e.target.value });
		// writing to someone: tell them (lib/live sends at most every 3 s)
		if (k !== 'recipient' && e.target.value) sendTyping(toId);
	};
	return (
		<form className="inbox__compose form" onSubmit={submit} noValidate aria-label={draft.reply_to ? 'Reply' : 'New message'}>
			<div className={`field${errors.recipient ? ' field--invalid' : ''}`}>
				<label htmlFor="recipient">To</label>
				<input
					id="recipient"
					name="recipient"
					type="email"
					list="recipient-suggestions"
					autoComplete="off"
					value={form.recipient}
					onChange={set('recipient')}
					aria-invalid={errors.recipient ? true : undefined}
					aria-describedby={errors.recipient ? 'recipient-error' : undefined}
					autoFocus={!draft.recipient}
				/>
				<datalist id="recipient-suggestions">
					{people.map((p) => (
						<option key={p.id} value={p.email}>
							{p.name}
						</option>
					))}
				</datalist>
				{errors.recipient ? (
					<p className="field__error" id="recipient-error">
						{errors.recipient}
					</p>
				) : null}
				{match ? (
					<p className="inbox__to muted" data-recipient-person={match.id}>
						<PresenceDot id={match.id} /> {who(match)}
					</p>
				) : people.length ? (
					<ul className="inbox__people" aria-label="Suggestions">
						{people.slice(0, 6).map((p) => (
							<li key={p.id}>
								<button type="button" className="inbox__person" data-suggestion={p.email} onClick={() => setForm({ ...form, recipient: p.email })}>
									<PresenceDot id={p.id} />
									<span>{who(p)}</span>
									{p.name ? <span className="muted">{p.email}</span> : null}
								</button>
							</li>
						))}
					</ul>
				) : null}
			</div>
			<div className={`field${errors.subject ? ' field--invalid' : ''}`}>
				<label htmlFor="subject">Subject</label>
				<input id="subject" name="subject" maxLength={255} value={form.subject} onChange={set('subject')} aria-invalid={errors.subject ? true : undefined} />
				{errors.subject ? <p className="field__error">{errors.subject}</p> : null}
			</div>
			<div className={`field${errors.body ? ' field--invalid' : ''}`}>
				<label htmlFor="body">Message</label>
				<textarea id="body" name="body" value={form.body} onChange={set('body')} aria-invalid={errors.body ? true : undefined} autoFocus={!!draft.recipient} />
				{errors.body ? <p className="field__error">{errors.body}</p> : null}
			</div>
			{formError ? <Alert>{formError}</Alert> : null}
			<div className="form-actions">
				<button id="send-button" type="submit" className="btn btn--primary" disabled={busy}>
					{busy ? 'Sending…' : 'Send'}
				</button>
				<button type="button" className="btn btn--quiet" onClick={onCancel}>
					Cancel
				</button>
			</div>
		</form>
	);
}

function ReadView({ m, me, onAction, onReply }: { m: Message; me: string; onAction: (a: BulkAction) => void; onReply: () => void }) {
	const [thread, setThread] = useState<Message[]>([]);
	useEffect(() => {
		let live = true;
		if (m.thread_id === m.id && !m.reply_to) {
			setThread([]);
			return undefined;
		}
		get<Page>(`/api/v2/messages?thread_id=${m.thread_id}&limit=50`)
			.then((r) => live && setThread(r.data.filter((x) => x.id !== m.id).reverse()))
			.catch(() => undefined);
		return () => {
			live = false;
		};
	}, [m.id, m.thread_id, m.reply_to]);
	const outgoing = m.sender_id === me && m.recipient_id !== me;
	const other = outgoing ? m.recipient : m.sender;
	return (
		<article className="inbox__read" aria-labelledby="read-subject">
			<h2 id="read-subject">{m.subject}</h2>
			<p className="muted inbox__from">
				<PresenceDot id={other.id} /> {outgoing ? `To ${who(m.recipient)} <${m.recipient.email}>` : `From ${who(m.sender)} <${m.sender.email}>`} · {formatDate(m.created_at)}
			</p>
			{other.id !== me ? <TypingNote from={other.id} /> : null}
			{thread.length ? (
				<div className="inbox__thread" aria-label="Earlier in this conversation">
					{thread.map((t) => (
						<p key={t.id}>
							<strong>{who(t.sender)}</strong> · {formatAgo(t.created_at)}: {t.body.length > 200 ? `${t.body.slice(0, 200)}…` : t.body}
						</p>
					))}
				</div>
			) : null}
			{m.meeting ? (
				<Link className="inbox__card meeting-card" to={`/meetings/${m.meeting.id}${m.meeting.at_seconds != null ? `?t=${Math.floor(m.meeting.at_seconds)}` : ''}`}>
					<span aria-hidden="true">▶</span>
					<span>
						<strong>{m.meeting.title || 'Meeting'}</strong>
						{m.meeting.at_seconds != null ? <span className="muted"> at {formatClock(m.meeting.at_seconds)}</span> : null}
					</span>
				</Link>
			) : null}
			<div className="inbox__body">{m.body}</div>
			<div className="inbox__tools">
				<button type="button" className="btn btn--primary btn--small" onClick={onReply}>
					Reply
				</button>
				<button type="button" className="btn btn--small" onClick={() => onAction(m.is_starred ? 'unstar' : 'star')}>
					{m.is_starred ? 'Unstar' : 'Star'}
				</button>
				<button type="button" className="btn btn--small" onClick={() => onAction(m.is_archived ? 'unarchive' : 'archive')}>
					{m.is_archived ? 'Move to inbox' : 'Archive'}
				</button>
				<button type="button" className="btn btn--small btn--danger-text" onClick={() => onAction('delete')}>
					Delete
				</button>
			</div>
		</article>
	);
}

export function Inbox({ me }: { me: string }) {
	useDocumentTitle('Inbox');
	const loc = useLocation();
	const { stats } = useInboxCounts();
	const [folder, setFolder] = useState<Folder>('inbox');
	const [q, setQ] = useState('');
	const [query, setQuery] = useState('');
	const [unreadOnly, setUnreadOnly] = useState(false);
	const [page, setPage] = useState<Page | null>(null);
	const [error, setError] = useState<string | null>(null);
	const [cursor, setCursor] = useState(0);
	const [selected, setSelected] = useState<Set<string>>(new Set());
	const [open, setOpen] = useState<Message | null>(null);
	const [draft, setDraft] = useState<Draft | null>(null);
	const [sent, setSent] = useState(false);
	const listRef = useRef<HTMLUListElement>(null);

	const load = useCallback(
		async (more?: string, live = false) => {
			if (!live) setError(null);
			const params = new URLSearchParams({ folder, limit: '50' });
			if (unreadOnly) params.set('unread', 'true');
			if (query) params.set('q', query);
			if (more) params.set('cursor', more);
			try {
				const r = await get<Page>(`/api/v2/messages?${params}`);
				rememberPeople(r.data.flatMap((x) => [x.sender, x.recipient]));
				setError(null);
				setPage((p) => (more && p ? { data: [...p.data, ...r.data], next_cursor: r.next_cursor } : r));
				if (live) {
					// a live refresh keeps what the person selected (what is still there) and their place
					const ids = new Set(r.data.map((x) => x.id));
					setSelected((sel) => new Set([...sel].filter((id) => ids.has(id))));
					setCursor((c) => Math.min(c, Math.max(r.data.length - 1, 0)));
				} else if (!more) {
					setSelected(new Set());
					setCursor(0);
				}
			} catch (e) {
				if (!live) setError(messageOf(e));
			}
		},
		[folder, unreadOnly, query],
	);

	useEffect(() => {
		void load();
	}, [load]);

	// Live: a new or changed message reloads the list (a burst once); after a
	// reconnect the list catches up on what came while the socket was down.
	const reloadSoon = useRef<ReturnType<typeof setTimeout>>(undefined);
	const reload = () => {
		clearTimeout(reloadSoon.current);
		reloadSoon.current = setTimeout(() => void load(undefined, true), 200);
	};
	useEffect(() => () => clearTimeout(reloadSoon.current), []);
	useLive('new_message', reload);
	useLive('message_updated', reload);
	useReconnected(reload);

	// ?open=<id> (from a notification)
	useEffect(() => {
		const id = new URLSearchParams(loc.search).get('open');
		if (!id) return;
		get<Message>(`/api/v2/messages/${encodeURIComponent(id)}`)
			.then((m) => void openMessage(m))
			.catch(() => toast('That message is no longer in your inbox.', 'error'));
		navigate('/inbox', { replace: true });
		// eslint-disable-next-line react-hooks/exhaustive-deps
	}, [loc.search]);

	async function openMessage(m: Message) {
		setDraft(null);
		setOpen(m);
		if (!m.is_read && m.recipient_id === me) {
			try {
				const u = await api<Message>(`/api/v2/messages/${m.id}`, { method: 'PATCH', json: { is_read: true } });
				setOpen(u);
				setPage((p) => (p ? { ...p, data: p.data.map((x) => (x.id === u.id ? u : x)) } : p));
				void refreshInbox();
			} catch {
				/* it stays unread */
			}
		}
	}

	async function bulk(action: BulkAction, ids: string[]) {
		if (!ids.length) return;
		try {
			const r = await put<{ ok: number; not_found: number }>('/api/v2/messages/bulk', { ids, action });
			if (r.not_found) toast(`${r.not_found} message${r.not_found > 1 ? 's were' : ' was'} no longer there.`, 'error');
			if (open && ids.includes(open.id)) {
				if (action === 'delete') setOpen(null);
				else setOpen(await get<Message>(`/api/v2/messages/${open.id}`).catch(() => null));
			}
			await load();
			void refreshInbox();
		} catch (e) {
			toast(messageOf(e), 'error');
		}
	}

	async function toggleStar(m: Message) {
		await bulk(m.is_starred ? 'unstar' : 'star', [m.id]);
	}

	function reply(m: Message) {
		const other = m.sender_id === me ? m.recipient : m.sender;
		setDraft({ recipient: other.email, recipient_id: other.id, subject: m.subject.startsWith('Re: ') ? m.subject : `Re: ${m.subject}`.slice(0, 255), body: '', reply_to: m.id });
		setSent(false);
	}

	const rows = page?.data || [];
	const current = rows[cursor];

	// keyboard
	useEffect(() => {
		function onKey(e: KeyboardEvent) {
			if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
			const sel = selected.size ? [...selected] : current ? [current.id] : [];
			switch (e.key) {
				case 'j':
					setCursor((c) => Math.min(c + 1, Math.max(rows.length - 1, 0)));
					break;
				case 'k':
					setCursor((c) => Math.max(c - 1, 0));
					break;
				case 'x':
					if (current)
						setSelected((s) => {
							const n = new Set(s);
							if (n.has(current.id)) n.delete(current.id);
							else n.add(current.id);
							return n;
						});
					break;
				case '*':
					setSelected((s) => (s.size === rows.length ? new Set() : new Set(rows.map((r) => r.id))));
					break;
				case 'Enter':
					if (current && !(e.target as HTMLElement).closest('button, a')) void openMessage(current);
					else return;
					break;
				case 's':
					void bulk(current?.is_starred && !selected.size ? 'unstar' : 'star', sel);
					break;
				case 'e':
					void bulk(folder === 'archived' ? 'unarchive' : 'archive', sel);
					break;
				case '#':
					void bulk('delete', sel);
					break;
				case 'r':
					if (open) reply(open);
					break;
				case 'c':
					setDraft({ recipient: '', subject: '', body: '', reply_to: null });
					setSent(false);
					break;
				case 'u':
					setOpen(null);
					break;
				default:
					return;
			}
			e.preventDefault();
		}
		window.addEventListener('keydown', onKey);
		return () => window.removeEventListener('keydown', onKey);
	});

	useEffect(() => {
		listRef.current?.querySelector('.inbox__row--cursor')?.scrollIntoView({ block: 'nearest' });
	}, [cursor]);

	const allSelected = rows.length > 0 && selected.size === rows.length;
	const countOf = (f: Folder) => (f === 'inbox' ? stats?.unread : f === 'starred' ? stats?.starred : undefined);

	return (
		<>
			<PageHeader title="Inbox" sub="Messages with people in your organizations.">
				<button
					id="compose-button"
					type="button"
					className="btn btn--primary"
					onClick={() => {
						setDraft({ recipient: '', subject: '', body: '', reply_to: null });
						setSent(false);
						setOpen(null);
					}}
				>
					Compose
				</button>
			</PageHeader>
			{sent ? (
				<p className="message-sent" role="status">
					Message sent successfully
				</p>
			) : null}
			<div className="inbox">
				<nav aria-label="Folders">
					<ul className="inbox__folders">
						{FOLDERS.map((f) => (
							<li key={f.id}>
								<button
									type="button"
									className="inbox__folder"
									aria-current={folder === f.id ? 'true' : undefined}
									onClick={() => {
										setFolder(f.id);
										setOpen(null);
									}}
								>
									<span>{f.label}</span>
									{countOf(f.id) ? <span className="count-badge">{countOf(f.id)}</span> : null}
								</button>
							</li>
						))}
					</ul>
				</nav>
				<div className="inbox__main">
					{draft ? (
						<Compose
							key={draft.reply_to || 'new'}
							draft={draft}
							onCancel={() => setDraft(null)}
							onSent={() => {
								setDraft(null);
								setSent(true);
								void load();
								void refreshInbox();
							}}
						/>
					) : null}
					{open ? (
						<>
							<button type="button" className="btn btn--small btn--quiet back-link" onClick={() => setOpen(null)}>
								← Back to {FOLDERS.find((f) => f.id === folder)?.label}
							</button>
							<ReadView m={open} me={me} onReply={() => reply(open)} onAction={(a) => void bulk(a, [open.id])} />
						</>
					) : (
						<>
							<form
								className="inbox__tools"
								role="search"
								onSubmit={(e) => {
									e.preventDefault();
									setQuery(q.trim().slice(0, 200));
								}}
							>
								<input type="checkbox" aria-label={allSelected ? 'Select none' : 'Select all'} checked={allSelected} onChange={() => setSelected(allSelected ? new Set() : new Set(rows.map((r) => r.id)))} />
								<input type="search" placeholder="Search messages" aria-label="Search messages" value={q} maxLength={200} onChange={(e) => setQ(e.target.value)} />
								<label className="muted">
									<input type="checkbox" checked={unreadOnly} onChange={(e) => setUnreadOnly(e.target.checked)} /> Unread only
								</label>
							</form>
							{selected.size ? (
								<div className="inbox__tools" role="toolbar" aria-label="Selected messages">
									<span className="muted">{selected.size} selected</span>
									<button type="button" className="btn btn--small" onClick={() => void bulk('read', [...selected])}>
										Mark read
									</button>
									<button type="button" className="btn btn--small" onClick={() => void bulk('unread', [...selected])}>
										Mark unread
									</button>
									<button type="button" className="btn btn--small" onClick={() => void bulk('star', [...selected])}>
										Star
									</button>
									<button type="button" className="btn btn--small" onClick={() => void bulk(folder === 'archived' ? 'unarchive' : 'archive', [...selected])}>
										{folder === 'archived' ? 'Move to inbox' : 'Archive'}
									</button>
									<button type="button" className="btn btn--small btn--danger-text" onClick={() => void bulk('delete', [...selected])}>
										Delete
									</button>
								</div>
							) : null}
							<TypingNote className="inbox__typing" />
							{error ? <Alert action={<button type="button" className="btn btn--small" onClick={() => void load()}>Try again</button>}>{error}</Alert> : null}
							{!page && !error ? <Spinner label="Loading messages" /> : null}
							{page && !rows.length ? (
								<div className="empty empty--small">
									<p>{query ? 'No messages match your search.' : folder === 'inbox' ? 'Your inbox is empty.' : `Nothing in ${folder}.`}</p>
								</div>
							) : null}
							{rows.length ? (
								<ul className="inbox__list" ref={listRef} aria-label="Messages">
									{rows.map((m, i) => {
										const outgoing = m.sender_id === me && m.recipient_id !== me;
										const cls = ['inbox__row', !m.is_read ? 'inbox__row--unread' : '', i === cursor ? 'inbox__row--cursor' : '', selected.has(m.id) ? 'inbox__row--selected' : ''].filter(Boolean).join(' ');
										return (
											<li key={m.id} className={cls} data-message-id={m.id} onClick={() => void openMessage(m)}>
												<input
													type="checkbox"
													aria-label={`Select “${m.subject}”`}
													checked={selected.has(m.id)}
													onClick={(e) => e.stopPropagation()}
													onChange={() =>
														setSelected((s) => {
															const n = new Set(s);
															if (n.has(m.id)) n.delete(m.id);
															else n.add(m.id);
															return n;
														})
													}
												/>
												<button
													type="button"
													className="inbox__star"
													aria-pressed={m.is_starred}
													aria-label={m.is_starred ? 'Unstar' : 'Star'}
													onClick={(e) => {
														e.stopPropagation();
														void toggleStar(m);
													}}
												>
													★
												</button>
												<button type="button" className="btn--quiet" style={{ all: 'unset', minWidth: 0, cursor: 'pointer' }} onClick={(e) => { e.stopPropagation(); void openMessage(m); }}>
													<span className="inbox__who">
														<PresenceDot id={outgoing ? m.recipient_id : m.sender_id} /> {outgoing ? `To: ${who(m.recipient)}` : who(m.sender)}
													</span>
													<span className="inbox__subject">
														{!m.is_read ? <span className="visually-hidden">Unread: </span> : null}
														{m.subject}
													</span>
												</button>
												<span className="inbox__when">{formatAgo(m.created_at)}</span>
											</li>
										);
									})}
								</ul>
							) : null}
							{page?.next_cursor ? (
								<button type="button" className="btn load-more" onClick={() => void load(page.next_cursor || undefined)}>
									Load more
								</button>
							) : null}
							<p className="muted inbox__keys">Keys: j/k move · x select · * all · Enter open · s star · e archive · # delete · r reply · c compose</p>
						</>
					)}
				</div>
			</div>
		</>
	);
}
