// Collections: the list (the organization's and those shared with me), a new
// one, and the page an invitation link opens (/collection-invite#cin_...;
// the flow is InviteeFlow's).

import { useEffect, useState, useSyncExternalStore, type FormEvent } from 'react';
import { InviteeFlow, type InviteeKind } from '../components/InviteeFlow';
import { type Collection } from '../components/ShareDialog';
import '../components/ShareDialog.css';
import { Alert, Field, PageHeader, useDocumentTitle } from '../components/ui';
import { get, post } from '../lib/api';
import { ApiError, messageOf } from '../lib/problem';
import { Link, navigate } from '../lib/router';
import * as session from '../lib/session';
import type { Page } from '../lib/types';

const WRITERS = ['owner', 'admin', 'member'];

export function Collections() {
	useDocumentTitle('Collections');
	const s = useSyncExternalStore(session.subscribe, session.getState);
	const [list, setList] = useState<Collection[] | null>(null);
	const [cursor, setCursor] = useState<string | null>(null);
	const [error, setError] = useState<string | null>(null);
	const [name, setName] = useState('');
	const [errors, setErrors] = useState<Record<string, string>>({});
	const [busy, setBusy] = useState(false);
	const canCreate = WRITERS.includes(s.user?.organization?.role || '');

	async function load(after: string | null = null) {
		try {
			const p = await get<Page<Collection>>(`/api/v1/collections?limit=50${after ? `&cursor=${encodeURIComponent(after)}` : ''}`);
			setList((cur) => (after ? [...(cur || []), ...p.data] : p.data));
			setCursor(p.next_cursor);
		} catch (e) {
			setError(messageOf(e));
		}
	}
	useEffect(() => {
		void load();
	}, []);

	async function create(e: FormEvent) {
		e.preventDefault();
		setBusy(true);
		setErrors({});
		try {
			const c = await post<Collection>('/api/v1/collections', { name: name.trim() });
			navigate(`/collections/${c.id}`);
		} catch (err) {
			if (err instanceof ApiError && Object.keys(err.fields()).length) setErrors(err.fields());
			else setError(messageOf(err));
			setBusy(false);
		}
	}

	const org = s.user?.organization?.id;
	return (
		<>
			<PageHeader title="Collections" sub="Folders of meetings, shared with people inside or outside your organization." />
			{canCreate ? (
				<form className="card inline-form" onSubmit={create} noValidate aria-label="Create a collection">
					<Field label="New collection" name="name" value={name} onChange={(e) => setName(e.target.value)} error={errors.name} maxLength={200} placeholder="Board meetings" data-new-collection />
					<button type="submit" className="btn btn--primary" disabled={busy || !name.trim()}>
						{busy ? 'Creating…' : 'Create'}
					</button>
				</form>
			) : null}
			{error ? <Alert>{error}</Alert> : null}
			{list === null ? (
				<p className="muted">Loading…</p>
			) : list.length === 0 ? (
				<p className="muted">No collections yet.</p>
			) : (
				<ul className="collection-list" aria-label="Collections">
					{list.map((c) => (
						<li key={c.id} data-collection={c.name}>
							<Link to={`/collections/${c.id}`}>
								<strong>{c.name}</strong>
							</Link>
							<span className="muted">
								{c.meeting_count} meeting{c.meeting_count === 1 ? '' : 's'} · {c.my_role}
								{c.organization.id !== org ? ` · shared by ${c.organization.name}` : ''}
							</span>
						</li>
					))}
				</ul>
			)}
			{cursor ? (
				<div className="load-more">
					<button type="button" className="btn" onClick={() => void load(cursor)}>
						Load more
					</button>
				</div>
			) : null}
		</>
	);
}

interface CollectionInvitation {
	email: string;
	role: string;
	collection: { id: string; name: string };
	invited_by: string;
	account_exists: boolean;
}

const COLLECTION: InviteeKind<CollectionInvitation> = {
	api: '/api/v1/collection-invitations',
	title: 'Shared collection',
	heading: (v) => `Open “${v.collection.name}”`,
	intro: (v) => (
		<>
			{v.invited_by ? `${v.invited_by} shared ` : 'You are invited to '}
			the collection <strong>{v.collection.name}</strong> with <strong>{v.email}</strong> as <strong>{v.role}</strong>.
		</>
	),
	askWho: 'whoever shared it',
	accept: () => 'Accept and open',
	login: 'Log in and open',
	signup: 'Create account and open',
	busy: 'Opening…',
	signupNote: 'You will see this collection only.',
	next: (v) => `/collections/${v.collection.id}`,
	data: { intro: 'data-collection-invite-intro', accept: 'data-collection-accept', signup: 'data-collection-signup' },
};

/** /collection-invite#TOKEN: accept while logged in, log in and accept, or sign up through the link. */
export function CollectionInvite() {
	return <InviteeFlow kind={COLLECTION} />;
}
