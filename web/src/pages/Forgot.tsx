// "Forgot your password?": ask for a reset link by mail. The server answers
// the same whatever the address, so this page does too.

import { useState, type FormEvent } from 'react';
import { Alert, Field, useDocumentTitle } from '../components/ui';
import { api } from '../lib/api';
import { ApiError, messageOf } from '../lib/problem';
import { Link } from '../lib/router';
import { AuthFrame } from './Auth';

export function Forgot() {
	useDocumentTitle('Reset your password');
	const [email, setEmail] = useState('');
	const [error, setError] = useState<string | null>(null);
	const [fieldError, setFieldError] = useState<string | undefined>();
	const [busy, setBusy] = useState(false);
	const [sent, setSent] = useState<string | null>(null);

	async function submit(e: FormEvent) {
		e.preventDefault();
		setError(null);
		setFieldError(undefined);
		if (!email.trim()) {
			setFieldError('Enter the email address of your account.');
			return;
		}
		setBusy(true);
		try {
			await api('/api/v1/auth/forgot-password', { method: 'POST', json: { email: email.trim() }, anonymous: true });
			setSent(email.trim());
		} catch (err) {
			if (err instanceof ApiError) {
				const f = err.fields();
				if (f.email) setFieldError(f.email);
				else setError(err.problem.detail);
			} else setError(messageOf(err));
		}
		setBusy(false);
	}

	return (
		<AuthFrame
			title="Reset your password"
			footer={
				<>
					Remembered it? <Link to="/login">Log in</Link>
				</>
			}
		>
			{sent ? (
				<Alert kind="success" title="Check your mail">
					If an account uses {sent}, a link to choose a new password is on its way. It works once, for one hour.
				</Alert>
			) : (
				<form onSubmit={submit} noValidate className="form">
					<p className="muted">Enter the address of your account and we will mail you a link to choose a new password.</p>
					<Field
						label="Email"
						name="email"
						type="email"
						autoComplete="username"
						inputMode="email"
						value={email}
						onChange={(e) => setEmail(e.target.value)}
						error={fieldError}
						required
						autoFocus
					/>
					{error ? <Alert>{error}</Alert> : null}
					<button className="btn btn--primary btn--block" type="submit" disabled={busy}>
						{busy ? 'Sending…' : 'Send me a link'}
					</button>
				</form>
			)}
		</AuthFrame>
	);
}
