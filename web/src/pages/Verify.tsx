// The page a verification mail links to. Opening it does not use the link
// up (mail scanners fetch links too): the address is confirmed by the
// button, which POSTs the token.

import { useEffect, useState } from 'react';
import { Alert, useDocumentTitle } from '../components/ui';
import { api } from '../lib/api';
import { ApiError, messageOf } from '../lib/problem';
import { Link, useLocation } from '../lib/router';
import * as session from '../lib/session';
import type { User } from '../lib/types';
import { AuthFrame } from './Auth';

type State = { kind: 'checking' } | { kind: 'ready' } | { kind: 'done'; email: string } | { kind: 'failed'; message: string };

export function Verify() {
	useDocumentTitle('Confirm your address');
	const loc = useLocation();
	const token = new URLSearchParams(loc.search).get('token') || '';
	const [state, setState] = useState<State>(token ? { kind: 'checking' } : { kind: 'failed', message: 'This page needs the link from the mail. Open the link again.' });
	const [busy, setBusy] = useState(false);
	const signedIn = session.getState().status === 'authenticated';

	useEffect(() => {
		if (!token) return undefined;
		const ctl = new AbortController();
		api(`/api/v1/auth/verify-email?token=${encodeURIComponent(token)}`, { anonymous: true, signal: ctl.signal })
			.then(() => setState({ kind: 'ready' }))
			.catch((err) => {
				if (ctl.signal.aborted) return;
				setState({ kind: 'failed', message: err instanceof ApiError ? err.problem.detail : messageOf(err) });
			});
		return () => ctl.abort();
	}, [token]);

	async function confirm() {
		setBusy(true);
		try {
			const body = await api<{ user: User }>('/api/v1/auth/verify-email', { method: 'POST', json: { token }, anonymous: true });
			if (signedIn && session.getState().user?.id === body.user.id) session.setUser(body.user);
			setState({ kind: 'done', email: body.user.email });
		} catch (err) {
			setState({ kind: 'failed', message: err instanceof ApiError ? err.problem.detail : messageOf(err) });
		}
		setBusy(false);
	}

	const next = signedIn ? (
		<Link to="/meetings" className="btn btn--primary btn--block">
			Go to your meetings
		</Link>
	) : (
		<Link to="/login" className="btn btn--primary btn--block">
			Log in
		</Link>
	);

	return (
		<AuthFrame title="Confirm your address" footer={<Link to={signedIn ? '/account' : '/login'}>{signedIn ? 'Your account' : 'Back to log in'}</Link>}>
			{state.kind === 'checking' ? <p className="muted">Checking the link…</p> : null}
			{state.kind === 'ready' ? (
				<div className="form">
					<p>Confirm that this address is yours to finish setting up your account.</p>
					<button type="button" className="btn btn--primary btn--block" onClick={confirm} disabled={busy} autoFocus>
						{busy ? 'Confirming…' : 'Confirm my address'}
					</button>
				</div>
			) : null}
			{state.kind === 'done' ? (
				<>
					<Alert kind="success" title="Address confirmed">
						{state.email} is verified. Thank you.
					</Alert>
					{next}
				</>
			) : null}
			{state.kind === 'failed' ? (
				<>
					<Alert>{state.message}</Alert>
					{signedIn ? <p className="muted">You can ask for a new link from your account page.</p> : null}
					{next}
				</>
			) : null}
		</AuthFrame>
	);
}
