// The team: members with their roles (change, remove), invitations (invite
// with a role, pending ones with resend and revoke, the link to copy), and
// the organization switcher shown in the header.

import { useCallback, useEffect, useState, useSyncExternalStore, type FormEvent } from 'react';
import { Alert, ConfirmDialog, Field, PageHeader, toast, useDocumentTitle } from '../components/ui';
import { IconCopy, IconTrash } from '../components/icons';
import { absolute, CopyLink } from '../components/CopyLink';
import { MailState } from '../components/MailState';
import { PresenceDot } from '../components/Presence';
import { api, del, get, post } from '../lib/api';
import { formatDate } from '../lib/format';
import { ApiError, messageOf } from '../lib/problem';
import * as session from '../lib/session';
import type { TokenResponse } from '../lib/types';

export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
const RANK: Record<string, number> = { viewer: 1, member: 2, admin: 3, owner: 4 };
const ROLE_HELP: Record<Role, string> = {
	owner: 'everything, including deleting the organization',
	admin: 'manage members, keys and settings; read the audit log',
	member: 'upload, transcribe and edit meetings',
	viewer: 'read meetings and transcripts',
};

export interface OrgInfo {
	id: string;
	name: string;
	role: Role;
	personal: boolean;
	active: boolean;
	members: number;
}

interface Member {
	user_id: string;
	email: string;
	first_name: string;
	last_name: string;
	role: Role;
	joined_at: string;
	you: boolean;
}

interface Invitation {
	id: string;
	email: string;
	role: Role;
	status: string;
	invited_by: { id: string; email: string } | null;
	created_at: string;
	expires_at: string;
	token?: string;
	accept_url?: string;
	mail?: string;
}

/** Switch to another organization: a new token pair, then the app starts afresh in it. */
export async function switchTo(orgId: string): Promise<void> {
	const body = await post<TokenResponse>('/api/v1/auth/switch-org', { organization_id: orgId });
	session.signedIn(body);
	window.location.assign('/meetings');
}

/** The header's organization menu: the active one, the others, and "New organization…". */
export function OrgSwitcher() {
	const [orgs, setOrgs] = useState<OrgInfo[] | null>(null);
	const [busy, setBusy] = useState(false);
	useEffect(() => {
		let live = true;
		get<{ data: OrgInfo[] }>('/api/v1/organizations')
			.then((p) => live && setOrgs(p.data))
			.catch(() => live && setOrgs([]));
		return () => {
			live = false;
		};
	}, []);
	if (!orgs || orgs.length === 0) return null;
	const active = orgs.find((o) => o.active);
	return (
		<label className="org-switcher">
			<span className="visually-hidden">Organization</span>
			<select
				className="select select--small"
				style={{ maxWidth: '14rem' }}
				value={active?.id || ''}
				disabled={busy}
				data-org-switcher
				onChange={async (e) => {
					const v = e.target.value;
					setBusy(true);
					try {
						if (v === '__new') {
							const name = window.prompt('Name of the new organization');
							if (!name || !name.trim()) {
								setBusy(false);
								return;
							}
							const o = await post<OrgInfo>('/api/v1/organizations', { name: name.trim() });
							await switchTo(o.id);
						} else if (v && v !== active?.id) {
							await switchTo(v);
						}
					} catch (err) {
						toast(messageOf(err), 'error');
						setBusy(false);
					}
				}}
			>
				{orgs.map((o) => (
					<option key={o.id} value={o.id}>
						{o.name} ({o.role})
					</option>
				))}
				<option value="__new">New organization…</option>
			</select>
		</label>
	);
}

function InviteLink({ inv, onDone }: { inv: Invitation; onDone: () => void }) {
	return (
		<div className="card new-key" role="region" aria-labelledby="invite-link-title">
			<h2 id="invite-link-title">Invitation for {inv.email}</h2>
			<p className="new-key__warn">
				{inv.mail === 'queued' ? (
					<>
						<strong>An e-mail with this link is on its way to {inv.email}.</strong> You can also copy it and send it yourself. It works once, until {formatDate(inv.expires_at)}.
					</>
				) : (
					<>
						<strong>This server sends no e-mail.</strong> Copy this link and send it to {inv.email} yourself. It works once, until {formatDate(inv.expires_at)}.
					</>
				)}
			</p>
			<CopyLink label="Invitation link" value={absolute(inv.accept_url || '')} data="data-invite-link" primary>
				<IconCopy /> Copy link
			</CopyLink>
			<button type="button" className="btn" onClick={onDone}>
				Done
			</button>
		</div>
	);
}

export function Team() {
	useDocumentTitle('Team');
	const me = useSyncExternalStore(session.subscribe, session.getState).user;
	const [org, setOrg] = useState<OrgInfo | null>(null);
	const [members, setMembers] = useState<Member[] | null>(null);
	const [invites, setInvites] = useState<Invitation[] | null>(null);
	const [invitesMore, setInvitesMore] = useState<string | null>(null);
	const [loadError, setLoadError] = useState<string | null>(null);
	const [email, setEmail] = useState('');
	const [role, setRole] = useState<Role>('member');
	const [errors, setErrors] = useState<Record<string, string>>({});
	const [busy, setBusy] = useState(false);
	const [shown, setShown] = useState<Invitation | null>(null);
	const [toRemove, setToRemove] = useState<Member | null>(null);
	const [removeError, setRemoveError] = useState<string | null>(null);

	const orgId = me?.organization?.id;
	const myRole = (org?.role || me?.organization?.role || 'viewer') as Role;
	const manages = RANK[myRole] >= RANK.admin;

	const load = useCallback(async () => {
		if (!orgId) return;
		setLoadError(null);
		try {
			const [o, m] = await Promise.all([get<OrgInfo>(`/api/v1/organizations/${orgId}`), get<{ data: Member[] }>(`/api/v1/organizations/${orgId}/members`)]);
			setOrg(o);
			setMembers(m.data);
			if (RANK[o.role] >= RANK.admin) {
				const page = await get<{ data: Invitation[]; next_cursor: string | null }>(`/api/v1/organizations/${orgId}/invitations?limit=100`);
				setInvites(page.data);
				setInvitesMore(page.next_cursor);
			}
		} catch (e) {
			setLoadError(messageOf(e));
		}
	}, [orgId]);
	useEffect(() => {
		void load();
	}, [load]);

	async function invite(e: FormEvent) {
		e.preventDefault();
		if (!email.trim()) {
			setErrors({ email: 'Enter the address to invite.' });
			return;
		}
		setErrors({});
		setBusy(true);
		try {
			const inv = await post<Invitation>(`/api/v1/organizations/${orgId}/invitations`, { email: email.trim(), role });
			setShown(inv);
			setEmail('');
			setInvites((l) => [{ ...inv, token: undefined }, ...(l || []).filter((i) => i.email !== inv.email)]);
		} catch (err) {
			if (err instanceof ApiError) {
				const f = err.fields();
				setErrors(Object.keys(f).length ? f : { email: err.problem.detail });
			} else setErrors({ email: messageOf(err) });
		} finally {
			setBusy(false);
		}
	}

	async function moreInvites() {
		if (!invitesMore) return;
		try {
			const page = await get<{ data: Invitation[]; next_cursor: string | null }>(`/api/v1/organizations/${orgId}/invitations?limit=100&cursor=${encodeURIComponent(invitesMore)}`);
			setInvites((l) => [...(l || []), ...page.data]);
			setInvitesMore(page.next_cursor);
		} catch (e) {
			toast(messageOf(e), 'error');
		}
	}

	async function resend(i: Invitation) {
		try {
			const inv = await post<Invitation>(`/api/v1/organizations/${orgId}/invitations/${i.id}/resend`);
			setShown(inv);
			setInvites((l) => [{ ...inv, token: undefined }, ...(l || []).filter((x) => x.id !== i.id)]);
			toast(`A new link for ${i.email}; the old one no longer works.`);
		} catch (e) {
			toast(messageOf(e), 'error');
		}
	}

	async function revoke(i: Invitation) {
		try {
			await del(`/api/v1/organizations/${orgId}/invitations/${i.id}`);
			setInvites((l) => (l || []).filter((x) => x.id !== i.id));
			if (shown?.email === i.email) setShown(null);
			toast(`Invitation for ${i.email} revoked.`);
		} catch (e) {
			toast(messageOf(e), 'error');
		}
	}

	async function changeRole(m: Member, r: Role) {
		try {
			const up = await api<Member>(`/api/v1/organizations/${orgId}/members/${m.user_id}`, { method: 'PATCH', json: { role: r } });
			setMembers((l) => (l || []).map((x) => (x.user_id === m.user_id ? { ...x, role: up.role } : x)));
			toast(`${m.email} is now ${up.role}.`);
		} catch (e) {
			toast(messageOf(e), 'error');
			setMembers((l) => [...(l || [])]);
		}
	}

	async function remove() {
		if (!toRemove) return;
		setRemoveError(null);
		try {
			if (toRemove.you) {
				const body = await post<TokenResponse | undefined>(`/api/v1/organizations/${orgId}/leave`);
				if (body && body.access_token) {
					session.signedIn(body);
					window.location.assign('/meetings');
				} else void session.logout();
				return;
			}
			await del(`/api/v1/organizations/${orgId}/members/${toRemove.user_id}`);
			setMembers((l) => (l || []).filter((x) => x.user_id !== toRemove.user_id));
			toast(`${toRemove.email} was removed.`);
			setToRemove(null);
		} catch (e) {
			setRemoveError(messageOf(e));
		}
	}

	return (
		<>
			<PageHeader title="Team" sub={org ? `${org.name} · you are ${myRole}` : 'Members of this organization and their roles.'} />
			{loadError ? (
				<Alert
					title="The team could not be loaded."
					action={
						<button type="button" className="btn" onClick={() => void load()}>
							Try again
						</button>
					}
				>
					{loadError}
				</Alert>
			) : null}

			{shown ? <InviteLink inv={shown} onDone={() => setShown(null)} /> : null}

			{manages ? (
				<form className="card inline-form" onSubmit={invite} noValidate aria-label="Invite someone" aria-describedby="role-help">
					<Field label="Invite by e-mail" name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} error={errors.email} placeholder="colleague@example.com" data-invite-email />
					<label className="field">
						<span>Role</span>
						<select className="select" value={role} onChange={(e) => setRole(e.target.value as Role)} data-invite-role>
							{ROLES.filter((r) => RANK[r] <= RANK[myRole]).map((r) => (
								<option key={r} value={r} title={ROLE_HELP[r]}>
									{r}
								</option>
							))}
						</select>
					</label>
					<button type="submit" className="btn btn--primary" disabled={busy}>
						{busy ? 'Inviting…' : 'Invite'}
					</button>
					<p id="role-help" className="field__hint" style={{ flexBasis: '100%' }}>
						{ROLES.filter((r) => RANK[r] <= RANK[myRole])
							.map((r) => `${r}: ${ROLE_HELP[r]}`)
							.join(' · ')}
					</p>
				</form>
			) : null}

			<h2>Members</h2>
			{members === null ? (
				<div className="table-skeleton" aria-busy="true" aria-label="Loading members">
					<span className="skeleton skeleton--row" />
				</div>
			) : (
				<div className="table-wrap">
					<table className="table" data-members>
						<caption className="visually-hidden">Members</caption>
						<thead>
							<tr>
								<th scope="col">Member</th>
								<th scope="col">Role</th>
								<th scope="col">Joined</th>
								<th scope="col">
									<span className="visually-hidden">Actions</span>
								</th>
							</tr>
						</thead>
						<tbody>
							{members.map((m) => {
								const name = [m.first_name, m.last_name].filter(Boolean).join(' ');
								const canEdit = manages && RANK[m.role] <= RANK[myRole];
								return (
									<tr key={m.user_id} data-member={m.email}>
										<th scope="row" className="table__name">
											<PresenceDot id={m.user_id} /> {name || m.email}
											{name ? <span className="muted"> · {m.email}</span> : null}
											{m.you ? <span className="muted"> (you)</span> : null}
										</th>
										<td data-label="Role">
											{canEdit ? (
												<select className="select select--small" aria-label={`Role of ${m.email}`} value={m.role} onChange={(e) => void changeRole(m, e.target.value as Role)} data-member-role>
													{ROLES.filter((r) => RANK[r] <= RANK[myRole]).map((r) => (
														<option key={r} value={r}>
															{r}
														</option>
													))}
												</select>
											) : (
												m.role
											)}
										</td>
										<td data-label="Joined">{formatDate(m.joined_at)}</td>
										<td className="table__actions">
											{m.you || canEdit ? (
												<button type="button" className="btn btn--small btn--quiet btn--danger-text" onClick={() => setToRemove(m)}>
													<IconTrash /> {m.you ? 'Leave' : 'Remove'}
												</button>
											) : null}
										</td>
									</tr>
								);
							})}
						</tbody>
					</table>
				</div>
			)}

			{manages ? (
				<>
					<h2>Pending invitations</h2>
					{invites && invites.length ? (
						<div className="table-wrap">
							<table className="table" data-invitations>
								<caption className="visually-hidden">Pending invitations</caption>
								<thead>
									<tr>
										<th scope="col">Address</th>
										<th scope="col">Role</th>
										<th scope="col">Expires</th>
										<th scope="col">E-mail</th>
										<th scope="col">
											<span className="visually-hidden">Actions</span>
										</th>
									</tr>
								</thead>
								<tbody>
									{invites.map((i) => (
										<tr key={i.id} data-invitation={i.email}>
											<th scope="row" className="table__name">
												{i.email}
											</th>
											<td data-label="Role">{i.role}</td>
											<td data-label="Expires">{formatDate(i.expires_at)}</td>
											<td data-label="E-mail">
												<MailState state={i.mail} />
											</td>
											<td className="table__actions">
												<button type="button" className="btn btn--small btn--quiet" onClick={() => void resend(i)}>
													New link
												</button>
												<button type="button" className="btn btn--small btn--quiet btn--danger-text" onClick={() => void revoke(i)}>
													Revoke
												</button>
											</td>
										</tr>
									))}
								</tbody>
							</table>
							{invitesMore ? (
								<button type="button" className="btn btn--small" onClick={() => void moreInvites()} data-invitations-more>
									Show more invitations
								</button>
							) : null}
						</div>
					) : (
						<p className="muted">No pending invitations.</p>
					)}
				</>
			) : null}

			<ConfirmDialog
				open={toRemove !== null}
				title={toRemove?.you ? `Leave ${org?.name || 'this organization'}?` : `Remove ${toRemove?.email || ''}?`}
				confirmLabel={toRemove?.you ? 'Leave' : 'Remove'}
				danger
				error={removeError}
				onConfirm={() => void remove()}
				onCancel={() => {
					setToRemove(null);
					setRemoveError(null);
				}}
			>
				<p>{toRemove?.you ? 'You lose access to its meetings at once. An admin can invite you again.' : 'They lose access at once: their sessions and API keys for this organization stop working.'}</p>
			</ConfirmDialog>
		</>
	);
}
