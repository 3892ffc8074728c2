// The app shell: header with navigation, routes, the session guard.

import { useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { IconClose, IconMenu, IconWave } from './components/icons';
import { ErrorBoundary } from './components/ErrorBoundary';
import { InboxNavLabel, NotificationBell } from './components/NotificationBell';
import { SearchBox } from './components/SearchBox';
import { Toasts } from './components/ui';
import { Link, match, navigate, useLocation } from './lib/router';
import * as session from './lib/session';
import * as uploads from './lib/uploads';
import { Account } from './pages/Account';
import { ApiKeys } from './pages/ApiKeys';
import { Audit } from './pages/Audit';
import { Billing } from './pages/Billing';
import { Collection } from './pages/Collection';
import { CollectionInvite, Collections } from './pages/Collections';
import { Login, Signup } from './pages/Auth';
import { Forgot } from './pages/Forgot';
import { Reset } from './pages/Reset';
import { Verify } from './pages/Verify';
import { Inbox } from './pages/Inbox';
import { Invitations } from './pages/Invitations';
import { MeetingPage } from './pages/MeetingPage';
import { Meetings, SkeletonRows } from './pages/Meetings';
import { Invite } from './pages/Invite';
import { Record } from './pages/Record';
import { Search } from './pages/Search';
import { SharePage } from './pages/SharePage';
import { OrgSwitcher, Team } from './pages/Team';
import { Upload } from './pages/Upload';

function useSession(): session.SessionState {
	return useSyncExternalStore(session.subscribe, session.getState);
}

// `roles`: only shown to these roles in the active organization (README's permission matrix).
const WRITERS = ['owner', 'admin', 'member'];
const ADMINS = ['owner', 'admin'];
const NAV: { to: string; label: ReactNode; match: (p: string) => boolean; roles?: string[] }[] = [
	{ to: '/meetings', label: 'Meetings', match: (p: string) => p === '/meetings' || p.startsWith('/meetings/') },
	{ to: '/collections', label: 'Collections', match: (p: string) => p === '/collections' || p.startsWith('/collections/') },
	{ to: '/inbox', label: <InboxNavLabel />, match: (p: string) => p === '/inbox' },
	{ to: '/upload', label: 'Upload', match: (p: string) => p === '/upload', roles: WRITERS },
	{ to: '/record', label: 'Record', match: (p: string) => p === '/record', roles: WRITERS },
	{ to: '/team', label: 'Team', match: (p: string) => p === '/team' },
	{ to: '/audit', label: 'Audit', match: (p: string) => p === '/audit', roles: ADMINS },
	{ to: '/api-keys', label: 'API keys', match: (p: string) => p === '/api-keys', roles: ADMINS },
	{ to: '/billing', label: 'Billing', match: (p: string) => p === '/billing', roles: ADMINS },
	{ to: '/account', label: 'Account', match: (p: string) => p === '/account' },
];

function UploadIndicator({ className = '' }: { className?: string }) {
	const items = uploads.useUploads();
	const active = items.filter((i) => uploads.isBusy(i.state));
	if (!active.length) return null;
	const total = active.reduce((n, i) => n + i.size, 0);
	const sent = active.reduce((n, i) => n + i.sent, 0);
	const pct = total ? Math.floor((sent / total) * 100) : 0;
	return (
		<Link to="/upload" className={`upload-indicator ${className}`} aria-label={`${active.length} upload${active.length > 1 ? 's' : ''} in progress, ${pct}%`}>
			<span className="upload-indicator__ring" style={{ ['--p' as string]: `${pct}%` }} aria-hidden="true" />
			<span aria-hidden="true">
				{active.length > 1 ? `${active.length} uploads · ` : 'Uploading · '}
				{pct}%
			</span>
		</Link>
	);
}

function Header({ path, user }: { path: string; user: session.SessionState['user'] }) {
	const [open, setOpen] = useState(false);
	useEffect(() => setOpen(false), [path]);
	const name = user ? [user.first_name, user.last_name].filter(Boolean).join(' ') || user.email : '';
	const role = user?.organization?.role;
	return (
		<header className="header">
			<div className="header__inner">
				<Link to="/meetings" className="brand" aria-label="IAM — your meetings">
					<span className="logo-mark" aria-hidden="true">
						<IconWave />
					</span>
					<span className="brand__name" aria-hidden="true">
						IAM
					</span>
				</Link>
				<SearchBox />
				<UploadIndicator className="upload-indicator--bar" />
				<button type="button" className="btn btn--icon btn--quiet nav-toggle" aria-expanded={open} aria-controls="main-nav" onClick={() => setOpen((o) => !o)}>
					{open ? <IconClose /> : <IconMenu />}
					<span className="visually-hidden">Menu</span>
				</button>
				<nav id="main-nav" className={`nav${open ? ' nav--open' : ''}`} aria-label="Main">
					<ul>
						{NAV.filter((n) => !n.roles || !role || n.roles.includes(role)).map((n) => (
							<li key={n.to}>
								<Link to={n.to} className="nav__link" aria-current={n.match(path) ? 'page' : undefined}>
									{n.label}
								</Link>
							</li>
						))}
					</ul>
					<div className="nav__user">
						<UploadIndicator className="upload-indicator--nav" />
						<NotificationBell />
						{user ? <OrgSwitcher key={user.organization?.id || ''} /> : null}
						<span className="nav__name" title={user?.email}>
							{name}
						</span>
						<button
							type="button"
							className="btn btn--small btn--quiet"
							onClick={() => {
								const busy = uploads.getItems().filter((i) => uploads.isBusy(i.state)).length;
								if (busy && !window.confirm(`${busy === 1 ? 'An upload is' : `${busy} uploads are`} still running. Log out and stop ${busy === 1 ? 'it' : 'them'}?`)) return;
								uploads.stopAll();
								void session.logout();
							}}
						>
							Log out
						</button>
					</div>
				</nav>
			</div>
		</header>
	);
}

function NotFound() {
	return (
		<div className="empty">
			<h1 tabIndex={-1} data-page-title>
				Page not found
			</h1>
			<p>There is nothing at this address.</p>
			<Link to="/meetings" className="btn btn--primary">
				Go to your meetings
			</Link>
		</div>
	);
}

function Routes({ path, me }: { path: string; me: string }) {
	if (path === '/' || path === '/meetings') return <Meetings />;
	const m = match('/meetings/:id', path);
	if (m) return <MeetingPage key={m.id} id={m.id} />;
	if (path === '/collections') return <Collections />;
	const c = match('/collections/:id', path);
	if (c) return <Collection key={c.id} id={c.id} />;
	if (path === '/upload') return <Upload />;
	if (path === '/record') return <Record />;
	if (path === '/search') return <Search />;
	if (path === '/api-keys') return <ApiKeys />;
	if (path === '/team') return <Team />;
	if (path === '/audit') return <Audit />;
	if (path === '/account') return <Account />;
	if (path === '/inbox') return <Inbox me={me} />;
	if (path === '/billing') return <Billing />;
	if (path === '/invitations') return <Invitations />;
	return <NotFound />;
}

const PUBLIC = new Set(['/login', '/signup', '/forgot-password']);
/** Pages shown whether or not someone is logged in here: mail links, accepting an invitation. */
const OPEN = new Set(['/verify-email', '/reset-password']);
const isInvite = (p: string) => p === '/invite' || p.startsWith('/invite/');
const isCollectionInvite = (p: string) => p === '/collection-invite';
/** The public page of a shared meeting: no session at all. */
const shareToken = (p: string) => match('/s/:token', p)?.token || null;

export function App() {
	const s = useSession();
	const loc = useLocation();
	const path = loc.path.replace(/\/+$/, '') || '/';
	const isPublic = PUBLIC.has(path);
	const isOpen = OPEN.has(path) || isInvite(path) || isCollectionInvite(path) || !!shareToken(path);
	const first = useRef(true);

	useEffect(() => {
		void session.start();
	}, []);

	// the guard
	useEffect(() => {
		if (isOpen) return;
		if (s.status === 'anonymous' && !isPublic) {
			const next = path === '/' || path === '/meetings' ? '' : `?next=${encodeURIComponent(path + loc.search)}`;
			navigate(`/login${next}`, { replace: true });
		} else if (s.status === 'authenticated' && isPublic) {
			navigate('/meetings', { replace: true });
		} else if (s.status === 'authenticated' && path === '/') {
			navigate('/meetings', { replace: true });
		}
	}, [s.status, isPublic, isOpen, path, loc.search]);

	// move focus to the new page's heading (not on the first load)
	useEffect(() => {
		if (first.current) {
			first.current = false;
			return undefined;
		}
		const t = setTimeout(() => {
			const h = document.querySelector<HTMLElement>('[data-page-title]');
			if (h && !document.activeElement?.closest('main form')) h.focus({ preventScroll: true });
		}, 0);
		return () => clearTimeout(t);
	}, [path]);

	const share = shareToken(path);
	if (share) {
		return (
			<>
				<main id="main" className="main">
					<SharePage token={share} />
				</main>
				<Toasts />
			</>
		);
	}

	if (isOpen && (isInvite(path) || isCollectionInvite(path) || s.status !== 'loading')) {
		return (
			<>
				<main id="main" className="main main--auth">
					{isInvite(path) ? <Invite /> : isCollectionInvite(path) ? <CollectionInvite /> : path === '/verify-email' ? <Verify /> : <Reset />}
				</main>
				<Toasts />
			</>
		);
	}

	if (isPublic) {
		if (s.status === 'authenticated') return null;
		return (
			<>
				<main id="main" className="main main--auth">
					{path === '/signup' ? <Signup /> : path === '/forgot-password' ? <Forgot /> : <Login />}
				</main>
				<Toasts />
			</>
		);
	}

	if (s.status !== 'authenticated') {
		// restoring the session: the shell with placeholders, so nothing jumps
		return (
			<div className="shell" aria-busy="true">
				<header className="header">
					<div className="header__inner">
						<span className="brand">
							<span className="logo-mark" aria-hidden="true">
								<IconWave />
							</span>
							<span className="brand__name">IAM</span>
						</span>
					</div>
				</header>
				<main id="main" className="main">
					{s.notice ? <p className="muted">{s.notice}</p> : null}
					<div className="page-header">
						<div className="page-header__text">
							<span className="skeleton skeleton--h1" />
							<span className="skeleton skeleton--sub" />
						</div>
					</div>
					<SkeletonRows />
				</main>
			</div>
		);
	}

	return (
		<div className="shell">
			<a href="#main" className="skip-link">
				Skip to content
			</a>
			<Header path={path} user={s.user} />
			<main id="main" className="main" tabIndex={-1}>
				<ErrorBoundary resetKey={path}>
					<Routes path={path} me={s.user?.id || ''} />
				</ErrorBoundary>
			</main>
			<Toasts />
		</div>
	);
}
