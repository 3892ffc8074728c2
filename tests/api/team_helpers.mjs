// Helpers for the team tests (orgs, permissions, invitations): organizations,
// switching, and members of each role made through real invitations.

import assert from 'node:assert/strict';
import { PASSWORD, get, post, register, show, uniqueEmail } from './helpers.mjs';

export const ORGS = '/api/v1/organizations';

/** Create an organization (asserting 201) with the caller's token. */
export async function createOrg(token, name = 'Team', extra = {}) {
	const res = await post(ORGS, { token, json: { name, ...extra } });
	assert.equal(res.status, 201, `create organization: ${show(res)}`);
	return res.body;
}

/** Switch the caller to orgId (asserting 200); returns { access, refresh, body }. */
export async function switchOrg(token, orgId) {
	const res = await post('/api/v1/auth/switch-org', { token, json: { organization_id: orgId } });
	assert.equal(res.status, 200, `switch-org: ${show(res)}`);
	return { access: res.body.access_token, refresh: res.body.refresh_token, body: res.body };
}

/** Invite email with role (asserting 201); returns the invitation with its token. */
export async function invite(token, orgId, email, role) {
	const res = await post(`${ORGS}/${orgId}/invitations`, { token, json: { email, role } });
	assert.equal(res.status, 201, `invite ${email} as ${role}: ${show(res)}`);
	return res.body;
}

/** Sign up through an invitation token (asserting 201); returns { email, access, refresh, body }. */
export async function signupByInvite(token, email) {
	const res = await post('/api/v1/invitations/signup', { json: { token, password: PASSWORD, first_name: 'Inv' } });
	assert.equal(res.status, 201, `sign up ${email} through invitation: ${show(res)}`);
	return { email, access: res.body.access_token, refresh: res.body.refresh_token, body: res.body, userId: res.body.user.id };
}

/**
 * An owner with a fresh (non-personal) organization, switched to it, and one
 * account per role in `roles` who joined by invitation. Returns
 * { org, owner: {access, userId, email}, members: {role: {access, userId, email}} }.
 */
export async function makeTeam(roles = ['admin', 'member', 'viewer'], tag = 'team') {
	const o = await register({ tag: `${tag}-owner` });
	const org = await createOrg(o.access, `${tag} org`);
	const sw = await switchOrg(o.access, org.id);
	const owner = { access: sw.access, refresh: sw.refresh, userId: o.user.id, email: o.email };
	const members = { owner };
	for (const role of roles) {
		const email = uniqueEmail(`${tag}-${role}`);
		const inv = await invite(owner.access, org.id, email, role);
		members[role] = await signupByInvite(inv.token, email);
		assert.equal(members[role].body.organization.id, org.id);
		assert.equal(members[role].body.organization.role, role);
	}
	return { org, owner, members };
}

export async function orgOf(token) {
	const res = await get('/api/v1/users/me', { token });
	assert.equal(res.status, 200, show(res));
	return res.body.organization;
}
