// My invitations: to organizations and to collections, addressed to my
// e-mail. With a verified address they are accepted here; otherwise the
// link that was sent (it proves the address) is the way in.

import { useEffect, useState } from 'react';
import { Alert, PageHeader, toast, useDocumentTitle } from '../components/ui';
import { get, post } from '../lib/api';
import { formatDate } from '../lib/format';
import { messageOf } from '../lib/problem';
import { navigate } from '../lib/router';
import * as session from '../lib/session';
import type { TokenResponse } from '../lib/types';

interface Mine {
	id: string;
	role: string;
	expires_at: string;
	invited_by: { id: string; email: string } | string | null;
	organization?: { id: string; name: string };
	collection?: { id: string; name: string };
}
interface MineList {
	data: Mine[];
	can_accept: boolean;
}

const inviter = (m: Mine) => (typeof m.invited_by === 'string' ? m.invited_by : m.invited_by?.email || 'Someone');

export function Invitations() {
	useDocumentTitle('Invitations');
	const [orgs, setOrgs] = useState<MineList | null>(null);
	const [colls, setColls] = useState<MineList | null>(null);
	const [error, setError] = useState<string | null>(null);
	const [busy, setBusy] = useState<string | null>(null);

	async function load() {
		try {
			const [a, b] = await Promise.all([get<MineList>('/api/v1/invitations/mine'), get<MineList>('/api/v1/collection-invitations/mine')]);
			setOrgs(a);
			setColls(b);
		} catch (e) {
			setError(messageOf(e));
		}
	}
	useEffect(() => {
		void load();
	}, []);

	async function acceptOrg(m: Mine) {
		setBusy(m.id);
		try {
			const body = await post<TokenResponse>(`/api/v1/invitations/mine/${m.id}/accept`);
			session.signedIn(body); // the reply is a session in the organization joined
			toast(`You joined ${m.organization?.name || 'the organization'}.`);
			navigate('/meetings');
		} catch (e) {
			toast(messageOf(e), 'error');
			void load();
		} finally {
			setBusy(null);
		}
	}

	async function acceptColl(m: Mine) {
		setBusy(m.id);
		try {
			await post(`/api/v1/collection-invitations/mine/${m.id}/accept`);
			toast(`${m.collection?.name || 'The collection'} is now in your collections.`);
			navigate(`/collections/${m.collection?.id}`);
		} catch (e) {
			toast(messageOf(e), 'error');
			void load();
		} finally {
			setBusy(null);
		}
	}

	const all = [...(orgs?.data || []).map((m) => ({ m, kind: 'org' as const })), ...(colls?.data || []).map((m) => ({ m, kind: 'coll' as const }))];
	const canAccept = !!orgs?.can_accept;

	return (
		<>
			<PageHeader title="Invitations" sub="Organizations and collections people invited you to." />
			{error ? <Alert>{error}</Alert> : null}
			{orgs && colls && !canAccept && all.length ? (
				<Alert kind="info">
					Your e-mail address is not verified yet, so these cannot be accepted here. Open the invitation link you were sent (it proves the address), or verify your address from your account page.
				</Alert>
			) : null}
			{!orgs || !colls ? (
				<p className="muted">Loading…</p>
			) : all.length === 0 ? (
				<div className="empty" data-invitations-empty>
					<p>
						<strong>No invitations waiting.</strong>
					</p>
					<p className="muted">When someone invites you to their organization or shares a collection with you, it shows here and in your notifications.</p>
				</div>
			) : (
				<ul className="invitation-list" data-my-invitations>
					{all.map(({ m, kind }) => (
						<li key={m.id} className="card invitation-card" data-my-invitation={m.id}>
							<div>
								<strong>{kind === 'org' ? m.organization?.name : m.collection?.name}</strong>
								<span className="muted"> · {kind === 'org' ? 'organization' : 'collection'}, as {m.role}</span>
								<p className="muted">
									From {inviter(m)} · until {formatDate(m.expires_at)}
								</p>
							</div>
							{canAccept ? (
								<button type="button" className="btn btn--primary" disabled={busy !== null} onClick={() => void (kind === 'org' ? acceptOrg(m) : acceptColl(m))} data-accept-invitation>
									{busy === m.id ? 'Accepting…' : 'Accept'}
								</button>
							) : null}
						</li>
					))}
				</ul>
			)}
		</>
	);
}
