// Invitations: by address with a role; the link works once, for 7 days,
// dies on resend or revoke; accept while logged in (the address must match)
// or sign up through it.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
	MEETINGS,
	PASSWORD,
	assertJson,
	assertProblem,
	assertRfc3339,
	assertValidation,
	createMeeting,
	del,
	get,
	login,
	post,
	register,
	uniqueEmail,
} from './helpers.mjs';
import { ORGS, createOrg, invite, makeTeam, signupByInvite, switchOrg } from './team_helpers.mjs';

const T = { timeout: 60000 };
const lookup = (token) => post('/api/v1/invitations/lookup', { json: { token } });

async function ownerWithOrg(tag) {
	const a = await register({ tag });
	const org = await createOrg(a.access, `${tag} org`);
	const sw = await switchOrg(a.access, org.id);
	return { org, access: sw.access, email: a.email, userId: a.user.id };
}

describe('invitations', () => {
	test('create: a link with a long token shown once, 7 days, not mailed yet', T, async () => {
		const o = await ownerWithOrg('inv-create');
		const email = uniqueEmail('inv-new');
		const inv = await invite(o.access, o.org.id, email.toUpperCase(), 'member');
		assert.equal(inv.email, email); // normalised
		assert.equal(inv.role, 'member');
		assert.equal(inv.status, 'pending');
		assert.equal(inv.mail, 'not_sent');
		assert.equal(inv.invited_by.email, o.email);
		assert.match(inv.token, /^inv_[A-Za-z0-9_-]{43,}$/); // >= 256 bits
		assert.equal(inv.accept_url, `/invite#${inv.token}`);
		assertRfc3339(inv.expires_at);
		const days = (Date.parse(inv.expires_at) - Date.parse(inv.created_at)) / 86400e3;
		assert.ok(Math.abs(days - 7) < 0.01, `expires after ${days} days`);
		// Pending list: without the token.
		const list = assertJson(await get(`${ORGS}/${o.org.id}/invitations`, { token: o.access }), 200);
		assert.equal(list.data.length, 1);
		assert.equal(list.data[0].id, inv.id);
		assert.ok(!('token' in list.data[0]) && !('accept_url' in list.data[0]));
		// The invitee's view.
		const seen = assertJson(await lookup(inv.token), 200);
		assert.equal(seen.organization.id, o.org.id);
		assert.equal(seen.organization.name, 'inv-create org');
		assert.equal(seen.email, email);
		assert.equal(seen.role, 'member');
		assert.equal(seen.account_exists, false);
		assert.ok(!('token' in seen));
	});

	test('bad input: validation, existing member 409, escalation 403, no permission 403', T, async () => {
		const { org, owner, members } = await makeTeam(['admin', 'member'], 'inv-bad');
		const url = `${ORGS}/${org.id}/invitations`;
		assertValidation(await post(url, { token: owner.access, json: { email: 'not-an-address', role: 'chief' } }), ['email', 'role']);
		assertValidation(await post(url, { token: owner.access, json: {} }), ['email', 'role']);
		const dup = assertProblem(await post(url, { token: owner.access, json: { email: members.member.email, role: 'viewer' } }), 409, 'already_member');
		assert.equal(dup.errors[0].field, 'email');
		const esc = assertProblem(await post(url, { token: members.admin.access, json: { email: uniqueEmail('x'), role: 'owner' } }), 403, 'role_escalation');
		assert.match(esc.detail, /'admin'.*'owner'/);
		assertJson(await post(url, { token: members.admin.access, json: { email: uniqueEmail('x'), role: 'admin' } }), 201);
		assertProblem(await post(url, { token: members.member.access, json: { email: uniqueEmail('x'), role: 'viewer' } }), 403, 'forbidden');
		assertProblem(await get(url, { token: members.member.access }), 403, 'forbidden');
		// Another organization: 404.
		const stranger = await register({ tag: 'inv-bad-stranger' });
		assertProblem(await post(url, { token: stranger.access, json: { email: uniqueEmail('x'), role: 'viewer' } }), 404, 'organization_not_found');
	});

	test('sign up through the link: the account joins with the role and sees the meetings', T, async () => {
		const o = await ownerWithOrg('inv-signup');
		const m = await createMeeting(o.access, { title: 'Team kickoff' });
		const email = uniqueEmail('inv-joiner');
		const inv = await invite(o.access, o.org.id, email, 'viewer');
		const bad = await post('/api/v1/invitations/signup', { json: { token: inv.token, password: 'short' } });
		assertValidation(bad, ['password']);
		const j = await signupByInvite(inv.token, email);
		assert.equal(j.body.user.email, email);
		assert.equal(j.body.organization.id, o.org.id);
		assert.equal(j.body.organization.role, 'viewer');
		const list = assertJson(await get(MEETINGS, { token: j.access }), 200);
		assert.deepEqual(list.data.map((x) => x.id), [m.id]);
		// Used: 410 everywhere, nothing changes.
		assertProblem(await lookup(inv.token), 410, 'invitation_used');
		assertProblem(await post('/api/v1/invitations/signup', { json: { token: inv.token, password: PASSWORD } }), 410, 'invitation_used');
		assertProblem(await post('/api/v1/invitations/accept', { token: j.access, json: { token: inv.token } }), 410, 'invitation_used');
		// The account logs in normally and can switch back to the organization.
		const l = await login(email);
		const sw = await switchOrg(l.access, o.org.id);
		assert.equal(sw.body.organization.role, 'viewer');
		// No longer pending.
		assert.equal(assertJson(await get(`${ORGS}/${o.org.id}/invitations`, { token: o.access }), 200).data.length, 0);
	});

	test('sign up with an address that has an account is refused: log in and accept', T, async () => {
		const o = await ownerWithOrg('inv-exists');
		const b = await register({ tag: 'inv-exists-b' });
		const inv = await invite(o.access, o.org.id, b.email, 'member');
		assert.equal(assertJson(await lookup(inv.token), 200).account_exists, true);
		assertProblem(await post('/api/v1/invitations/signup', { json: { token: inv.token, password: PASSWORD } }), 409, 'email_taken');
		const ok = assertJson(await post('/api/v1/invitations/accept', { token: b.access, json: { token: inv.token } }), 200);
		assert.equal(ok.organization.id, o.org.id);
		assert.equal(ok.organization.role, 'member');
		assertJson(await get(MEETINGS, { token: ok.access_token }), 200);
		// b's first session still works, in b's own organization.
		assertJson(await get(MEETINGS, { token: b.access }), 200);
	});

	test('accepting as someone else is 403 naming the invited address', T, async () => {
		const o = await ownerWithOrg('inv-mismatch');
		const email = uniqueEmail('inv-intended');
		const inv = await invite(o.access, o.org.id, email, 'admin');
		const c = await register({ tag: 'inv-wrong' });
		const p = assertProblem(await post('/api/v1/invitations/accept', { token: c.access, json: { token: inv.token } }), 403, 'invitation_email_mismatch');
		assert.ok(p.detail.includes(email), p.detail);
		assert.ok(p.detail.includes(c.email), p.detail);
		// Still pending for the right person.
		assert.equal(assertJson(await lookup(inv.token), 200).status, 'pending');
		assertProblem(await post('/api/v1/invitations/accept', { json: { token: inv.token } }), 401);
	});

	test('resend: a new link, the old one is gone (410); revoke: gone (410); unknown: 404', T, async () => {
		const o = await ownerWithOrg('inv-resend');
		const email = uniqueEmail('inv-r');
		const first = await invite(o.access, o.org.id, email, 'member');
		const again = assertJson(await post(`${ORGS}/${o.org.id}/invitations/${first.id}/resend`, { token: o.access }), 200);
		assert.notEqual(again.token, first.token);
		assert.notEqual(again.id, first.id);
		assert.equal(again.email, email);
		assert.equal(again.role, 'member');
		assert.equal(again.mail, 'not_sent');
		assertProblem(await lookup(first.token), 410, 'invitation_revoked');
		assertProblem(await post('/api/v1/invitations/signup', { json: { token: first.token, password: PASSWORD } }), 410, 'invitation_revoked');
		assertProblem(await post(`${ORGS}/${o.org.id}/invitations/${first.id}/resend`, { token: o.access }), 404, 'invitation_not_found');
		const pending = assertJson(await get(`${ORGS}/${o.org.id}/invitations`, { token: o.access }), 200);
		assert.deepEqual(pending.data.map((i) => i.id), [again.id]);
		// Revoke.
		assert.equal((await del(`${ORGS}/${o.org.id}/invitations/${again.id}`, { token: o.access })).status, 204);
		assertProblem(await lookup(again.token), 410, 'invitation_revoked');
		assertProblem(await del(`${ORGS}/${o.org.id}/invitations/${again.id}`, { token: o.access }), 404, 'invitation_not_found');
		assert.equal(assertJson(await get(`${ORGS}/${o.org.id}/invitations`, { token: o.access }), 200).data.length, 0);
		// Unknown and absurd tokens.
		assertProblem(await lookup('inv_' + 'A'.repeat(43)), 404, 'invitation_not_found');
		assertProblem(await lookup('x'.repeat(5000)), 404, 'invitation_not_found');
		assertValidation(await post('/api/v1/invitations/lookup', { json: {} }), ['token']);
		// Another organization's admin cannot revoke or resend it.
		const p = await ownerWithOrg('inv-resend-other');
		const third = await invite(o.access, o.org.id, uniqueEmail('inv-r3'), 'viewer');
		assertProblem(await del(`${ORGS}/${p.org.id}/invitations/${third.id}`, { token: p.access }), 404, 'invitation_not_found');
		assertProblem(await post(`${ORGS}/${p.org.id}/invitations/${third.id}/resend`, { token: p.access }), 404, 'invitation_not_found');
		assert.equal(assertJson(await lookup(third.token), 200).status, 'pending');
	});

	test('inviting the same address again replaces the pending invitation', T, async () => {
		const o = await ownerWithOrg('inv-twice');
		const email = uniqueEmail('inv-t');
		const a = await invite(o.access, o.org.id, email, 'viewer');
		const b = await invite(o.access, o.org.id, email, 'admin');
		assertProblem(await lookup(a.token), 410, 'invitation_revoked');
		assert.equal(assertJson(await lookup(b.token), 200).role, 'admin');
	});

	test('an invitee with an account is notified; in-app acceptance needs a verified address', T, async () => {
		const o = await ownerWithOrg('inv-note');
		const b = await register({ tag: 'inv-note-b' });
		const inv = await invite(o.access, o.org.id, b.email, 'viewer');
		const notes = assertJson(await get('/api/v1/notifications', { token: b.access }), 200);
		const n = notes.data.find((x) => x.type === 'invitation');
		assert.ok(n, JSON.stringify(notes));
		assert.equal(n.link, '/invitations');
		assert.ok(n.content.includes('inv-note org') && n.content.includes(o.email), n.content);
		const mine = assertJson(await get('/api/v1/invitations/mine', { token: b.access }), 200);
		assert.equal(mine.can_accept, false); // no mail server here: the address is not verified
		assert.deepEqual(mine.data.map((x) => x.id), [inv.id]);
		assertProblem(await post(`/api/v1/invitations/mine/${inv.id}/accept`, { token: b.access }), 403, 'email_not_verified');
		// Not theirs or unknown: 404 alike; not an id: 400.
		assertProblem(await post(`/api/v1/invitations/mine/${inv.id}/accept`, { token: o.access }), 404, 'invitation_not_found');
		assertProblem(await post('/api/v1/invitations/mine/0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e10/accept', { token: b.access }), 404, 'invitation_not_found');
		assertProblem(await post('/api/v1/invitations/mine/nope/accept', { token: b.access }), 400, 'invalid_path_parameter');
		// The owner's own list of invitations to them is empty.
		assert.equal(assertJson(await get('/api/v1/invitations/mine', { token: o.access }), 200).data.length, 0);
		// The link still works for them.
		assertJson(await post('/api/v1/invitations/accept', { token: b.access, json: { token: inv.token } }), 200);
	});

	test('the pending list is paged, newest first, and says the mail was not sent without SMTP', T, async () => {
		const o = await ownerWithOrg('inv-pages');
		const made = [];
		for (let i = 0; i < 5; i++) made.push(await invite(o.access, o.org.id, uniqueEmail(`inv-p${i}`), 'viewer'));
		const seen = [];
		let cursor = null;
		let pages = 0;
		do {
			const q = `${ORGS}/${o.org.id}/invitations?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
			const page = assertJson(await get(q, { token: o.access }), 200);
			assert.ok(page.data.length <= 2);
			for (const x of page.data) assert.equal(x.mail, 'not_sent');
			seen.push(...page.data.map((x) => x.id));
			cursor = page.next_cursor;
			pages++;
		} while (cursor && pages < 10);
		assert.equal(pages, 3);
		assert.deepEqual(seen, made.map((x) => x.id).reverse(), 'every invitation once, newest first');
		assertValidation(await get(`${ORGS}/${o.org.id}/invitations?limit=0`, { token: o.access }), 'limit');
		assertValidation(await get(`${ORGS}/${o.org.id}/invitations?cursor=not-a-cursor`, { token: o.access }), 'cursor');
	});
});
