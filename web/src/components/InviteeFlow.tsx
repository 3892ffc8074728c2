// The page an invitation link opens, for every kind of invitation (to an
// organization: /invite#inv_..., to a collection: /collection-invite#cin_...;
// the token stays in the fragment, so it never reaches a server log). It
// looks the token up and says who invited whom to what; then, logged in as
// the invited address: accept; logged in as someone else: log out first;
// not logged in: log in and accept (an account exists) or sign up through
// the link, which proves the address. A link that cannot be used (unknown,
// used, revoked, expired) says so. The server side is one flow as well
// (src/api/invitee.c): KIND/lookup, KIND/accept, KIND/signup.

import { useEffect, useState, useSyncExternalStore, type FormEvent, type ReactNode } from 'react';
import { AuthFrame } from '../pages/Auth';
import { Alert, Field, useDocumentTitle } from './ui';
import { api } from '../lib/api';
import { ApiError, messageOf } from '../lib/problem';
import * as session from '../lib/session';
import type { TokenResponse } from '../lib/types';

/** What every lookup reply has. */
export interface InviteeView {
	email: string;
	role: string;
	account_exists: boolean;
}

/** One kind of invitation: its endpoints, its words, and where accepting leads. */
export interface InviteeKind<V extends InviteeView> {
	/** lookup, accept and signup are under it: '/api/v1/invitations' */
	api: string;
	/** the document title, and the heading while the invitation loads */
	title: string;
	/** the heading once it is loaded */
	heading: (v: V) => string;
	/** who invited whom to what */
	intro: (v: V) => ReactNode;
	/** who to ask for a new link: 'whoever invited you' */
	askWho: string;
	/** the buttons: accept (logged in), log in and accept, sign up; busy: while any runs */
	accept: (v: V) => string;
	login: string;
	signup: string;
	busy: string;
	/** said before the password field (an account exists) */
	loginNote?: (v: V) => ReactNode;
	/** said after "Create your account for EMAIL: the link proves the address." */
	signupNote?: string;
	/** the sign-up form asks for a last name too */
	lastName?: boolean;
	/** accepting replies with a new session (joining an organization switches to it) */
	acceptSignsIn?: boolean;
	/** where to go once accepted */
	next: (v: V) => string;
	/** the data-* attributes tests find the intro, the accept button and the sign-up form by */
	data: { intro: string; accept: string; signup: string };
}

/** The token from /invite#TOKEN (or /invite/TOKEN). */
export function inviteeToken(): string {
	const h = window.location.hash.replace(/^#/, '');
	if (h) return decodeURIComponent(h);
	const m = /^\/invite\/([^/?#]+)/.exec(window.location.pathname);
	return m ? decodeURIComponent(m[1]) : '';
}

const attr = (name: string) => ({ [name]: '' });

export function InviteeFlow<V extends InviteeView>({ kind }: { kind: InviteeKind<V> }) {
	useDocumentTitle(kind.title);
	const s = useSyncExternalStore(session.subscribe, session.getState);
	const [token] = useState(inviteeToken);
	const [inv, setInv] = useState<V | null>(null);
	const [gone, setGone] = useState<string | null>(null);
	const [password, setPassword] = useState('');
	const [first, setFirst] = useState('');
	const [last, setLast] = useState('');
	const [errors, setErrors] = useState<Record<string, string>>({});
	const [formError, setFormError] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);

	useEffect(() => {
		void session.start();
		if (!token) {
			setGone('This link has no invitation in it. Open the whole link you were sent.');
			return;
		}
		api<V>(`${kind.api}/lookup`, { method: 'POST', json: { token }, anonymous: true })
			.then(setInv)
			.catch((e) => setGone(messageOf(e)));
	}, [token, kind.api]);

	function start() {
		setBusy(true);
		setErrors({});
		setFormError(null);
	}
	function fail(err: unknown) {
		if (err instanceof ApiError) {
			const f = err.fields();
			setErrors(f);
			if (!Object.keys(f).length) setFormError(err.problem.detail);
		} else setFormError(messageOf(err));
		setBusy(false);
	}

	/** Accept: logged in already, or logging in first with the password given. */
	async function accept(e?: FormEvent) {
		e?.preventDefault();
		if (!inv) return;
		start();
		try {
			if (s.status !== 'authenticated') session.signedIn(await api<TokenResponse>('/api/v1/auth/login', { method: 'POST', json: { email: inv.email, password }, anonymous: true }));
			const body = await api<TokenResponse>(`${kind.api}/accept`, { method: 'POST', json: { token } });
			if (kind.acceptSignsIn) session.signedIn(body);
			window.location.assign(kind.next(inv));
		} catch (err) {
			fail(err);
		}
	}

	async function signup(e: FormEvent) {
		e.preventDefault();
		if (!inv) return;
		start();
		try {
			const names = kind.lastName ? { first_name: first.trim() || null, last_name: last.trim() || null } : { first_name: first.trim() || null };
			session.signedIn(await api<TokenResponse>(`${kind.api}/signup`, { method: 'POST', json: { token, password, ...names }, anonymous: true }));
			window.location.assign(kind.next(inv));
		} catch (err) {
			fail(err);
		}
	}

	if (gone) {
		return (
			<AuthFrame title="This invitation cannot be used" footer={null}>
				<Alert>{gone}</Alert>
				<p>
					<a href="/login">Log in</a> or ask {kind.askWho} for a new link.
				</p>
			</AuthFrame>
		);
	}
	if (!inv || s.status === 'loading') {
		return (
			<AuthFrame title={kind.title} footer={null}>
				<p className="muted" aria-busy="true">
					Loading the invitation…
				</p>
			</AuthFrame>
		);
	}
	const intro = (
		<p style={{ overflowWrap: 'anywhere' }} {...attr(kind.data.intro)}>
			{kind.intro(inv)}
		</p>
	);
	const err = formError ? <Alert>{formError}</Alert> : null;
	let body: ReactNode;
	if (s.status === 'authenticated' && s.user?.email && s.user.email !== inv.email) {
		body = (
			<>
				<Alert kind="warning">
					You are logged in as {s.user.email}, but this invitation is for {inv.email}. Log out and continue as {inv.email}.
				</Alert>
				<button type="button" className="btn btn--primary" onClick={() => void session.logout()}>
					Log out
				</button>
			</>
		);
	} else if (s.status === 'authenticated') {
		body = (
			<>
				{err}
				<button type="button" className="btn btn--primary" onClick={() => void accept()} disabled={busy} {...attr(kind.data.accept)}>
					{busy ? kind.busy : kind.accept(inv)}
				</button>
			</>
		);
	} else if (inv.account_exists) {
		body = (
			<>
				{kind.loginNote ? <p>{kind.loginNote(inv)}</p> : null}
				{err}
				<form onSubmit={accept} noValidate className="form">
					<Field label="Password" name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} error={errors.password} autoFocus />
					<button type="submit" className="btn btn--primary btn--block" disabled={busy}>
						{busy ? kind.busy : kind.login}
					</button>
				</form>
			</>
		);
	} else {
		body = (
			<>
				<p>
					Create your account for {inv.email}: the link proves the address.{kind.signupNote ? ` ${kind.signupNote}` : ''}
				</p>
				{err}
				<form onSubmit={signup} noValidate className="form" {...attr(kind.data.signup)}>
					<Field label="First name" name="first_name" autoComplete="given-name" value={first} onChange={(e) => setFirst(e.target.value)} error={errors.first_name} maxLength={100} />
					{kind.lastName ? <Field label="Last name" name="last_name" autoComplete="family-name" value={last} onChange={(e) => setLast(e.target.value)} error={errors.last_name} maxLength={100} /> : null}
					<Field label="Password" name="password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} error={errors.password} hint="At least 10 characters." autoFocus />
					<button type="submit" className="btn btn--primary btn--block" disabled={busy}>
						{busy ? 'Creating your account…' : kind.signup}
					</button>
				</form>
			</>
		);
	}
	return (
		<AuthFrame title={kind.heading(inv)} footer={null}>
			{intro}
			{body}
		</AuthFrame>
	);
}
