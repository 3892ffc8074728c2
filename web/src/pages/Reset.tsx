// The page a password-reset mail links to: choose a new password. Every
// session ends on success, so the next step is logging in.

import { useState, type FormEvent } from 'react';
import { Alert, Field, useDocumentTitle } from '../components/ui';
import { api } from '../lib/api';
import { ApiError, messageOf } from '../lib/problem';
import { Link, navigate, useLocation } from '../lib/router';
import * as session from '../lib/session';
import { AuthFrame } from './Auth';

export function Reset() {
	useDocumentTitle('Choose a new password');
	const loc = useLocation();
	const token = new URLSearchParams(loc.search).get('token') || '';
	const [password, setPassword] = useState('');
	const [confirm, setConfirm] = useState('');
	const [errors, setErrors] = useState<Record<string, string>>({});
	const [error, setError] = useState<string | null>(token ? null : 'This page needs the link from the mail. Open the link again, or ask for a new one.');
	const [expired, setExpired] = useState(!token);
	const [busy, setBusy] = useState(false);

	async function submit(e: FormEvent) {
		e.preventDefault();
		const errs: Record<string, string> = {};
		if (password.length < 10) errs.password = 'Use at least 10 characters.';
		else if (confirm !== password) errs.confirm = 'The two passwords differ.';
		setErrors(errs);
		setError(null);
		if (Object.keys(errs).length) return;
		setBusy(true);
		try {
			await api('/api/v1/auth/reset-password', { method: 'POST', json: { token, password }, anonymous: true });
			if (session.getState().status === 'authenticated') session.end(null);
			navigate('/login', { replace: true, state: { flash: 'Your password was changed and every session was ended. Log in with the new password.' } });
		} catch (err) {
			if (err instanceof ApiError) {
				if (err.status === 410 || err.status === 404) setExpired(true);
				const f = err.fields();
				if (f.password) setErrors({ password: f.password });
				else setError(err.problem.detail);
			} else setError(messageOf(err));
			setBusy(false);
		}
	}

	return (
		<AuthFrame
			title="Choose a new password"
			footer={
				<>
					<Link to="/login">Back to log in</Link>
				</>
			}
		>
			{expired ? (
				<>
					<Alert>{error}</Alert>
					<Link to="/forgot-password" className="btn btn--primary btn--block">
						Ask for a new link
					</Link>
				</>
			) : (
				<form onSubmit={submit} noValidate className="form">
					<Field
						label="New password"
						name="password"
						type="password"
						autoComplete="new-password"
						value={password}
						onChange={(e) => setPassword(e.target.value)}
						error={errors.password}
						hint="At least 10 characters."
						required
						autoFocus
					/>
					<Field
						label="New password again"
						name="confirm"
						type="password"
						autoComplete="new-password"
						value={confirm}
						onChange={(e) => setConfirm(e.target.value)}
						error={errors.confirm}
						required
					/>
					{error ? <Alert>{error}</Alert> : null}
					<button className="btn btn--primary btn--block" type="submit" disabled={busy}>
						{busy ? 'Saving…' : 'Set the new password'}
					</button>
				</form>
			)}
		</AuthFrame>
	);
}
