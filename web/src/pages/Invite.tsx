// Accept an invitation to an organization: /invite#inv_... (the flow is
// InviteeFlow's). Joining starts afresh in the organization.

import { InviteeFlow, type InviteeKind } from '../components/InviteeFlow';

interface InvitationView {
	email: string;
	role: string;
	status: string;
	organization: { id: string; name: string };
	invited_by: { email: string } | null;
	expires_at: string;
	account_exists: boolean;
}

const ORGANIZATION: InviteeKind<InvitationView> = {
	api: '/api/v1/invitations',
	title: 'Invitation',
	heading: (v) => `Join ${v.organization.name}`,
	intro: (v) => (
		<>
			{v.invited_by ? `${v.invited_by.email} invited ` : 'You are invited '}
			<strong>{v.email}</strong> to join <strong>{v.organization.name}</strong> as <strong>{v.role}</strong>.
		</>
	),
	askWho: 'whoever invited you',
	accept: (v) => `Join ${v.organization.name}`,
	login: 'Log in and join',
	signup: 'Create account and join',
	busy: 'Joining…',
	loginNote: (v) => `Log in as ${v.email} to accept.`,
	lastName: true,
	acceptSignsIn: true,
	next: () => '/meetings',
	data: { intro: 'data-invite-intro', accept: 'data-invite-accept', signup: 'data-invite-signup' },
};

export function Invite() {
	return <InviteeFlow kind={ORGANIZATION} />;
}
