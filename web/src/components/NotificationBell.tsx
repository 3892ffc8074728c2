// The header's live counts: the unread badge on the Inbox link and the
// notifications bell. They follow the app's WebSocket (lib/live): a
// new_message, message_updated or notification event refreshes them at once
// (a new message also shows a toast), and so does every reconnect, to catch
// up on what was missed while the socket was down (lib/live reconnects with
// backoff and a fresh ticket); an open panel re-reads its list when the
// count moves. A slow poll (30 s) stays as the fallback; the inbox
// refreshes them when it changes something.

import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { get, post } from '../lib/api';
import * as live from '../lib/live';
import { toast } from './ui';
import { formatAgo } from '../lib/format';
import { navigate } from '../lib/router';
import './NotificationBell.css';

export const POLL_MS = 30_000;

export interface InboxStats {
	total: number;
	unread: number;
	starred: number;
	archived: number;
	sent: number;
}

export interface Notification {
	id: string;
	user_id: string;
	message_id: string | null;
	/** Where it leads in the app (a meeting, the invitations page); null: its message, if any. */
	link?: string | null;
	type: string;
	content: string;
	is_read: boolean;
	created_at: string;
}

interface Counts {
	stats: InboxStats | null;
	notifications: number;
}

let counts: Counts = { stats: null, notifications: 0 };
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | null = null;
let unlive: (() => void)[] = [];
let inflight: Promise<void> | null = null;

function emit(next: Counts) {
	counts = next;
	for (const l of listeners) l();
}

/** Fetch the inbox stats and the unread notification count now. */
export function refreshInbox(): Promise<void> {
	if (inflight) return inflight;
	inflight = (async () => {
		try {
			const [stats, n] = await Promise.all([
				get<InboxStats>('/api/v2/messages/stats/summary'),
				get<{ count: number }>('/api/v1/notifications/unread-count'),
			]);
			emit({ stats, notifications: n.count });
		} catch {
			/* keep the last counts; the next poll tries again */
		} finally {
			inflight = null;
		}
	})();
	return inflight;
}

function subscribe(l: () => void): () => void {
	listeners.add(l);
	if (listeners.size === 1) {
		void refreshInbox();
		timer = setInterval(() => {
			if (document.visibilityState !== 'hidden') void refreshInbox();
		}, POLL_MS);
		const refresh = () => void refreshInbox();
		unlive = [
			live.subscribe('new_message', (d: { subject?: string; sender?: { email?: string; name?: string }; folder?: string }) => {
				refresh();
				if (d && d.folder !== 'sent') toast(`New message from ${d.sender?.name || d.sender?.email || 'someone'}: ${d.subject || ''}`);
			}),
			live.subscribe('message_updated', refresh),
			live.subscribe('notification', refresh),
			live.onConnected((up) => {
				if (up) refresh();
			}),
		];
	}
	return () => {
		listeners.delete(l);
		if (!listeners.size) {
			if (timer) clearInterval(timer);
			timer = null;
			for (const off of unlive) off();
			unlive = [];
		}
	};
}

export function useInboxCounts(): Counts {
	return useSyncExternalStore(subscribe, () => counts);
}

/** "Inbox" with its unread count, for the navigation. */
export function InboxNavLabel() {
	const { stats } = useInboxCounts();
	const unread = stats?.unread ?? 0;
	return (
		<>
			Inbox
			{unread > 0 ? (
				<span className="count-badge inbox-unread" aria-label={`${unread} unread`}>
					{unread > 99 ? '99+' : unread}
				</span>
			) : null}
		</>
	);
}

export function NotificationBell() {
	const { notifications: unread } = useInboxCounts();
	const [open, setOpen] = useState(false);
	const [items, setItems] = useState<Notification[] | null>(null);
	const [error, setError] = useState<string | null>(null);
	const box = useRef<HTMLDivElement>(null);

	// The list while the panel is open: again whenever the unread count moves
	// (a live event, or the catch-up after a reconnect), so it never goes stale.
	useEffect(() => {
		if (!open) return undefined;
		let live = true;
		setError(null);
		get<{ data: Notification[] }>('/api/v1/notifications?limit=10')
			.then((r) => live && setItems(r.data))
			.catch(() => live && setError('Could not load notifications.'));
		return () => {
			live = false;
		};
	}, [open, unread]);

	useEffect(() => {
		if (!open) return undefined;
		const onDoc = (e: MouseEvent) => {
			if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
		};
		const onKey = (e: KeyboardEvent) => {
			if (e.key === 'Escape') setOpen(false);
		};
		document.addEventListener('mousedown', onDoc);
		document.addEventListener('keydown', onKey);
		return () => {
			document.removeEventListener('mousedown', onDoc);
			document.removeEventListener('keydown', onKey);
		};
	}, [open]);

	async function openOne(n: Notification) {
		if (!n.is_read) {
			await post(`/api/v1/notifications/${n.id}/read`).catch(() => undefined);
			void refreshInbox();
		}
		setOpen(false);
		if (n.message_id) navigate(`/inbox?open=${n.message_id}`);
		else if (n.link && n.link.startsWith('/')) navigate(n.link);
	}

	async function readAll() {
		await post('/api/v1/notifications/read-all').catch(() => undefined);
		setItems((xs) => (xs ? xs.map((x) => ({ ...x, is_read: true })) : xs));
		void refreshInbox();
	}

	return (
		<div className="bell" ref={box}>
			<button
				type="button"
				id="notification-bell"
				className="btn btn--icon btn--quiet bell__button"
				aria-expanded={open}
				aria-haspopup="true"
				aria-label={unread ? `Notifications, ${unread} unread` : 'Notifications'}
				onClick={() => setOpen((o) => !o)}
			>
				<svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
					<path d="M6 8a6 6 0 1 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
					<path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
				</svg>
				{unread > 0 ? (
					<span className="count-badge bell__count" aria-hidden="true">
						{unread > 99 ? '99+' : unread}
					</span>
				) : null}
			</button>
			{open ? (
				<div className="bell__panel" role="region" aria-label="Notifications">
					<div className="bell__head">
						<strong>Notifications</strong>
						<button type="button" className="btn btn--small btn--quiet" onClick={() => void readAll()} disabled={!unread}>
							Mark all read
						</button>
					</div>
					{error ? <p className="muted bell__empty">{error}</p> : null}
					{items && !items.length ? <p className="muted bell__empty">Nothing yet.</p> : null}
					{items && items.length ? (
						<ul className="bell__list">
							{items.map((n) => (
								<li key={n.id}>
									<button type="button" className={`bell__item${n.is_read ? '' : ' bell__item--unread'}`} onClick={() => void openOne(n)}>
										<span className="bell__text">{n.content}</span>
										<span className="bell__when muted">{formatAgo(n.created_at)}</span>
									</button>
								</li>
							))}
						</ul>
					) : null}
				</div>
			) : null}
		</div>
	);
}
