// The Share dialog. For a collection: the people it is shared with and their
// roles, inviting by e-mail (owner / editor / viewer), revoking and removing.
// For a meeting: its public read-only links (create with an optional expiry,
// copy, revoke) and putting it in a collection.

import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api, del, get, post } from '../lib/api';
import { formatDate } from '../lib/format';
import { ApiError, messageOf } from '../lib/problem';
import type { Page } from '../lib/types';
import { Alert, Field, toast } from './ui';
import { absolute, CopyLink } from './CopyLink';
import { MailState } from './MailState';

export type CollRole = 'owner' | 'editor' | 'viewer';
export const COLL_ROLES: CollRole[] = ['viewer', 'editor', 'owner'];
export const COLL_ROLE_HELP: Record<CollRole, string> = {
	viewer: 'reads transcripts and plays audio',
	editor: 'also edits transcripts and adds meetings',
	owner: 'also shares, renames and deletes the collection',
};

export interface Collection {
	id: string;
	name: string;
	organization: { id: string; name: string };
	meeting_count: number;
	my_role: CollRole;
	created_at: string;
	updated_at: string;
}

interface Person {
	user_id: string;
	email: string;
	role: CollRole;
}
interface Pending {
	id: string;
	email: string;
	role: CollRole;
	expires_at: string;
	token?: string;
	accept_url?: string;
	mail?: string;
}
interface ShareLink {
	id: string;
	created_by: string | null;
	created_at: string;
	expires_at: string | null;
	token?: string;
	url?: string;
}

function People({ collectionId }: { collectionId: string }) {
	const [people, setPeople] = useState<Person[] | null>(null);
	const [pending, setPending] = useState<Pending[]>([]);
	const [fresh, setFresh] = useState<Pending | null>(null);
	const [email, setEmail] = useState('');
	const [role, setRole] = useState<CollRole>('viewer');
	const [errors, setErrors] = useState<Record<string, string>>({});
	const [error, setError] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);
	const base = `/api/v1/collections/${collectionId}`;

	async function load() {
		try {
			const r = await get<{ members: Person[]; invitations: Pending[] }>(`${base}/people`);
			setPeople(r.members);
			setPending(r.invitations);
		} catch (e) {
			setError(messageOf(e));
		}
	}
	useEffect(() => {
		void load();
		// eslint-disable-next-line react-hooks/exhaustive-deps
	}, [collectionId]);

	async function invite(e: FormEvent) {
		e.preventDefault();
		setBusy(true);
		setErrors({});
		setError(null);
		try {
			const inv = await post<Pending>(`${base}/invitations`, { email: email.trim(), role });
			setFresh(inv);
			setEmail('');
			toast(inv.mail === 'queued' ? `Invitation mailed to ${inv.email}.` : `Invitation made for ${inv.email}: copy the link.`);
			await load();
		} catch (err) {
			if (err instanceof ApiError && Object.keys(err.fields()).length) setErrors(err.fields());
			else setError(messageOf(err));
		} finally {
			setBusy(false);
		}
	}

	async function remove(path: string, what: string) {
		try {
			await del(path);
			toast(what);
			await load();
		} catch (err) {
			setError(messageOf(err));
		}
	}

	return (
		<section aria-label="People" data-share-people>
			<h3 className="share__heading">People</h3>
			{error ? <Alert>{error}</Alert> : null}
			<form className="share__invite" onSubmit={invite} noValidate aria-label="Share with someone">
				<Field label="E-mail" name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} error={errors.email} placeholder="someone@example.com" data-share-email />
				<label className="field">
					<span>Role</span>
					<select className="select" value={role} onChange={(e) => setRole(e.target.value as CollRole)} data-share-role>
						{COLL_ROLES.map((r) => (
							<option key={r} value={r} title={COLL_ROLE_HELP[r]}>
								{r}
							</option>
						))}
					</select>
				</label>
				<button type="submit" className="btn btn--primary" disabled={busy || !email.trim()} data-share-invite>
					{busy ? 'Sharing…' : 'Share'}
				</button>
			</form>
			<p className="field__hint">A {role} {COLL_ROLE_HELP[role]}. People outside your organization see this collection only.</p>
			{fresh?.accept_url ? (
				<div data-share-invite-link>
					<p className="muted">Invitation link for {fresh.email} (works once, for 7 days):</p>
					<CopyLink label="Invitation link" value={absolute(fresh.accept_url)} data="data-invite-url" />
				</div>
			) : null}
			{people === null ? (
				<p className="muted">Loading…</p>
			) : (
				<ul className="share__list">
					{people.map((p) => (
						<li key={p.user_id} data-share-person={p.email}>
							<span className="share__who">{p.email}</span>
							<span className="share__role">{p.role}</span>
							<button type="button" className="btn btn--small btn--quiet btn--danger-text" onClick={() => void remove(`${base}/people/${p.user_id}`, `${p.email} no longer has access.`)}>
								Remove
							</button>
						</li>
					))}
					{pending.map((p) => (
						<li key={p.id} data-share-pending={p.email}>
							<span className="share__who">{p.email}</span>
							<span className="share__role">
								{p.role} · invited · <MailState state={p.mail} />
							</span>
							<button type="button" className="btn btn--small btn--quiet btn--danger-text" onClick={() => void remove(`${base}/invitations/${p.id}`, `Invitation for ${p.email} revoked.`)}>
								Revoke
							</button>
						</li>
					))}
				</ul>
			)}
		</section>
	);
}

function PublicLinks({ meetingId }: { meetingId: string }) {
	const [links, setLinks] = useState<ShareLink[] | null>(null);
	const [fresh, setFresh] = useState<ShareLink | null>(null);
	const [expiry, setExpiry] = useState('');
	const [error, setError] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);
	const base = `/api/v1/meetings/${meetingId}/shares`;

	const [allowed, setAllowed] = useState(true);
	async function load() {
		try {
			setLinks((await get<Page<ShareLink>>(base)).data);
		} catch (e) {
			// A meeting shared with me through a collection (404), or a role without `share` (403).
			if (e instanceof ApiError && (e.problem.status === 404 || e.problem.status === 403)) setAllowed(false);
			else setError(messageOf(e));
		}
	}
	useEffect(() => {
		void load();
		// eslint-disable-next-line react-hooks/exhaustive-deps
	}, [meetingId]);

	async function create() {
		setBusy(true);
		setError(null);
		try {
			const body = expiry ? { expires_at: new Date(`${expiry}T23:59:59`).toISOString() } : {};
			const l = await post<ShareLink>(base, body);
			setFresh(l);
			await load();
		} catch (e) {
			setError(messageOf(e));
		} finally {
			setBusy(false);
		}
	}

	async function revoke(id: string) {
		try {
			await api<void>(`${base}/${id}`, { method: 'DELETE' });
			if (fresh?.id === id) setFresh(null);
			toast('Link revoked: it no longer opens.');
			await load();
		} catch (e) {
			setError(messageOf(e));
		}
	}

	if (!allowed) {
		return (
			<section aria-label="Public link" data-share-public>
				<h3 className="share__heading">Public link</h3>
				<p className="muted">Only members of this meeting's organization who may share make public links to it.</p>
			</section>
		);
	}
	return (
		<section aria-label="Public link" data-share-public>
			<h3 className="share__heading">Public link</h3>
			<p className="muted">Anyone with the link sees this meeting's transcript and plays its audio, without logging in. Nothing else.</p>
			{error ? <Alert>{error}</Alert> : null}
			<div className="share__invite">
				<label className="field">
					<span>Expires (optional)</span>
					<input type="date" className="input" value={expiry} min={new Date(Date.now() + 864e5).toISOString().slice(0, 10)} onChange={(e) => setExpiry(e.target.value)} data-share-expiry />
				</label>
				<button type="button" className="btn btn--primary" onClick={() => void create()} disabled={busy} data-share-create-link>
					{busy ? 'Creating…' : 'Create link'}
				</button>
			</div>
			{fresh?.url ? <CopyLink label="Public link" value={absolute(fresh.url)} data="data-share-link-url" /> : null}
			{links && links.length ? (
				<ul className="share__list">
					{links.map((l) => (
						<li key={l.id} data-share-link={l.id}>
							<span className="share__who">Link made {formatDate(l.created_at)}</span>
							<span className="share__role">{l.expires_at ? `expires ${formatDate(l.expires_at)}` : 'no expiry'}</span>
							<button type="button" className="btn btn--small btn--quiet btn--danger-text" onClick={() => void revoke(l.id)} data-share-revoke>
								Revoke
							</button>
						</li>
					))}
				</ul>
			) : links ? (
				<p className="muted">No live links.</p>
			) : null}
		</section>
	);
}

function AddToCollection({ meetingId }: { meetingId: string }) {
	const [colls, setColls] = useState<Collection[]>([]);
	const [pick, setPick] = useState('');
	const [error, setError] = useState<string | null>(null);
	useEffect(() => {
		get<Page<Collection>>('/api/v1/collections?limit=100')
			.then((p) => setColls(p.data.filter((c) => c.my_role !== 'viewer')))
			.catch(() => setColls([]));
	}, []);
	if (!colls.length) return null;
	return (
		<section aria-label="Collections">
			<h3 className="share__heading">Add to a collection</h3>
			{error ? <Alert>{error}</Alert> : null}
			<div className="share__invite">
				<label className="field">
					<span>Collection</span>
					<select className="select" value={pick} onChange={(e) => setPick(e.target.value)} data-share-collection>
						<option value="">Choose…</option>
						{colls.map((c) => (
							<option key={c.id} value={c.id}>
								{c.name}
							</option>
						))}
					</select>
				</label>
				<button
					type="button"
					className="btn"
					disabled={!pick}
					onClick={async () => {
						try {
							await api<void>(`/api/v1/collections/${pick}/meetings/${meetingId}`, { method: 'PUT' });
							toast('Added to the collection: the people it is shared with see this meeting.');
						} catch (e) {
							setError(messageOf(e));
						}
					}}
				>
					Add
				</button>
			</div>
		</section>
	);
}

export function ShareDialog({ open, title, collectionId, meetingId, onClose }: { open: boolean; title: string; collectionId?: string; meetingId?: string; onClose: () => void }) {
	const ref = useRef<HTMLDialogElement>(null);
	const titleId = useId();
	useEffect(() => {
		const d = ref.current;
		if (!d) return;
		if (open && !d.open) d.showModal();
		if (!open && d.open) d.close();
	}, [open]);
	return (
		<dialog
			ref={ref}
			className="dialog dialog--wide share"
			aria-labelledby={titleId}
			onCancel={(e) => {
				e.preventDefault();
				onClose();
			}}
			data-share-dialog
		>
			<h2 id={titleId} className="dialog__title">
				{title}
			</h2>
			{open && collectionId ? <People collectionId={collectionId} /> : null}
			{open && meetingId ? <PublicLinks meetingId={meetingId} /> : null}
			{open && meetingId ? <AddToCollection meetingId={meetingId} /> : null}
			<div className="dialog__actions">
				<button type="button" className="btn" onClick={onClose}>
					Done
				</button>
			</div>
		</dialog>
	);
}
