// Accept an invitation: /invite#inv_... (the token stays in the fragment, so
// it never reaches a server log). Logged in as the invited address: accept.
// Otherwise log in (an account exists) or sign up through the link, which
// proves the address, and join.

import { useEffect, useState, useSyncExternalStore, type FormEvent } from 'react';
import { Alert, Field, useDocumentTitle } from '../components/ui';
import { IconWave } from '../components/icons';
import { api } from '../lib/api';
import { ApiError, messageOf } from '../lib/problem';
import * as session from '../lib/session';
import type { TokenResponse } from '../lib/types';

interface InvitationView {
	email: string;
	role: string;
	status: string;
	organization: { id: string; name: string };
	invited_by: { email: string } | null;
	expires_at: string;
	account_exists: boolean;
}

/** The token from /invite#TOKEN (or /invite/TOKEN). */
export function inviteToken(): string {
	const h = window.location.hash.replace(/^#/, '');
	if (h) return decodeURIComponent(h);
	const m = /^\/invite\/([^/?#]+)/.exec(window.location.pathname);
	return m ? decodeURIComponent(m[1]) : '';
}

function Frame({ title, children }: { title: string; children: React.ReactNode }) {
	return (
		<div className="auth">
			<div className="auth__brand">
				<span className="logo-mark" aria-hidden="true">
					<IconWave size={22} />
				</span>
				<span className="auth__name">IAM</span>
				<span className="auth__tag">Meeting audio to searchable transcripts</span>
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

/** Joined: start afresh in the organization. */
function joined(body: TokenResponse): void {
	session.signedIn(body);
	window.location.assign('/meetings');
}

export function Invite() {
	useDocumentTitle('Invitation');
	const s = useSyncExternalStore(session.subscribe, session.getState);
	const [token] = useState(inviteToken);
	const [inv, setInv] = useState<InvitationView | null>(null);
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
		api<InvitationView>('/api/v1/invitations/lookup', { method: 'POST', json: { token }, anonymous: true })
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

	async function accept() {
		setBusy(true);
		setFormError(null);
		try {
			joined(await api<TokenResponse>('/api/v1/invitations/accept', { method: 'POST', json: { token } }));
		} catch (err) {
			fail(err);
		}
	}

	async function loginAndAccept(e: FormEvent) {
		e.preventDefault();
		if (!inv) return;
		setBusy(true);
		setErrors({});
		setFormError(null);
		try {
			const body = await api<TokenResponse>('/api/v1/auth/login', { method: 'POST', json: { email: inv.email, password }, anonymous: true });
			session.signedIn(body);
			joined(await api<TokenResponse>('/api/v1/invitations/accept', { method: 'POST', json: { token } }));
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
			joined(
				await api<TokenResponse>('/api/v1/invitations/signup', {
					method: 'POST',
					json: { token, password, first_name: first.trim() || null, last_name: last.trim() || null },
					anonymous: true,
				}),
			);
		} catch (err) {
			fail(err);
		}
	}

	if (gone) {
		return (
			<Frame title="This invitation cannot be used">
				<Alert>{gone}</Alert>
				<p>
					<a href="/login">Log in</a> or ask whoever invited you for a new link.
				</p>
			</Frame>
		);
	}
	if (!inv || s.status === 'loading') {
		return (
			<Frame title="Invitation">
				<p className="muted" aria-busy="true">
					Loading the invitation…
				</p>
			</Frame>
		);
	}
	const intro = (
		<p data-invite-intro style={{ overflowWrap: 'anywhere' }}>
			{inv.invited_by ? `${inv.invited_by.email} invited ` : 'You are invited '}
			<strong>{inv.email}</strong> to join <strong>{inv.organization.name}</strong> as <strong>{inv.role}</strong>.
		</p>
	);
	const err = formError ? <Alert>{formError}</Alert> : null;

	if (s.status === 'authenticated') {
		const mine = s.user?.email;
		if (mine && mine !== inv.email) {
			return (
				<Frame title={`Join ${inv.organization.name}`}>
					{intro}
					<Alert kind="warning">
						You are logged in as {mine}, but this invitation is for {inv.email}. Log out and continue as {inv.email}.
					</Alert>
					<button type="button" className="btn btn--primary" onClick={() => void session.logout()}>
						Log out
					</button>
				</Frame>
			);
		}
		return (
			<Frame title={`Join ${inv.organization.name}`}>
				{intro}
				{err}
				<button type="button" className="btn btn--primary" onClick={() => void accept()} disabled={busy} data-invite-accept>
					{busy ? 'Joining…' : `Join ${inv.organization.name}`}
				</button>
			</Frame>
		);
	}

	if (inv.account_exists) {
		return (
			<Frame title={`Join ${inv.organization.name}`}>
				{intro}
				<p>Log in as {inv.email} to accept.</p>
				{err}
				<form onSubmit={loginAndAccept} noValidate className="form">
					<Field label="Password" name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} error={errors.password} autoFocus />
					<button type="submit" className="btn btn--primary btn--block" disabled={busy}>
						{busy ? 'Joining…' : 'Log in and join'}
					</button>
				</form>
			</Frame>
		);
	}

	return (
		<Frame title={`Join ${inv.organization.name}`}>
			{intro}
			<p>Create your account for {inv.email}: the link proves the address.</p>
			{err}
			<form onSubmit={signup} noValidate className="form" data-invite-signup>
				<Field label="First name" name="first_name" autoComplete="given-name" value={first} onChange={(e) => setFirst(e.target.value)} error={errors.first_name} maxLength={100} />
				<Field label="Last name" name="last_name" autoComplete="family-name" value={last} onChange={(e) => setLast(e.target.value)} error={errors.last_name} maxLength={100} />
				<Field
					label="Password"
					name="password"
					type="password"
					autoComplete="new-password"
					value={password}
					onChange={(e) => setPassword(e.target.value)}
					error={errors.password}
					hint="At least 10 characters."
					autoFocus
				/>
				<button type="submit" className="btn btn--primary btn--block" disabled={busy}>
					{busy ? 'Creating your account…' : 'Create account and join'}
				</button>
			</form>
		</Frame>
	);
}
