// Collections (issue 10 item 6): folders of meetings in an organization,
// shared by invitation as owner / editor / viewer, also with people outside
// the organization, who reach the collection's meetings and nothing else.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
	MEETINGS,
	PASSWORD,
	assertJson,
	assertProblem,
	assertValidation,
	createMeeting,
	del,
	freePort,
	get,
	login,
	post,
	put,
	randomSecret,
	register,
	request,
	requestAt,
	show,
	sleep,
	startIamd,
	uniqueEmail,
	uploadOk,
	waitCompleted,
} from './helpers.mjs';
import { SENTENCES, speech } from './audio.mjs';
import { makeTeam } from './team_helpers.mjs';
import { smtpPeer } from './smtp-peer.mjs';

const T = { timeout: 180000 };
const COLLS = '/api/v1/collections';
const patch = (path, opts) => request('PATCH', path, opts);

async function createColl(token, name) {
	const res = await post(COLLS, { token, json: { name } });
	assert.equal(res.status, 201, `create collection: ${show(res)}`);
	return res.body;
}
async function addMeeting(token, cid, mid) {
	const res = await put(`${COLLS}/${cid}/meetings/${mid}`, { token });
	assert.equal(res.status, 204, `add meeting: ${show(res)}`);
}
async function shareWith(token, cid, email, role) {
	const res = await post(`${COLLS}/${cid}/invitations`, { token, json: { email, role } });
	assert.equal(res.status, 201, `share with ${email}: ${show(res)}`);
	return res.body;
}
async function signupGuest(invToken, email) {
	const res = await post('/api/v1/collection-invitations/signup', {
		json: { token: invToken, password: PASSWORD, first_name: 'Guest' },
	});
	assert.equal(res.status, 201, `sign up ${email}: ${show(res)}`);
	return { email, access: res.body.access_token, userId: res.body.user.id, body: res.body };
}

// One team with a transcribed meeting (A, in a collection) and one outside it (B).
let fixture = null;
function setup() {
	if (!fixture) {
		fixture = (async () => {
			const team = await makeTeam(['admin', 'member', 'viewer'], 'coll');
			const { owner } = team;
			const a = await createMeeting(owner.access, { title: 'Quarterly zebra review' });
			await uploadOk(owner.access, a.id, speech(SENTENCES.meeting, 'wav'), {
				filename: 'a.wav',
				contentType: 'audio/wav',
			});
			const b = await createMeeting(owner.access, { title: 'Secret zebra budget' });
			await waitCompleted(owner.access, a.id);
			const coll = await createColl(owner.access, 'Board');
			await addMeeting(owner.access, coll.id, a.id);
			return { team, a, b, coll };
		})();
	}
	return fixture;
}

describe('collections', () => {
	before(setup);

	test('create, read, rename, list paged, delete; bad names', T, async () => {
		const { team } = await setup();
		const tok = team.members.member.access;
		const made = [];
		for (const name of ['One', 'Two', 'Three']) made.push(await createColl(tok, name));
		assert.equal(made[0].my_role, 'owner');
		assert.equal(made[0].meeting_count, 0);
		assert.equal(made[0].organization.id, team.org.id);
		const one = assertJson(await get(`${COLLS}/${made[0].id}`, { token: tok }), 200);
		assert.equal(one.name, 'One');
		// The organization's collections: the owner's Board and these three, newest first.
		const p1 = assertJson(await get(`${COLLS}?limit=2`, { token: tok }), 200);
		assert.deepEqual(p1.data.map((c) => c.name), ['Three', 'Two']);
		assert.ok(p1.next_cursor);
		const p2 = assertJson(await get(`${COLLS}?limit=2&cursor=${encodeURIComponent(p1.next_cursor)}`, { token: tok }), 200);
		assert.deepEqual(p2.data.map((c) => c.name), ['One', 'Board']);
		assert.equal(p2.next_cursor, null);
		// The member edits every collection of the organization (role) but owns only theirs.
		assert.equal(p2.data[1].my_role, 'editor');
		assertProblem(await get(`${COLLS}?limit=0`, { token: tok }), 400, 'validation_failed');
		const renamed = assertJson(await patch(`${COLLS}/${made[1].id}`, { token: tok, json: { name: 'Deux' } }), 200);
		assert.equal(renamed.name, 'Deux');
		assertValidation(await patch(`${COLLS}/${made[1].id}`, { token: tok, json: { name: '   ' } }), ['name']);
		assertValidation(await post(COLLS, { token: tok, json: { name: 'x'.repeat(201) } }), ['name']);
		assertValidation(await post(COLLS, { token: tok, json: {} }), ['name']);
		assertProblem(await post(COLLS, { token: tok, json: { name: 'a', color: 'red' } }), 400);
		// Viewers of the organization do not create collections.
		assertProblem(await post(COLLS, { token: team.members.viewer.access, json: { name: 'v' } }), 403, 'forbidden');
		assert.equal((await del(`${COLLS}/${made[2].id}`, { token: tok })).status, 204);
		assertProblem(await get(`${COLLS}/${made[2].id}`, { token: tok }), 404, 'collection_not_found');
		assertProblem(await del(`${COLLS}/${made[2].id}`, { token: tok }), 404, 'collection_not_found');
	});

	test("another organization's collection is 404, whatever is asked", T, async () => {
		const { coll, a } = await setup();
		const stranger = await register({ tag: 'coll-stranger' });
		const own = await createMeeting(stranger.access, { title: 'mine' });
		const tok = stranger.access;
		assertProblem(await get(`${COLLS}/${coll.id}`, { token: tok }), 404, 'collection_not_found');
		assertProblem(await get(`${COLLS}/${coll.id}/meetings`, { token: tok }), 404, 'collection_not_found');
		assertProblem(await patch(`${COLLS}/${coll.id}`, { token: tok, json: { name: 'x' } }), 404, 'collection_not_found');
		assertProblem(await del(`${COLLS}/${coll.id}`, { token: tok }), 404, 'collection_not_found');
		assertProblem(await put(`${COLLS}/${coll.id}/meetings/${own.id}`, { token: tok }), 404, 'collection_not_found');
		assertProblem(await post(`${COLLS}/${coll.id}/invitations`, { token: tok, json: { email: 'x@example.com', role: 'viewer' } }), 404, 'collection_not_found');
		assertProblem(await get(`${MEETINGS}/${a.id}`, { token: tok }), 404, 'not_found');
		const list = assertJson(await get(COLLS, { token: tok }), 200);
		assert.ok(!list.data.some((c) => c.id === coll.id));
		// The owner cannot put the stranger's meeting in their collection either.
		const { team } = await setup();
		assertProblem(await put(`${COLLS}/${coll.id}/meetings/${own.id}`, { token: team.owner.access }), 404, 'not_found');
		assertProblem(await get(`${COLLS}/not-a-uuid`, { token: tok }), 400);
	});

	test('an outsider invited as viewer reads the meeting, transcript and audio; nothing else', T, async () => {
		const { team, a, b, coll } = await setup();
		const email = uniqueEmail('coll-guest');
		const inv = await shareWith(team.owner.access, coll.id, email, 'viewer');
		assert.match(inv.token, /^cin_[A-Za-z0-9_-]{43,}$/);
		assert.equal(inv.accept_url, `/collection-invite#${inv.token}`);
		assert.equal(inv.mail, 'not_sent');
		const seen = assertJson(await post('/api/v1/collection-invitations/lookup', { json: { token: inv.token } }), 200);
		assert.equal(seen.collection.name, 'Board');
		assert.equal(seen.role, 'viewer');
		assert.equal(seen.account_exists, false);
		const g = await signupGuest(inv.token, email);
		// The guest's active organization is their own, not the team's.
		assert.notEqual(g.body.organization.id, team.org.id);
		const mine = assertJson(await get(COLLS, { token: g.access }), 200);
		assert.deepEqual(mine.data.map((c) => [c.id, c.my_role]), [[coll.id, 'viewer']]);
		const ms = assertJson(await get(`${COLLS}/${coll.id}/meetings`, { token: g.access }), 200);
		assert.deepEqual(ms.data.map((m) => m.id), [a.id]);
		// The shared meeting: read, transcript, audio through a ticket.
		assert.equal(assertJson(await get(`${MEETINGS}/${a.id}`, { token: g.access }), 200).title, 'Quarterly zebra review');
		const tr = assertJson(await get(`${MEETINGS}/${a.id}/transcript`, { token: g.access }), 200);
		assert.ok(tr.segments.length > 0);
		const txt = await get(`${MEETINGS}/${a.id}/transcript?format=txt`, { token: g.access });
		assert.equal(txt.status, 200);
		const ticket = assertJson(await post(`${MEETINGS}/${a.id}/ticket`, { token: g.access }), 201);
		const audio = await fetch(`${process.env.IAM_BASE_URL || 'http://127.0.0.1:8080'}${MEETINGS}/${a.id}/audio?ticket=${encodeURIComponent(ticket.ticket)}`);
		assert.equal(audio.status, 200);
		assert.ok((await audio.arrayBuffer()).byteLength > 1000);
		// The meeting page's other reads: insights (read), not recomputed by a viewer.
		const ins = assertJson(await get(`${MEETINGS}/${a.id}/insights`, { token: g.access }), 200);
		assert.equal(ins.meeting_id, a.id);
		assertProblem(await post(`${MEETINGS}/${a.id}/insights`, { token: g.access }), 403, 'forbidden');
		assertProblem(await get(`${MEETINGS}/${b.id}/insights`, { token: g.access }), 404, 'not_found');
		// The reads are in the team's audit log, not only in the guest's own.
		const reads = assertJson(await get(`/api/v1/audit-events?action=meeting.&actor=${g.userId}`, { token: team.owner.access }), 200);
		const seenActions = new Set(reads.data.filter((e) => e.target && e.target.id === a.id).map((e) => e.action));
		for (const act of ['meeting.read', 'meeting.audio.download', 'meeting.export']) assert.ok(seenActions.has(act), `${act} in ${[...seenActions]}`);
		// Viewers do not edit, rename, delete, share.
		assertProblem(await patch(`${MEETINGS}/${a.id}/transcript/segments/0`, { token: g.access, json: { text: 'changed' } }), 403);
		assertProblem(await put(`${MEETINGS}/${a.id}`, { token: g.access, json: { title: 'x' } }), 404);
		assertProblem(await del(`${MEETINGS}/${a.id}`, { token: g.access }), 404);
		assertProblem(await del(`${COLLS}/${coll.id}`, { token: g.access }), 403, 'collection_forbidden');
		assertProblem(await patch(`${COLLS}/${coll.id}`, { token: g.access, json: { name: 'x' } }), 403, 'collection_forbidden');
		assertProblem(await post(`${COLLS}/${coll.id}/invitations`, { token: g.access, json: { email: 'y@example.com', role: 'viewer' } }), 403, 'collection_forbidden');
		assertProblem(await put(`${COLLS}/${coll.id}/meetings/${b.id}`, { token: g.access }), 403, 'collection_forbidden');
		assertProblem(await post(`${MEETINGS}/${a.id}/shares`, { token: g.access, json: {} }), 404);
		// The rest of the organization stays invisible: the other meeting, lists, search, members.
		assertProblem(await get(`${MEETINGS}/${b.id}`, { token: g.access }), 404, 'not_found');
		assertProblem(await get(`${MEETINGS}/${b.id}/transcript`, { token: g.access }), 404, 'not_found');
		const list = assertJson(await get(MEETINGS, { token: g.access }), 200);
		assert.ok(!list.data.some((m) => m.id === a.id || m.id === b.id), 'the guest lists only their own meetings');
		// Search: the shared meeting is found, the organization's other one never.
		const found = assertJson(await get('/api/v1/search?q=zebra', { token: g.access }), 200);
		assert.ok(found.data.some((h) => h.meeting.id === a.id), `guest search: ${JSON.stringify(found)}`);
		assert.equal(JSON.stringify(found).includes(b.id), false);
		assert.equal(JSON.stringify(found).includes('Secret'), false);
		const budget = assertJson(await get('/api/v1/search?q=budget', { token: g.access }), 200);
		assert.equal(budget.data.length, 0, JSON.stringify(budget));
		assertJson(await get(`/api/v1/search?q=zebra&meeting_id=${b.id}`, { token: g.access }), 200).data.forEach((h) => assert.notEqual(h.meeting.id, b.id));
		const ownerFound = assertJson(await get('/api/v1/search?q=zebra', { token: team.owner.access }), 200);
		assert.ok(JSON.stringify(ownerFound).includes(b.id), `owner search: ${JSON.stringify(ownerFound)}`);
		assertProblem(await get(`/api/v1/organizations/${team.org.id}/members`, { token: g.access }), 404);
		// The owner sees the guest among the people.
		const people = assertJson(await get(`${COLLS}/${coll.id}/people`, { token: team.owner.access }), 200);
		assert.ok(people.members.some((p) => p.email === email && p.role === 'viewer'));
		// Removed: the meeting is gone for them.
		assert.equal((await del(`${COLLS}/${coll.id}/people/${g.userId}`, { token: team.owner.access })).status, 204);
		assertProblem(await get(`${MEETINGS}/${a.id}`, { token: g.access }), 404, 'not_found');
		assertProblem(await get(`${COLLS}/${coll.id}`, { token: g.access }), 404, 'collection_not_found');
		const after = assertJson(await get('/api/v1/search?q=zebra', { token: g.access }), 200);
		assert.equal(after.data.length, 0, JSON.stringify(after));
	});

	test('editors edit transcripts and add meetings; an org viewer with an editor grant too', T, async () => {
		const { team, a, b } = await setup();
		const coll = await createColl(team.owner.access, 'Editors');
		await addMeeting(team.owner.access, coll.id, a.id);
		const viewer = team.members.viewer;
		// As an organization viewer: read-only on every meeting.
		assertProblem(await patch(`${MEETINGS}/${a.id}/transcript/segments/0`, { token: viewer.access, json: { text: 'nope' } }), 403, 'forbidden');
		const inv = await shareWith(team.owner.access, coll.id, viewer.email, 'editor');
		const acc = await post('/api/v1/collection-invitations/accept', { token: viewer.access, json: { token: inv.token } });
		assertJson(acc, 200);
		// Now the collection's meeting is editable, the other one still is not.
		const seg = await patch(`${MEETINGS}/${a.id}/transcript/segments/0`, { token: viewer.access, json: { text: 'Edited by a collection editor' } });
		assertJson(seg, 200);
		assert.equal(seg.body.segments[0].text, 'Edited by a collection editor');
		assertProblem(await patch(`${MEETINGS}/${b.id}/transcript/segments/0`, { token: viewer.access, json: { text: 'nope' } }), 403, 'forbidden');
		// ... and its insights may be recomputed by them, the other one's not.
		assert.equal((await post(`${MEETINGS}/${a.id}/insights`, { token: viewer.access })).status, 202);
		assertProblem(await post(`${MEETINGS}/${b.id}/insights`, { token: viewer.access }), 403, 'forbidden');
		// Editors add meetings they can read and remove them; they do not share or delete.
		assert.equal((await put(`${COLLS}/${coll.id}/meetings/${b.id}`, { token: viewer.access })).status, 204);
		assert.equal((await del(`${COLLS}/${coll.id}/meetings/${b.id}`, { token: viewer.access })).status, 204);
		assertProblem(await del(`${COLLS}/${coll.id}/meetings/${b.id}`, { token: viewer.access }), 404, 'not_found');
		assertProblem(await post(`${COLLS}/${coll.id}/invitations`, { token: viewer.access, json: { email: 'z@example.com', role: 'viewer' } }), 403, 'collection_forbidden');
		assertProblem(await del(`${COLLS}/${coll.id}`, { token: viewer.access }), 403, 'collection_forbidden');
		// Organization admins own every collection.
		assert.equal((await del(`${COLLS}/${coll.id}`, { token: team.members.admin.access })).status, 204);
	});

	test('invitations: wrong address 403, used / revoked 410, unknown 404, bad input 400', T, async () => {
		const { team, coll } = await setup();
		const tok = team.owner.access;
		assertValidation(await post(`${COLLS}/${coll.id}/invitations`, { token: tok, json: { email: 'nope', role: 'viewer' } }), ['email']);
		assertValidation(await post(`${COLLS}/${coll.id}/invitations`, { token: tok, json: { email: 'a@example.com', role: 'admin' } }), ['role']);
		assertValidation(await post(`${COLLS}/${coll.id}/invitations`, { token: tok, json: { role: 'viewer' } }), ['email']);
		const email = uniqueEmail('coll-inv');
		const other = await register({ tag: 'coll-other' });
		const inv = await shareWith(tok, coll.id, email, 'viewer');
		const mismatch = await post('/api/v1/collection-invitations/accept', { token: other.access, json: { token: inv.token } });
		assertProblem(mismatch, 403, 'invitation_email_mismatch');
		assert.ok(mismatch.body.detail.includes(email));
		assertProblem(await post('/api/v1/collection-invitations/lookup', { json: { token: 'cin_guessed' } }), 404, 'invitation_not_found');
		assertProblem(await post('/api/v1/collection-invitations/lookup', { json: { token: inv.token.slice(0, -1) } }), 404, 'invitation_not_found');
		// Re-inviting replaces the link: the old one is revoked (410).
		const inv2 = await shareWith(tok, coll.id, email, 'editor');
		assertProblem(await post('/api/v1/collection-invitations/lookup', { json: { token: inv.token } }), 410, 'invitation_revoked');
		const people = assertJson(await get(`${COLLS}/${coll.id}/people`, { token: tok }), 200);
		assert.deepEqual(people.invitations.filter((i) => i.email === email).map((i) => i.role), ['editor']);
		const g = await signupGuest(inv2.token, email);
		assertProblem(await post('/api/v1/collection-invitations/accept', { token: g.access, json: { token: inv2.token } }), 410, 'invitation_used');
		assertProblem(await post('/api/v1/collection-invitations/signup', { json: { token: inv2.token, password: PASSWORD } }), 410, 'invitation_used');
		// Revoked before use.
		const inv3 = await shareWith(tok, coll.id, uniqueEmail('coll-rev'), 'viewer');
		assert.equal((await del(`${COLLS}/${coll.id}/invitations/${inv3.id}`, { token: tok })).status, 204);
		assertProblem(await post('/api/v1/collection-invitations/lookup', { json: { token: inv3.token } }), 410, 'invitation_revoked');
		assertProblem(await del(`${COLLS}/${coll.id}/invitations/${inv3.id}`, { token: tok }), 404, 'invitation_not_found');
		// An existing account accepts while logged in.
		const known = await register({ tag: 'coll-known' });
		const inv4 = await shareWith(tok, coll.id, known.email, 'viewer');
		assert.equal(assertJson(await post('/api/v1/collection-invitations/lookup', { json: { token: inv4.token } }), 200).account_exists, true);
		assertProblem(await post('/api/v1/collection-invitations/signup', { json: { token: inv4.token, password: PASSWORD } }), 409, 'email_taken');
		const again = await login(known.email);
		assertJson(await post('/api/v1/collection-invitations/accept', { token: again.access, json: { token: inv4.token } }), 200);
		assert.equal(assertJson(await get(`${COLLS}/${coll.id}`, { token: again.access }), 200).my_role, 'viewer');
		// The audit log of the team has the sharing.
		const ev = assertJson(await get('/api/v1/audit-events?action=collection.&limit=100', { token: tok }), 200);
		const actions = new Set(ev.data.map((e) => e.action));
		for (const a of ['collection.create', 'collection.share', 'collection.invitation.accept']) assert.ok(actions.has(a), `${a} in ${[...actions]}`);
	});

	test('who may do what: every organization role and every collection role, table-driven', T, async () => {
		const { team, a, b } = await setup();
		const coll = await createColl(team.owner.access, 'Matrix');
		await addMeeting(team.owner.access, coll.id, a.id);
		const who = {
			owner: team.owner.access,
			admin: team.members.admin.access,
			member: team.members.member.access,
			viewer: team.members.viewer.access,
			stranger: (await register({ tag: 'coll-matrix-stranger' })).access,
		};
		for (const role of ['viewer', 'editor', 'owner']) {
			const email = uniqueEmail(`coll-matrix-${role}`);
			who[`guest_${role}`] = (await signupGuest((await shareWith(team.owner.access, coll.id, email, role)).token, email)).access;
		}
		// action -> [owner, admin, member, viewer, guest_viewer, guest_editor, guest_owner, stranger]
		const order = ['owner', 'admin', 'member', 'viewer', 'guest_viewer', 'guest_editor', 'guest_owner', 'stranger'];
		const actions = {
			read: { want: [200, 200, 200, 200, 200, 200, 200, 404], run: (t) => get(`${COLLS}/${coll.id}`, { token: t }) },
			list_meetings: { want: [200, 200, 200, 200, 200, 200, 200, 404], run: (t) => get(`${COLLS}/${coll.id}/meetings`, { token: t }) },
			read_transcript: { want: [200, 200, 200, 200, 200, 200, 200, 404], run: (t) => get(`${MEETINGS}/${a.id}/transcript`, { token: t }) },
			edit_transcript: {
				want: [200, 200, 200, 403, 403, 200, 200, 404],
				run: (t) => patch(`${MEETINGS}/${a.id}/transcript/segments/0`, { token: t, json: { text: 'Matrix line' } }),
			},
			// B is the organization's, not in the collection: guests cannot read it, so cannot add it.
			add_other_meeting: {
				want: [204, 204, 204, 403, 403, 404, 404, 404],
				run: async (t) => {
					const res = await put(`${COLLS}/${coll.id}/meetings/${b.id}`, { token: t });
					if (res.status === 204) await del(`${COLLS}/${coll.id}/meetings/${b.id}`, { token: team.owner.access });
					return res;
				},
			},
			rename: { want: [200, 200, 403, 403, 403, 403, 200, 404], run: (t) => patch(`${COLLS}/${coll.id}`, { token: t, json: { name: 'Matrix' } }) },
			invite: {
				want: [201, 201, 403, 403, 403, 403, 201, 404],
				run: (t) => post(`${COLLS}/${coll.id}/invitations`, { token: t, json: { email: uniqueEmail('coll-matrix-x'), role: 'viewer' } }),
			},
			people: { want: [200, 200, 200, 200, 200, 200, 200, 404], run: (t) => get(`${COLLS}/${coll.id}/people`, { token: t }) },
		};
		const wrong = [];
		for (const [name, act] of Object.entries(actions))
			for (let i = 0; i < order.length; i++) {
				const res = await act.run(who[order[i]]);
				if (res.status !== act.want[i]) wrong.push(`${name} as ${order[i]}: ${res.status}, want ${act.want[i]} (${res.body && res.body.code})`);
			}
		assert.deepEqual(wrong, []);
		// Delete: only owners (of the collection, or of / admins in the organization).
		for (const r of ['member', 'viewer', 'guest_viewer', 'guest_editor']) assertProblem(await del(`${COLLS}/${coll.id}`, { token: who[r] }), 403, 'collection_forbidden');
		assertProblem(await del(`${COLLS}/${coll.id}`, { token: who.stranger }), 404, 'collection_not_found');
		assert.equal((await del(`${COLLS}/${coll.id}`, { token: who.guest_owner })).status, 204);
		assertProblem(await get(`${MEETINGS}/${a.id}`, { token: who.guest_owner }), 404, 'not_found');
	});
});

describe('collections and membership', () => {
	test("a removed member loses the collections they made; an outsider's invitation grant stays", T, async () => {
		const team = await makeTeam(['member'], 'coll-rm');
		const m = team.members.member;
		const meeting = await createMeeting(team.owner.access, { title: 'Kept inside' });
		const coll = await createColl(m.access, 'Made by a member');
		await addMeeting(m.access, coll.id, meeting.id);
		const email = uniqueEmail('coll-rm-guest');
		const g = await signupGuest((await shareWith(m.access, coll.id, email, 'viewer')).token, email);
		assertJson(await get(`${MEETINGS}/${meeting.id}`, { token: g.access }), 200);
		// The member is removed: with a token of their own organization they see nothing of it.
		assert.equal((await del(`/api/v1/organizations/${team.org.id}/members/${m.userId}`, { token: team.owner.access })).status, 204);
		const again = await login(m.email);
		assert.notEqual(again.body.organization.id, team.org.id);
		assertProblem(await get(`${COLLS}/${coll.id}`, { token: again.access }), 404, 'collection_not_found');
		assertProblem(await get(`${MEETINGS}/${meeting.id}`, { token: again.access }), 404, 'not_found');
		assert.ok(!assertJson(await get(COLLS, { token: again.access }), 200).data.some((c) => c.id === coll.id));
		// The collection stays the organization's; the guest the member invited keeps their access.
		assert.equal(assertJson(await get(`${COLLS}/${coll.id}`, { token: team.owner.access }), 200).my_role, 'owner');
		assertJson(await get(`${MEETINGS}/${meeting.id}`, { token: g.access }), 200);
		const people = assertJson(await get(`${COLLS}/${coll.id}/people`, { token: team.owner.access }), 200);
		assert.ok(!people.members.some((p) => p.email === m.email), 'the removed member is not listed');
	});
});

// A collection invitation through a real SMTP peer: the link in the mail signs the invitee up.
describe('collection invitations by mail', () => {
	test('the mailed link opens the collection for an outsider', T, async () => {
		const smtp = await smtpPeer();
		const inbox = smtp.inbox;
		const env = {
			IAM_JWT_SECRET: randomSecret(),
			IAM_WORKERS: '1',
			IAM_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
			IAM_MAIL_FROM: 'noreply@iam.test',
			IAM_REGISTER_PER_HOUR: '0',
		};
		// On PostgreSQL this server gets a database of its own (workers of every process sharing one take mail jobs).
		let db = null;
		if (process.env.IAM_ENGINE === 'postgres' && process.env.IAM_TEST_DATABASE_URL) {
			db = `iam_collmail_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
			const r = spawnSync('psql', [process.env.IAM_TEST_DATABASE_URL, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${db}`], { encoding: 'utf8' });
			assert.equal(r.status, 0, r.stderr);
			const u = new URL(process.env.IAM_TEST_DATABASE_URL);
			u.pathname = `/${db}`;
			env.IAM_DATABASE_URL = u.href;
		}
		const port = await freePort();
		env.IAM_PUBLIC_URL = `http://127.0.0.1:${port}`;
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-collmail-'));
		const iam = await startIamd(dir, env, { port });
		const api = (method, p, opts) => requestAt(iam.base, method, p, opts);
		try {
			const owner = uniqueEmail('collmail-owner');
			const reg = await api('POST', '/api/v1/auth/register', { json: { email: owner, password: PASSWORD } });
			assert.equal(reg.status, 201, show(reg));
			const tok = reg.body.access_token;
			const m = await api('POST', MEETINGS, { token: tok, json: { title: 'Mailed meeting' } });
			const c = await api('POST', COLLS, { token: tok, json: { name: 'Mailed collection' } });
			assert.equal(c.status, 201, show(c));
			assert.equal((await api('PUT', `${COLLS}/${c.body.id}/meetings/${m.body.id}`, { token: tok })).status, 204);
			const guest = uniqueEmail('collmail-guest');
			const inv = await api('POST', `${COLLS}/${c.body.id}/invitations`, { token: tok, json: { email: guest, role: 'viewer' } });
			assert.equal(inv.status, 201, show(inv));
			assert.equal(inv.body.mail, 'queued');
			const deadline = Date.now() + 20000;
			let mail;
			while (!(mail = inbox.find((x) => x.to.includes(guest)))) {
				assert.ok(Date.now() < deadline, 'the invitation mail arrives within 20 s');
				await sleep(100);
			}
			assert.match(mail.parsed.subject, /Mailed collection/);
			assert.ok(mail.parsed.text.includes(owner), 'the mail says who shared it');
			const link = /https?:\/\/[^\s"<>]+\/collection-invite#(cin_[A-Za-z0-9_-]+)/.exec(mail.parsed.text);
			assert.ok(link, `a link in: ${mail.parsed.text}`);
			assert.equal(new URL(link[0]).origin, iam.base);
			assert.ok(mail.parsed.html.includes(`/collection-invite#${link[1]}`), 'the HTML part has the same link');
			const join = await api('POST', '/api/v1/collection-invitations/signup', { json: { token: link[1], password: PASSWORD } });
			assert.equal(join.status, 201, show(join));
			const seen = await api('GET', `${COLLS}/${c.body.id}/meetings`, { token: join.body.access_token });
			assert.deepEqual(seen.body.data.map((x) => x.title), ['Mailed meeting']);
		} finally {
			await iam.stop();
			await smtp.close();
			fs.rmSync(dir, { recursive: true, force: true });
			if (db) spawnSync('psql', [process.env.IAM_TEST_DATABASE_URL, '-qc', `DROP DATABASE IF EXISTS ${db}`]);
		}
	});
});
