// Collections: the list (the organization's and those shared with me), a new
// one, and the page an invitation link opens (/collection-invite#cin_...:
// the token stays in the fragment, never in a server log).

import { useEffect, useState, useSyncExternalStore, type FormEvent } from 'react';
import { type Collection } from '../components/ShareDialog';
import '../components/ShareDialog.css';
import { IconWave } from '../components/icons';
import { Alert, Field, PageHeader, useDocumentTitle } from '../components/ui';
import { api, get, post } from '../lib/api';
import { ApiError, messageOf } from '../lib/problem';
import { Link, navigate } from '../lib/router';
import * as session from '../lib/session';
import type { Page, TokenResponse } from '../lib/types';

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

function Frame({ title, children }: { title: string; children: React.ReactNode }) {
	return (
		<div className="auth">
			<div className="auth__brand">
				<span className="logo-mark" aria-hidden="true">
					<IconWave size={22} />
				</span>
				<span className="auth__name">IAM</span>
			</div>
			<div className="card auth__card">
				<h1 tabIndex={-1} data-page-title>
					{title}
				</h1>
				{children}
			</div>
		</div>
	);
}

/** /collection-invite#TOKEN: accept while logged in, log in and accept, or sign up through the link. */
export function CollectionInvite() {
	useDocumentTitle('Shared collection');
	const s = useSyncExternalStore(session.subscribe, session.getState);
	const [token] = useState(() => decodeURIComponent(window.location.hash.replace(/^#/, '')));
	const [inv, setInv] = useState<CollectionInvitation | null>(null);
	const [gone, setGone] = useState<string | null>(null);
	const [password, setPassword] = useState('');
	const [first, setFirst] = useState('');
	const [errors, setErrors] = useState<Record<string, string>>({});
	const [formError, setFormError] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);

	useEffect(() => {
		void session.start();
		if (!token) {
			setGone('This link has no invitation in it. Open the whole link you were sent.');
			return;
		}
		api<CollectionInvitation>('/api/v1/collection-invitations/lookup', { method: 'POST', json: { token }, anonymous: true })
			.then(setInv)
			.catch((e) => setGone(messageOf(e)));
	}, [token]);

	function fail(err: unknown) {
		if (err instanceof ApiError) {
			const f = err.fields();
			setErrors(f);
			if (!Object.keys(f).length) setFormError(err.problem.detail);
		} else setFormError(messageOf(err));
		setBusy(false);
	}
	const open = () => window.location.assign(`/collections/${inv?.collection.id}`);

	async function accept(e?: FormEvent) {
		e?.preventDefault();
		if (!inv) return;
		setBusy(true);
		setFormError(null);
		try {
			if (s.status !== 'authenticated') session.signedIn(await api<TokenResponse>('/api/v1/auth/login', { method: 'POST', json: { email: inv.email, password }, anonymous: true }));
			await api('/api/v1/collection-invitations/accept', { method: 'POST', json: { token } });
			open();
		} catch (err) {
			fail(err);
		}
	}

	async function signup(e: FormEvent) {
		e.preventDefault();
		setBusy(true);
		setErrors({});
		setFormError(null);
		try {
			session.signedIn(
				await api<TokenResponse>('/api/v1/collection-invitations/signup', {
					method: 'POST',
					json: { token, password, first_name: first.trim() || null },
					anonymous: true,
				}),
			);
			open();
		} catch (err) {
			fail(err);
		}
	}

	if (gone) {
		return (
			<Frame title="This invitation cannot be used">
				<Alert>{gone}</Alert>
				<p>
					<a href="/login">Log in</a> or ask whoever shared it for a new link.
				</p>
			</Frame>
		);
	}
	if (!inv || s.status === 'loading') {
		return (
			<Frame title="Shared collection">
				<p className="muted" aria-busy="true">
					Loading the invitation…
				</p>
			</Frame>
		);
	}
	const title = `Open “${inv.collection.name}”`;
	const intro = (
		<p style={{ overflowWrap: 'anywhere' }} data-collection-invite-intro>
			{inv.invited_by ? `${inv.invited_by} shared ` : 'You are invited to '}
			the collection <strong>{inv.collection.name}</strong> with <strong>{inv.email}</strong> as <strong>{inv.role}</strong>.
		</p>
	);
	const err = formError ? <Alert>{formError}</Alert> : null;
	if (s.status === 'authenticated') {
		if (s.user?.email && s.user.email !== inv.email) {
			return (
				<Frame title={title}>
					{intro}
					<Alert kind="warning">
						You are logged in as {s.user.email}, but this invitation is for {inv.email}. Log out and continue as {inv.email}.
					</Alert>
					<button type="button" className="btn btn--primary" onClick={() => void session.logout()}>
						Log out
					</button>
				</Frame>
			);
		}
		return (
			<Frame title={title}>
				{intro}
				{err}
				<button type="button" className="btn btn--primary" onClick={() => void accept()} disabled={busy} data-collection-accept>
					{busy ? 'Opening…' : 'Accept and open'}
				</button>
			</Frame>
		);
	}
	if (inv.account_exists) {
		return (
			<Frame title={title}>
				{intro}
				{err}
				<form onSubmit={accept} noValidate className="form">
					<Field label="Password" name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} error={errors.password} autoFocus />
					<button type="submit" className="btn btn--primary btn--block" disabled={busy}>
						{busy ? 'Opening…' : 'Log in and open'}
					</button>
				</form>
			</Frame>
		);
	}
	return (
		<Frame title={title}>
			{intro}
			<p>Create your account for {inv.email}: the link proves the address. You will see this collection only.</p>
			{err}
			<form onSubmit={signup} noValidate className="form" data-collection-signup>
				<Field label="First name" name="first_name" autoComplete="given-name" value={first} onChange={(e) => setFirst(e.target.value)} error={errors.first_name} maxLength={100} />
				<Field label="Password" name="password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} error={errors.password} hint="At least 10 characters." autoFocus />
				<button type="submit" className="btn btn--primary btn--block" disabled={busy}>
					{busy ? 'Creating your account…' : 'Create account and open'}
				</button>
			</form>
		</Frame>
	);
}
