// Account: names and company, the password, and which notifications come
// in the app and by e-mail.

import { useEffect, useState, type FormEvent } from 'react';
import { Alert, Field, PageHeader, toast, useDocumentTitle } from '../components/ui';
import { get, put } from '../lib/api';
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

interface Pref {
	in_app: boolean;
	email: boolean;
}

const KINDS: { type: string; label: string }[] = [
	{ type: 'new_message', label: 'New messages' },
	{ type: 'mention', label: 'Mentions of me in messages' },
	{ type: 'transcription_completed', label: 'A transcript of mine is ready' },
	{ type: 'transcription_failed', label: 'A transcription of mine failed' },
	{ type: 'invitation', label: 'Invitations to organizations and collections' },
	{ type: 'quota_warning', label: 'Plan limits almost or fully used (owners and admins)' },
	{ type: 'billing', label: 'Payments due (owners)' },
];

function Notifications() {
	const [prefs, setPrefs] = useState<Record<string, Pref> | null>(null);
	const [error, setError] = useState<string | null>(null);
	useEffect(() => {
		get<{ preferences: Record<string, Pref> }>('/api/v1/notifications/preferences')
			.then((r) => setPrefs(r.preferences))
			.catch((e) => setError(messageOf(e)));
	}, []);

	async function change(type: string, key: keyof Pref, value: boolean) {
		const before = prefs;
		setPrefs((p) => (p ? { ...p, [type]: { ...p[type], [key]: value } } : p));
		try {
			const r = await put<{ preferences: Record<string, Pref> }>('/api/v1/notifications/preferences', { preferences: { [type]: { [key]: value } } });
			setPrefs(r.preferences);
		} catch (e) {
			setPrefs(before);
			toast(messageOf(e), 'error');
		}
	}

	return (
		<section className="card" aria-labelledby="notif-title">
			<h2 id="notif-title">Notifications</h2>
			<p className="muted">What reaches you in the app (the bell) and by e-mail. E-mail needs a mail server configured for this IAM.</p>
			{error ? <Alert>{error}</Alert> : null}
			{!prefs ? (
				<p className="muted" aria-busy="true">
					Loading…
				</p>
			) : (
				<div className="table-wrap">
					<table className="table" data-notification-prefs>
						<caption className="visually-hidden">Notification preferences</caption>
						<thead>
							<tr>
								<th scope="col">Notification</th>
								<th scope="col">In the app</th>
								<th scope="col">By e-mail</th>
							</tr>
						</thead>
						<tbody>
							{KINDS.filter((k) => prefs[k.type]).map((k) => (
								<tr key={k.type} data-pref={k.type}>
									<th scope="row" className="table__name">
										{k.label}
									</th>
									<td data-label="In the app">
										<input type="checkbox" aria-label={`${k.label}: in the app`} checked={prefs[k.type].in_app} onChange={(e) => void change(k.type, 'in_app', e.target.checked)} />
									</td>
									<td data-label="By e-mail">
										<input type="checkbox" aria-label={`${k.label}: by e-mail`} checked={prefs[k.type].email} onChange={(e) => void change(k.type, 'email', e.target.checked)} />
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			)}
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
				<Notifications />
			</div>
		</>
	);
}
