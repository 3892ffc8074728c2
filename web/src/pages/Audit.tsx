// The audit log (owners and admins): who did what, to what, from where.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { Alert, PageHeader, toast, useDocumentTitle } from '../components/ui';
import { get } from '../lib/api';
import { formatDate } from '../lib/format';
import { messageOf } from '../lib/problem';

interface AuditEvent {
	id: string;
	action: string;
	actor: { id: string; email: string } | null;
	target: { type: string; id: string } | null;
	ip: string;
	user_agent: string;
	request_id: string;
	details: Record<string, unknown>;
	created_at: string;
}

const ACTIONS = ['', 'auth.', 'meeting.', 'member.', 'invitation.', 'api_key.', 'org.'];

export function Audit() {
	useDocumentTitle('Audit log');
	const [events, setEvents] = useState<AuditEvent[] | null>(null);
	const [cursor, setCursor] = useState<string | null>(null);
	const [error, setError] = useState<string | null>(null);
	const [action, setAction] = useState('');
	const [since, setSince] = useState('');
	const [busy, setBusy] = useState(false);

	const query = useCallback(
		(c?: string | null) => {
			const q = new URLSearchParams({ limit: '50' });
			if (action) q.set('action', action);
			if (since) q.set('since', new Date(since).toISOString());
			if (c) q.set('cursor', c);
			return `/api/v1/audit-events?${q}`;
		},
		[action, since],
	);

	const load = useCallback(async () => {
		setError(null);
		try {
			const p = await get<{ data: AuditEvent[]; next_cursor: string | null }>(query());
			setEvents(p.data);
			setCursor(p.next_cursor);
		} catch (e) {
			setError(messageOf(e));
		}
	}, [query]);
	useEffect(() => {
		void load();
	}, [load]);

	async function more() {
		if (!cursor) return;
		setBusy(true);
		try {
			const p = await get<{ data: AuditEvent[]; next_cursor: string | null }>(query(cursor));
			setEvents((l) => [...(l || []), ...p.data]);
			setCursor(p.next_cursor);
		} catch (e) {
			toast(messageOf(e), 'error');
		} finally {
			setBusy(false);
		}
	}

	return (
		<>
			<PageHeader title="Audit log" sub="Sign-ins, data access and admin actions in this organization." />
			<form className="card inline-form" onSubmit={(e: FormEvent) => e.preventDefault()} aria-label="Filter">
				<label className="field">
					<span>Kind</span>
					<select className="select" value={action} onChange={(e) => setAction(e.target.value)} data-audit-action>
						{ACTIONS.map((a) => (
							<option key={a} value={a}>
								{a ? a.slice(0, -1) : 'everything'}
							</option>
						))}
					</select>
				</label>
				<label className="field">
					<span>Since</span>
					<input type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
				</label>
			</form>
			{error ? <Alert title="The audit log could not be loaded.">{error}</Alert> : null}
			{events === null ? (
				<div className="table-skeleton" aria-busy="true" aria-label="Loading the audit log">
					<span className="skeleton skeleton--row" />
				</div>
			) : events.length === 0 ? (
				<p className="muted">Nothing recorded for this filter.</p>
			) : (
				<div className="table-wrap">
					<table className="table" data-audit>
						<caption className="visually-hidden">Audit events, newest first</caption>
						<thead>
							<tr>
								<th scope="col">When</th>
								<th scope="col">Who</th>
								<th scope="col">What</th>
								<th scope="col">Target</th>
								<th scope="col">From</th>
							</tr>
						</thead>
						<tbody>
							{events.map((e) => (
								<tr key={e.id} data-audit-event={e.action}>
									<td data-label="When">{formatDate(e.created_at)}</td>
									<td data-label="Who">{e.actor?.email || '—'}</td>
									<th scope="row" className="table__name">
										<code className="mono">{e.action}</code>
									</th>
									<td data-label="Target"><span title={e.target?.id}>{e.target ? `${e.target.type} …${e.target.id.slice(-8)}` : '—'}</span></td>
									<td data-label="From" title={`${e.user_agent}\nrequest ${e.request_id}`}>
										{e.ip}
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			)}
			{cursor ? (
				<div className="load-more">
					<button type="button" className="btn" onClick={() => void more()} disabled={busy}>
						{busy ? 'Loading…' : 'Load more'}
					</button>
				</div>
			) : null}
		</>
	);
}
