// Account: names and company, and the password.

import { useEffect, useState, type FormEvent } from 'react';
import { Alert, Field, PageHeader, useDocumentTitle } from '../components/ui';
import { put } from '../lib/api';
import { ApiError, messageOf } from '../lib/problem';
import * as session from '../lib/session';
import type { User } from '../lib/types';

function Profile({ user }: { user: User }) {
	const [form, setForm] = useState({ first_name: user.first_name || '', last_name: user.last_name || '', company_name: user.company_name || '' });
	const [errors, setErrors] = useState<Record<string, string>>({});
	const [formError, setFormError] = useState<string | null>(null);
	const [saved, setSaved] = useState(false);
	const [busy, setBusy] = useState(false);
	const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) => {
		setSaved(false);
		setForm({ ...form, [k]: e.target.value });
	};
	const dirty = form.first_name !== (user.first_name || '') || form.last_name !== (user.last_name || '') || form.company_name !== (user.company_name || '');

	async function submit(e: FormEvent) {
		e.preventDefault();
		setBusy(true);
		setErrors({});
		setFormError(null);
		try {
			const u = await put<User>('/api/v1/users/me', {
				first_name: form.first_name.trim(),
				last_name: form.last_name.trim(),
				company_name: form.company_name.trim(),
			});
			session.setUser(u);
			setSaved(true);
		} catch (err) {
			if (err instanceof ApiError && err.problem.errors.length) setErrors(err.fields());
			else setFormError(messageOf(err));
		} finally {
			setBusy(false);
		}
	}

	return (
		<section className="card" aria-labelledby="profile-title">
			<h2 id="profile-title">Profile</h2>
			<form className="form" onSubmit={submit} noValidate>
				<div className="field">
					<span className="field__label">Email</span>
					<p className="field__static" data-user-email>
						{user.email}
					</p>
				</div>
				<div className="form-row">
					<Field label="First name" name="first_name" autoComplete="given-name" value={form.first_name} onChange={set('first_name')} error={errors.first_name} maxLength={100} />
					<Field label="Last name" name="last_name" autoComplete="family-name" value={form.last_name} onChange={set('last_name')} error={errors.last_name} maxLength={100} />
				</div>
				<Field label="Company" name="company_name" autoComplete="organization" value={form.company_name} onChange={set('company_name')} error={errors.company_name} maxLength={100} />
				{formError ? <Alert>{formError}</Alert> : null}
				<div className="form-actions">
					<button className="btn btn--primary" type="submit" disabled={busy || !dirty}>
						{busy ? 'Saving…' : 'Save changes'}
					</button>
					{saved && !dirty ? (
						<span className="saved" role="status">
							Saved.
						</span>
					) : null}
				</div>
			</form>
		</section>
	);
}

function Password() {
	const [current, setCurrent] = useState('');
	const [next, setNext] = useState('');
	const [errors, setErrors] = useState<Record<string, string>>({});
	const [formError, setFormError] = useState<string | null>(null);
	const [done, setDone] = useState(false);
	const [busy, setBusy] = useState(false);

	async function submit(e: FormEvent) {
		e.preventDefault();
		const errs: Record<string, string> = {};
		if (!current) errs.current_password = 'Enter your current password.';
		if (next.length < 10) errs.password = 'Use at least 10 characters.';
		setErrors(errs);
		setFormError(null);
		setDone(false);
		if (Object.keys(errs).length) return;
		setBusy(true);
		try {
			await put<User>('/api/v1/users/me', { password: next, current_password: current });
			setCurrent('');
			setNext('');
			setDone(true);
		} catch (err) {
			if (err instanceof ApiError) {
				if (err.code === 'invalid_current_password') setErrors({ current_password: err.problem.detail });
				else if (err.problem.errors.length) setErrors(err.fields());
				else setFormError(err.problem.detail);
			} else setFormError(messageOf(err));
		} finally {
			setBusy(false);
		}
	}

	return (
		<section className="card" aria-labelledby="password-title">
			<h2 id="password-title">Password</h2>
			<form className="form" onSubmit={submit} noValidate>
				<input type="text" name="username" autoComplete="username" value={session.getState().user?.email || ''} readOnly hidden />
				<Field label="Current password" name="current_password" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} error={errors.current_password} />
				<Field label="New password" name="password" type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} error={errors.password} hint="At least 10 characters. Other devices are logged out when you change it." />
				{formError ? <Alert>{formError}</Alert> : null}
				{done ? <Alert kind="success">Password changed. Other sessions were logged out; this one stays logged in.</Alert> : null}
				<div className="form-actions">
					<button className="btn btn--primary" type="submit" disabled={busy}>
						{busy ? 'Changing…' : 'Change password'}
					</button>
				</div>
			</form>
		</section>
	);
}

export function Account() {
	useDocumentTitle('Account');
	const { user } = session.getState();
	const [, force] = useState(0);
	useEffect(() => session.subscribe(() => force((n) => n + 1)), []);
	if (!user)
		return (
			<>
				<PageHeader title="Account" />
				<div className="card" aria-busy="true" aria-label="Loading your account">
					<span className="skeleton skeleton--line" />
					<span className="skeleton skeleton--line" />
					<span className="skeleton skeleton--line" />
				</div>
			</>
		);
	const org = user.organization;
	return (
		<>
			<PageHeader title="Account" sub={org ? `${org.name} · ${org.role}` : undefined} />
			<div className="stack">
				<Profile user={user} />
				<Password />
			</div>
		</>
	);
}
