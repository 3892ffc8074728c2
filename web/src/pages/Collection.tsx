// One collection: its meetings (paged), adding and removing meetings
// (editors), renaming, sharing and deleting (owners).

import { useEffect, useState, type FormEvent } from 'react';
import ChatPanel from '../components/ChatPanel';
import { ShareDialog, type Collection as Coll } from '../components/ShareDialog';
import '../components/ShareDialog.css';
import { Alert, ConfirmDialog, Field, PageHeader, StatusBadge, toast, useDocumentTitle } from '../components/ui';
import { api, get } from '../lib/api';
import { formatDate } from '../lib/format';
import { messageOf } from '../lib/problem';
import { Link, navigate } from '../lib/router';
import type { Meeting, Page } from '../lib/types';

export function Collection({ id }: { id: string }) {
	const [coll, setColl] = useState<Coll | null>(null);
	const [meetings, setMeetings] = useState<Meeting[] | null>(null);
	const [cursor, setCursor] = useState<string | null>(null);
	const [error, setError] = useState<string | null>(null);
	const [sharing, setSharing] = useState(false);
	const [renaming, setRenaming] = useState<string | null>(null);
	const [confirmDelete, setConfirmDelete] = useState(false);
	const [candidates, setCandidates] = useState<Meeting[]>([]);
	const [pick, setPick] = useState('');
	useDocumentTitle(coll ? coll.name : 'Collection');
	const base = `/api/v1/collections/${id}`;

	async function load(after: string | null = null) {
		try {
			const [c, p] = await Promise.all([get<Coll>(base), get<Page<Meeting>>(`${base}/meetings?limit=50${after ? `&cursor=${encodeURIComponent(after)}` : ''}`)]);
			setColl(c);
			setMeetings((cur) => (after ? [...(cur || []), ...p.data] : p.data));
			setCursor(p.next_cursor);
		} catch (e) {
			setError(messageOf(e));
		}
	}
	useEffect(() => {
		void load();
		// eslint-disable-next-line react-hooks/exhaustive-deps
	}, [id]);
	const canEdit = coll?.my_role === 'editor' || coll?.my_role === 'owner';
	const isOwner = coll?.my_role === 'owner';
	useEffect(() => {
		if (!canEdit) return;
		// Meetings of the active organization that could be added (guests have none of theirs here).
		get<Page<Meeting>>('/api/v1/meetings?limit=100')
			.then((p) => setCandidates(p.data))
			.catch(() => setCandidates([]));
	}, [canEdit]);

	async function rename(e: FormEvent) {
		e.preventDefault();
		try {
			setColl(await api<Coll>(base, { method: 'PATCH', json: { name: (renaming || '').trim() } }));
			setRenaming(null);
		} catch (err) {
			toast(messageOf(err), 'error');
		}
	}
	async function add() {
		try {
			await api<void>(`${base}/meetings/${pick}`, { method: 'PUT' });
			setPick('');
			await load();
		} catch (err) {
			toast(messageOf(err), 'error');
		}
	}
	async function remove(mid: string) {
		try {
			await api<void>(`${base}/meetings/${mid}`, { method: 'DELETE' });
			await load();
		} catch (err) {
			toast(messageOf(err), 'error');
		}
	}

	if (error) {
		return (
			<Alert title="This collection cannot be shown." action={<Link to="/collections" className="btn">All collections</Link>}>
				{error}
			</Alert>
		);
	}
	if (!coll) return <p className="muted">Loading…</p>;
	const inIt = new Set((meetings || []).map((m) => m.id));
	return (
		<>
			<Link to="/collections" className="back-link">
				← Collections
			</Link>
			<PageHeader
				heading={
					renaming !== null ? (
						<form onSubmit={rename} className="inline-form" aria-label="Rename">
							<Field label="Name" name="name" value={renaming} onChange={(e) => setRenaming(e.target.value)} maxLength={200} autoFocus />
							<button type="submit" className="btn btn--primary">
								Save
							</button>
						</form>
					) : (
						<h1 tabIndex={-1} data-page-title>
							{coll.name}
						</h1>
					)
				}
				sub={`${coll.organization.name} · you are ${coll.my_role === 'owner' ? 'an owner' : `an ${coll.my_role}`}`}
			>
				{isOwner ? (
					<>
						<button type="button" className="btn btn--primary" onClick={() => setSharing(true)} data-share-collection-button>
							Share
						</button>
						<button type="button" className="btn btn--quiet" onClick={() => setRenaming(coll.name)}>
							Rename
						</button>
						<button type="button" className="btn btn--quiet btn--danger-text" onClick={() => setConfirmDelete(true)}>
							Delete
						</button>
					</>
				) : null}
			</PageHeader>
			{canEdit && candidates.some((m) => !inIt.has(m.id)) ? (
				<div className="card inline-form">
					<label className="field">
						<span>Add a meeting</span>
						<select className="select" value={pick} onChange={(e) => setPick(e.target.value)} data-add-meeting>
							<option value="">Choose…</option>
							{candidates
								.filter((m) => !inIt.has(m.id))
								.map((m) => (
									<option key={m.id} value={m.id}>
										{m.title}
									</option>
								))}
						</select>
					</label>
					<button type="button" className="btn" disabled={!pick} onClick={() => void add()}>
						Add
					</button>
				</div>
			) : null}
			{meetings && meetings.length ? (
				<ul className="collection-list" aria-label="Meetings in this collection">
					{meetings.map((m) => (
						<li key={m.id} data-collection-meeting={m.title}>
							<Link to={`/meetings/${m.id}`}>
								<strong>{m.title}</strong>
							</Link>
							<span className="muted">{formatDate(m.meeting_date || m.created_at)}</span>
							<StatusBadge status={m.status} progress={m.progress} />
							{canEdit ? (
								<button type="button" className="btn btn--small btn--quiet" onClick={() => void remove(m.id)} aria-label={`Remove ${m.title} from the collection`}>
									Remove
								</button>
							) : null}
						</li>
					))}
				</ul>
			) : (
				<p className="muted">No meetings in this collection yet.</p>
			)}
			{cursor ? (
				<div className="load-more">
					<button type="button" className="btn" onClick={() => void load(cursor)}>
						Load more
					</button>
				</div>
			) : null}
			{meetings && meetings.length ? (
				<details className="card chat-details" data-chat-panel>
					<summary>Ask this collection</summary>
					<ChatPanel collection={{ id: coll.id, name: coll.name }} />
				</details>
			) : null}
			<ShareDialog open={sharing} title={`Share “${coll.name}”`} collectionId={coll.id} onClose={() => setSharing(false)} />
			<ConfirmDialog
				open={confirmDelete}
				title={`Delete “${coll.name}”?`}
				confirmLabel="Delete collection"
				danger
				onCancel={() => setConfirmDelete(false)}
				onConfirm={async () => {
					try {
						await api<void>(base, { method: 'DELETE' });
						navigate('/collections');
					} catch (err) {
						toast(messageOf(err), 'error');
						setConfirmDelete(false);
					}
				}}
			>
				The meetings stay; the people it was shared with lose access to them.
			</ConfirmDialog>
		</>
	);
}
