// Log in and sign up.

import { useEffect, useState, type FormEvent } from 'react';
import { Alert, Field, useDocumentTitle, useTick } from '../components/ui';
import { IconWave } from '../components/icons';
import { api } from '../lib/api';
import { ApiError, messageOf } from '../lib/problem';
import { Link, navigate, useLocation } from '../lib/router';
import * as session from '../lib/session';
import type { TokenResponse } from '../lib/types';

function nextPath(search: string): string {
	const n = new URLSearchParams(search).get('next') || '';
	// only paths inside the app
	return /^\/(?!\/)[^\s]*$/.test(n) && !n.startsWith('/login') && !n.startsWith('/signup') ? n : '/meetings';
}

/** One-time codes already exchanged by this page. */
const exchanged = new Set<string>();

interface OidcProvider {
	name: string;
	label: string;
	start_url: string;
}

/** "Sign in with ..." buttons for the providers the server has (none: nothing shown). */
function OidcButtons() {
	const [providers, setProviders] = useState<OidcProvider[]>([]);
	useEffect(() => {
		const ctl = new AbortController();
		api<{ data: OidcProvider[] }>('/api/v1/auth/oidc', { anonymous: true, signal: ctl.signal })
			.then((b) => setProviders(b.data || []))
			.catch(() => setProviders([]));
		return () => ctl.abort();
	}, []);
	if (!providers.length) return null;
	return (
		<div className="form oidc">
			<p className="muted" style={{ textAlign: 'center', margin: 0 }}>
				or
			</p>
			{providers.map((p) => (
				<a key={p.name} className="btn btn--block" href={p.start_url}>
					Sign in with {p.label}
				</a>
			))}
		</div>
	);
}

export function AuthFrame({ title, children, footer }: { title: string; children: React.ReactNode; footer: React.ReactNode }) {
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
			<p className="auth__footer">{footer}</p>
		</div>
	);
}

/** Seconds left of a 429's Retry-After, counting down. */
function useCooldown(): [number, (s: number) => void] {
	const [until, setUntil] = useState(0);
	useTick(1000, until > Date.now());
	const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
	return [left, (s: number) => setUntil(Date.now() + s * 1000)];
}

function waitText(s: number): string {
	if (s >= 120) return `${Math.ceil(s / 60)} minutes`;
	return `${s} second${s === 1 ? '' : 's'}`;
}

export function Login() {
	useDocumentTitle('Log in');
	const loc = useLocation();
	const { notice } = session.getState();
	const [email, setEmail] = useState('');
	const [password, setPassword] = useState('');
	const [errors, setErrors] = useState<Record<string, string>>({});
	const [formError, setFormError] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);
	const [cooldown, startCooldown] = useCooldown();
	const [shownNotice] = useState(notice || loc.state?.flash || null);

	useEffect(() => {
		session.clearNotice();
	}, []);

	// Back from a provider: exchange the one-time code for a session, or show why not.
	const params = new URLSearchParams(loc.search);
	const oidcCode = params.get('oidc_code');
	const oidcError = params.get('oidc_error') ? params.get('message') || 'Signing in with that provider did not work. Try again.' : null;
	useEffect(() => {
		// once per code (a second exchange would only be refused)
		if (!oidcCode || exchanged.has(oidcCode)) return;
		exchanged.add(oidcCode);
		setBusy(true);
		api<TokenResponse>('/api/v1/auth/oidc/exchange', { method: 'POST', json: { code: oidcCode }, anonymous: true })
			.then((body) => {
				session.signedIn(body);
				navigate('/meetings', { replace: true });
			})
			.catch((err) => {
				setFormError(err instanceof ApiError ? err.problem.detail : messageOf(err));
				setBusy(false);
				navigate('/login', { replace: true });
			});
	}, [oidcCode]);

	async function submit(e: FormEvent) {
		e.preventDefault();
		const errs: Record<string, string> = {};
		if (!email.trim()) errs.email = 'Enter your email address.';
		if (!password) errs.password = 'Enter your password.';
		setErrors(errs);
		setFormError(null);
		if (Object.keys(errs).length) return;
		setBusy(true);
		try {
			const body = await api<TokenResponse>('/api/v1/auth/login', { method: 'POST', json: { email: email.trim(), password }, anonymous: true });
			session.signedIn(body);
			navigate(nextPath(loc.search), { replace: true });
		} catch (err) {
			if (err instanceof ApiError) {
				if (err.status === 429) {
					const s = err.problem.retryAfter ?? 60;
					startCooldown(s);
					setFormError(`Too many failed attempts. Wait ${waitText(s)} before trying again.`);
				} else {
					setErrors(err.fields());
					if (!err.problem.errors.length) setFormError(err.problem.detail);
				}
			} else setFormError(messageOf(err));
			setBusy(false);
		}
	}

	return (
		<AuthFrame
			title="Log in"
			footer={
				<>
					New to IAM? <Link to="/signup">Create an account</Link>
				</>
			}
		>
			{shownNotice ? <Alert kind="info">{shownNotice}</Alert> : null}
			{oidcError ? <Alert>{oidcError}</Alert> : null}
			<form onSubmit={submit} noValidate className="form">
				<Field
					label="Email"
					id="email"
					name="email"
					type="email"
					autoComplete="username"
					inputMode="email"
					value={email}
					onChange={(e) => setEmail(e.target.value)}
					error={errors.email}
					required
					autoFocus
				/>
				<Field
					label="Password"
					id="password"
					name="password"
					type="password"
					autoComplete="current-password"
					value={password}
					onChange={(e) => setPassword(e.target.value)}
					error={errors.password}
					required
				/>
				{formError ? (
					<Alert>
						{cooldown > 0 && formError.startsWith('Too many') ? `Too many failed attempts. Try again in ${waitText(cooldown)}.` : formError}
					</Alert>
				) : null}
				<button id="login-button" className="btn btn--primary btn--block" type="submit" disabled={busy || cooldown > 0}>
					{busy ? 'Logging in…' : cooldown > 0 ? `Try again in ${cooldown} s` : 'Log in'}
				</button>
				<p className="muted">
					<Link to="/forgot-password">Forgot your password?</Link>
				</p>
			</form>
			<OidcButtons />
		</AuthFrame>
	);
}

const FIELD_OF: Record<string, string> = { company: 'company_name' };

export function Signup() {
	useDocumentTitle('Create your account');
	const loc = useLocation();
	const [form, setForm] = useState({ first_name: '', last_name: '', email: '', company_name: '', password: '' });
	const [errors, setErrors] = useState<Record<string, string>>({});
	const [formError, setFormError] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);
	const [cooldown, startCooldown] = useCooldown();

	const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [k]: e.target.value });

	async function submit(e: FormEvent) {
		e.preventDefault();
		const errs: Record<string, string> = {};
		if (!form.email.trim()) errs.email = 'Enter your email address.';
		else if (!/^[^\s@]+@[^\s@]+$/.test(form.email.trim())) errs.email = 'Enter an email address like name@example.com.';
		if (form.password.length < 10) errs.password = 'Use at least 10 characters.';
		setErrors(errs);
		setFormError(null);
		if (Object.keys(errs).length) return;
		setBusy(true);
		const json: Record<string, string> = { email: form.email.trim(), password: form.password };
		for (const k of ['first_name', 'last_name', 'company_name'] as const) if (form[k].trim()) json[k] = form[k].trim();
		try {
			const body = await api<TokenResponse>('/api/v1/auth/register', { method: 'POST', json, anonymous: true });
			session.signedIn(body);
			navigate(nextPath(loc.search), { replace: true, state: { welcome: true } });
		} catch (err) {
			if (err instanceof ApiError) {
				if (err.status === 429) {
					const s = err.problem.retryAfter ?? 60;
					startCooldown(s);
					setFormError(`Too many attempts. Wait ${waitText(s)} before trying again.`);
				} else if (err.code === 'email_taken') {
					setErrors({ email: err.problem.detail });
				} else {
					const f = err.fields();
					const mapped: Record<string, string> = {};
					for (const [k, v] of Object.entries(f)) mapped[FIELD_OF[k] || k] = v;
					setErrors(mapped);
					const known = ['email', 'password', 'first_name', 'last_name', 'company_name'];
					if (!Object.keys(mapped).some((k) => known.includes(k))) setFormError(err.problem.detail);
				}
			} else setFormError(messageOf(err));
			setBusy(false);
		}
	}

	return (
		<AuthFrame
			title="Create your account"
			footer={
				<>
					Already have an account? <Link to="/login">Log in</Link>
				</>
			}
		>
			<form onSubmit={submit} noValidate className="form">
				<div className="form-row">
					<Field label="First name" name="first_name" autoComplete="given-name" value={form.first_name} onChange={set('first_name')} error={errors.first_name} autoFocus />
					<Field label="Last name" name="last_name" autoComplete="family-name" value={form.last_name} onChange={set('last_name')} error={errors.last_name} />
				</div>
				<Field label="Work email" name="email" type="email" autoComplete="email" inputMode="email" value={form.email} onChange={set('email')} error={errors.email} required />
				<Field label="Company" name="company_name" autoComplete="organization" value={form.company_name} onChange={set('company_name')} error={errors.company_name} hint="Optional. Shown on your workspace." />
				<Field
					label="Password"
					name="password"
					type="password"
					autoComplete="new-password"
					value={form.password}
					onChange={set('password')}
					error={errors.password}
					hint="At least 10 characters."
					required
				/>
				{formError ? <Alert>{cooldown > 0 ? `Too many attempts. Try again in ${waitText(cooldown)}.` : formError}</Alert> : null}
				<button className="btn btn--primary btn--block" type="submit" disabled={busy || cooldown > 0}>
					{busy ? 'Creating your account…' : 'Create account'}
				</button>
			</form>
		</AuthFrame>
	);
}
