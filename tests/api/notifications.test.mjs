// Notifications (/api/v1/notifications): raised for new messages and for
// finished transcriptions; list (paging, unread=true), unread count, mark
// one or all read, per-type preferences that really suppress in-app ones.
// Another person's notification is 404.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
	UUID_RE,
	assertJson,
	assertProblem,
	assertRfc3339,
	assertValidation,
	createMeeting,
	get,
	post,
	put,
	register,
	uploadOk,
	waitMeeting,
} from './helpers.mjs';
import { silence } from './audio.mjs';
import { execFileSync } from 'node:child_process';

/** Make `who` a member of `owner`'s organization (as messages.test.mjs does, until the API can). */
function joinOrg(owner, who) {
	const url = process.env.IAM_TEST_DATABASE_URL;
	assert.ok(url, 'IAM_TEST_DATABASE_URL is not set (run through scripts/run-api-tests)');
	assert.match(owner.organization.id, UUID_RE);
	assert.match(who.user.id, UUID_RE);
	const stmt = `INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ('${owner.organization.id}', '${who.user.id}', 'member', 0)`;
	if (url.startsWith('sqlite:')) execFileSync('sqlite3', ['-cmd', '.timeout 10000', url.slice(7), stmt]);
	else execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', stmt]);
}

const T = { timeout: 120000 };
const N = '/api/v1/notifications';

async function pair(tag) {
	const a = await register({ tag: `${tag}a`, first_name: 'Ada' });
	const b = await register({ tag: `${tag}b` });
	joinOrg(a, b);
	return { a, b };
}

async function send(from, to, subject = 'Hello') {
	return assertJson(await post('/api/v2/messages', { token: from.access, json: { recipient_id: to.user.id, subject, body: 'x' } }), 201);
}

const count = async (who) => assertJson(await get(`${N}/unread-count`, { token: who.access }), 200).count;

describe('notifications', T, () => {
	test('a new message notifies the recipient (not the sender)', async () => {
		const { a, b } = await pair('nmsg');
		assert.equal(await count(b), 0);
		const m = await send(a, b, 'Quarterly numbers');
		assert.equal(await count(b), 1);
		assert.equal(await count(a), 0);
		const l = assertJson(await get(N, { token: b.access }), 200);
		assert.equal(l.data.length, 1);
		const n = l.data[0];
		assert.match(n.id, UUID_RE);
		assert.equal(n.user_id, b.user.id);
		assert.equal(n.type, 'new_message');
		assert.equal(n.message_id, m.id);
		assert.equal(n.is_read, false);
		assert.match(n.content, /Ada/);
		assert.match(n.content, /Quarterly numbers/);
		assertRfc3339(n.created_at);
		assert.equal(l.next_cursor, null);
	});

	test('an @mention of a colleague in a message tells them; others, the recipient and strangers are not told', async () => {
		const { a, b } = await pair('nmen');
		const c = await register({ tag: 'nmenc', first_name: 'Cleo' });
		joinOrg(a, c);
		const stranger = await register({ tag: 'nmens' });
		const body = `Numbers are in. @${c.email.toUpperCase()} can you check the Q3 column? Also @${b.email}, @${stranger.email} and mail me at ${a.email}.`;
		assertJson(await post('/api/v2/messages', { token: a.access, json: { recipient_id: b.user.id, subject: 'Budget', body } }), 201);
		const cl = assertJson(await get(N, { token: c.access }), 200);
		assert.equal(cl.data.length, 1, JSON.stringify(cl));
		const n = cl.data[0];
		assert.equal(n.type, 'mention');
		assert.equal(n.message_id, null, 'the message is not theirs to open');
		assert.match(n.content, /^Ada mentioned you in \u201cBudget\u201d: /);
		assert.match(n.content, /can you check the Q3 column/);
		// The recipient gets only the new-message notification; the stranger and the sender nothing.
		assert.deepEqual(assertJson(await get(N, { token: b.access }), 200).data.map((x) => x.type), ['new_message']);
		assert.equal(assertJson(await get(N, { token: stranger.access }), 200).data.length, 0);
		assert.equal(assertJson(await get(N, { token: a.access }), 200).data.length, 0);
		// The mention preference turns them off.
		assertJson(await put(`${N}/preferences`, { token: c.access, json: { preferences: { mention: { in_app: false, email: false } } } }), 200);
		assertJson(await post('/api/v2/messages', { token: a.access, json: { recipient_id: b.user.id, subject: 'Again', body: `@${c.email} again` } }), 201);
		assert.equal(assertJson(await get(N, { token: c.access }), 200).data.length, 1);
	});

	test('mark one read, mark all read; unread=true; paging', async () => {
		const { a, b } = await pair('nread');
		for (let i = 0; i < 5; i++) await send(a, b, `m${i}`);
		assert.equal(await count(b), 5);
		const p1 = assertJson(await get(`${N}?limit=2`, { token: b.access }), 200);
		assert.equal(p1.data.length, 2);
		assert.equal(typeof p1.next_cursor, 'string');
		const p2 = assertJson(await get(`${N}?limit=2&cursor=${encodeURIComponent(p1.next_cursor)}`, { token: b.access }), 200);
		assert.equal(p2.data.length, 2);
		assert.ok(p2.data[0].id < p1.data[1].id, 'newest first, no overlap');
		const one = p1.data[0];
		const r = assertJson(await post(`${N}/${one.id}/read`, { token: b.access }), 200);
		assert.equal(r.id, one.id);
		assert.equal(r.is_read, true);
		assert.equal(await count(b), 4);
		const unread = assertJson(await get(`${N}?unread=true&limit=100`, { token: b.access }), 200);
		assert.equal(unread.data.length, 4);
		assert.ok(unread.data.every((x) => !x.is_read && x.id !== one.id));
		const all = assertJson(await post(`${N}/read-all`, { token: b.access }), 200);
		assert.equal(all.updated, 4);
		assert.equal(await count(b), 0);
		assert.equal(assertJson(await get(`${N}?unread=true`, { token: b.access }), 200).data.length, 0);
		assert.equal(assertJson(await post(`${N}/read-all`, { token: b.access }), 200).updated, 0);
	});

	test("another person's notification is 404; bad input is 400", async () => {
		const { a, b } = await pair('nforeign');
		await send(a, b);
		const n = assertJson(await get(N, { token: b.access }), 200).data[0];
		assertProblem(await post(`${N}/${n.id}/read`, { token: a.access }), 404, 'not_found');
		assert.equal(await count(b), 1, 'still unread');
		assertProblem(await post(`${N}/0190a0c0-0000-7000-8000-000000000002/read`, { token: b.access }), 404);
		assertProblem(await post(`${N}/nope/read`, { token: b.access }), 400);
		for (const q of ['?limit=0', '?limit=101']) assertValidation(await get(N + q, { token: b.access }), 'limit');
		assertValidation(await get(`${N}?unread=yes`, { token: b.access }), 'unread');
		assertValidation(await get(`${N}?cursor=zz`, { token: b.access }), 'cursor');
		assertProblem(await get(N), 401);
		assertProblem(await get(`${N}/unread-count`), 401);
	});

	test('preferences: defaults, stored per type, and in_app off suppresses', async () => {
		const { a, b } = await pair('nprefs');
		const d = assertJson(await get(`${N}/preferences`, { token: b.access }), 200);
		for (const t of ['new_message', 'transcription_completed', 'transcription_failed', 'invitation', 'mention'])
			assert.deepEqual(d.preferences[t], { in_app: true, email: false }, t);
		// Money matters are mailed unless turned off.
		for (const t of ['quota_warning', 'billing']) assert.deepEqual(d.preferences[t], { in_app: true, email: true }, t);
		const u = assertJson(await put(`${N}/preferences`, { token: b.access, json: { preferences: { new_message: { in_app: false, email: true }, mention: { email: true } } } }), 200);
		assert.deepEqual(u.preferences.new_message, { in_app: false, email: true });
		assert.deepEqual(u.preferences.mention, { in_app: true, email: true });
		const again = assertJson(await get(`${N}/preferences`, { token: b.access }), 200);
		assert.deepEqual(again, u, 'stored');
		const other = assertJson(await get(`${N}/preferences`, { token: a.access }), 200);
		assert.deepEqual(other.preferences.new_message, { in_app: true, email: false }, 'per person');
		await send(a, b);
		assert.equal(await count(b), 0, 'no in-app notification when turned off');
		const bad = [
			{ preferences: { spam: { in_app: true } } },
			{ preferences: { new_message: { in_app: 'yes' } } },
			{ preferences: { new_message: { push: true } } },
			{ preferences: { new_message: {} } },
			{ preferences: { new_message: true } },
			{ preferences: [] },
			{},
		];
		for (const json of bad) {
			const res = await put(`${N}/preferences`, { token: b.access, json });
			assert.equal(res.status, 400, JSON.stringify(json));
		}
		assert.deepEqual(assertJson(await get(`${N}/preferences`, { token: b.access }), 200), u, 'unchanged by refused requests');
	});

	test('a finished transcription notifies the meeting creator', async () => {
		const a = await register({ tag: 'ntrans' });
		const m = await createMeeting(a.access, { title: 'Silent standup' });
		await uploadOk(a.access, m.id, silence(2, 'wav'), { filename: 's.wav', contentType: 'audio/wav' });
		const done = await waitMeeting(a.access, m.id);
		const want = done.status === 'completed' ? 'transcription_completed' : 'transcription_failed';
		let n;
		for (let i = 0; i < 40 && !n; i++) {
			const l = assertJson(await get(N, { token: a.access }), 200);
			n = l.data.find((x) => x.type === want);
			if (!n) await new Promise((r) => setTimeout(r, 100));
		}
		assert.ok(n, `a ${want} notification`);
		assert.match(n.content, /Silent standup/);
		assert.equal(n.message_id, null);
	});
});
