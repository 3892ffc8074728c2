// The inbox at the product spec's paths (/api/v2/messages...): sending to
// people who share an organization (anyone else is 404), folders, flags on
// one's own side, per-side delete, threads, meeting cards, search, paging,
// bulk actions with per-id results, stats, contacts; every bad input.
//
// Until organizations can be joined through the API, tests put two people
// in one organization by writing the memberships row (IAM_TEST_DATABASE_URL,
// sqlite3 or psql), which is all the rule reads.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
	UUID_RE,
	assertJson,
	assertProblem,
	assertRfc3339,
	assertValidation,
	createMeeting,
	del,
	get,
	post,
	put,
	register,
	request,
	show,
} from './helpers.mjs';

const T = { timeout: 60000 };
const M = '/api/v2/messages';
const patch = (path, opts) => request('PATCH', path, opts);

/** Run one SQL statement against the server's database. */
function sql(stmt) {
	const url = process.env.IAM_TEST_DATABASE_URL;
	assert.ok(url, 'IAM_TEST_DATABASE_URL is not set (run through scripts/run-api-tests)');
	if (url.startsWith('sqlite:')) execFileSync('sqlite3', ['-cmd', '.timeout 10000', url.slice(7), stmt]);
	else execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', stmt]);
}

/** Make `who` a member of `owner`'s personal organization. */
function joinOrg(owner, who, role = 'member') {
	const org = owner.organization.id;
	const user = who.user.id;
	assert.match(org, UUID_RE);
	assert.match(user, UUID_RE);
	assert.match(role, /^[a-z]+$/);
	sql(`INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ('${org}', '${user}', '${role}', 0)`);
}

/** Two people in one organization, and a stranger in another. */
async function trio(tag) {
	const a = await register({ tag: `${tag}a`, first_name: 'Ada', last_name: 'Lovelace' });
	const b = await register({ tag: `${tag}b`, first_name: 'Bob', last_name: 'Stone' });
	const c = await register({ tag: `${tag}c` });
	joinOrg(a, b);
	return { a, b, c };
}

async function send(from, to, fields = {}) {
	const res = await post(M, { token: from.access, json: { recipient_id: to.user.id, subject: 'Hello', body: 'Body text', ...fields } });
	return assertJson(res, 201);
}

async function list(who, query = '') {
	return assertJson(await get(M + query, { token: who.access }), 200);
}

const ids = (page) => page.data.map((m) => m.id);

describe('send', T, () => {
	test("the spec's test: POST /api/v2/messages/ (trailing slash) answers 201 with subject Test", async () => {
		const { a, b } = await trio('spec');
		const res = await post(M + '/', { token: a.access, json: { recipient_id: b.user.id, subject: 'Test', body: 'This is a test message' } });
		const m = assertJson(res, 201);
		assert.equal(m.subject, 'Test');
		assert.equal(m.body, 'This is a test message');
		assert.match(m.id, UUID_RE);
		assert.equal(m.sender_id, a.user.id);
		assert.equal(m.recipient_id, b.user.id);
		assert.deepEqual(m.sender, { id: a.user.id, email: a.email, name: 'Ada Lovelace' });
		assert.equal(m.recipient.email, b.email);
		assert.equal(m.is_read, true, "the sender's own copy reads");
		assert.equal(m.is_starred, false);
		assert.equal(m.is_archived, false);
		assert.equal(m.thread_id, m.id);
		assert.equal(m.reply_to, null);
		assert.equal(m.meeting, null);
		assertRfc3339(m.created_at);
		assertRfc3339(m.updated_at);
		assert.equal(res.headers.get('location'), `${M}/${m.id}`);
		// And without the slash; the recipient sees it unread.
		await send(a, b, { subject: 'Second' });
		const inbox = await list(b);
		assert.deepEqual(inbox.data.map((x) => x.subject), ['Second', 'Test']);
		assert.ok(inbox.data.every((x) => x.is_read === false));
		assert.deepEqual((await list(b, '/')).data.map((x) => x.subject), ['Second', 'Test'], 'GET with a trailing slash');
	});

	test('by recipient_email (any case); to oneself', async () => {
		const { a, b } = await trio('email');
		const m = assertJson(await post(M, { token: a.access, json: { recipient_email: `  ${b.email.toUpperCase()} `, subject: 'By mail', body: 'x' } }), 201);
		assert.equal(m.recipient_id, b.user.id);
		const self = await send(a, a, { subject: 'Note to self' });
		assert.equal(self.recipient_id, a.user.id);
		assert.deepEqual(ids(await list(a)), [self.id]);
		assert.ok(ids(await list(a, '?folder=sent')).includes(self.id));
	});

	test('Idempotency-Key: a retried send delivers once', async () => {
		const { a, b } = await trio('idem');
		const key = `send-${Date.now()}`;
		const json = { recipient_id: b.user.id, subject: 'Once', body: 'only once' };
		const first = assertJson(await post(M, { token: a.access, json, headers: { 'Idempotency-Key': key } }), 201);
		const again = await post(M, { token: a.access, json, headers: { 'Idempotency-Key': key } });
		assert.equal(again.status, 201);
		assert.equal(again.headers.get('idempotent-replayed'), 'true');
		assert.equal(again.body.id, first.id);
		assert.deepEqual(ids(await list(b)), [first.id]);
		const other = await post(M, { token: a.access, json: { ...json, body: 'different' }, headers: { 'Idempotency-Key': key } });
		assertProblem(other, 422, 'idempotency_key_reused');
	});

	test('to someone who shares no organization: 404, the same as for nobody at all', async () => {
		const { a, c } = await trio('stranger');
		const byId = await post(M, { token: a.access, json: { recipient_id: c.user.id, subject: 'Spam', body: 'buy' } });
		const p1 = assertProblem(byId, 404, 'recipient_not_found');
		const byMail = await post(M, { token: a.access, json: { recipient_email: c.email, subject: 'Spam', body: 'buy' } });
		const p2 = assertProblem(byMail, 404, 'recipient_not_found');
		const nobody = await post(M, { token: a.access, json: { recipient_email: 'nobody-at-all@example.com', subject: 'Spam', body: 'buy' } });
		const p3 = assertProblem(nobody, 404, 'recipient_not_found');
		const unknownId = await post(M, { token: a.access, json: { recipient_id: '0190a0c0-0000-7000-8000-000000000000', subject: 'x', body: 'y' } });
		assertProblem(unknownId, 404, 'recipient_not_found');
		assert.equal(p1.detail, p3.detail, 'a stranger and nobody must look the same');
		assert.equal(p2.detail, p3.detail);
		assert.equal((await list(c)).data.length, 0, 'nothing arrived');
	});

	test('bad input: 400 with field errors', async () => {
		const { a, b } = await trio('bad');
		const to = { recipient_id: b.user.id };
		const cases = [
			[{ ...to, subject: '', body: 'x' }, 'subject'],
			[{ ...to, subject: '   ', body: 'x' }, 'subject'],
			[{ ...to, subject: 's'.repeat(256), body: 'x' }, 'subject'],
			[{ ...to, subject: 'line\nbreak', body: 'x' }, 'subject'],
			[{ ...to, subject: 'x', body: '' }, 'body'],
			[{ ...to, subject: 'x', body: 'b'.repeat(64 * 1024 + 1) }, 'body'],
			[{ ...to, subject: 'x', body: 'é'.repeat(32 * 1024 + 1) }, 'body'],
			[{ ...to, body: 'x' }, 'subject'],
			[{ ...to, subject: 'x' }, 'body'],
			[{ subject: 'x', body: 'y' }, 'recipient_id'],
			[{ recipient_id: b.user.id, recipient_email: b.email, subject: 'x', body: 'y' }, 'recipient_id'],
			[{ recipient_id: 'not-a-uuid', subject: 'x', body: 'y' }, 'recipient_id'],
			[{ recipient_email: 'not an address', subject: 'x', body: 'y' }, 'recipient_email'],
			[{ ...to, subject: 'x', body: 'y', reply_to: 'nope' }, 'reply_to'],
			[{ ...to, subject: 'x', body: 'y', meeting_id: 'nope' }, 'meeting_id'],
			[{ ...to, subject: 'x', body: 'y', at_seconds: 3 }, 'at_seconds'],
			[{ ...to, subject: 1, body: 'y' }, 'subject'],
			[{ ...to, subject: 'x', body: 'y', priority: 'high' }, 'priority'],
		];
		for (const [json, field] of cases) {
			const res = await post(M, { token: a.access, json });
			assertValidation(res, field);
		}
		// The limits themselves are fine.
		const ok = await send(a, b, { subject: 's'.repeat(255), body: 'b'.repeat(64 * 1024) });
		assert.equal(ok.subject.length, 255);
		assert.equal(ok.body.length, 64 * 1024);
		assert.equal((await list(b)).data.length, 1, 'only the valid one arrived');
		assertProblem(await post(M, { json: { ...to, subject: 'x', body: 'y' } }), 401);
	});
});

describe('read, flags, delete', T, () => {
	test("someone else's message is 404 to read, change or delete", async () => {
		const { a, b, c } = await trio('foreign');
		const m = await send(a, b);
		assertProblem(await get(`${M}/${m.id}`, { token: c.access }), 404, 'not_found');
		assertProblem(await patch(`${M}/${m.id}`, { token: c.access, json: { is_read: true } }), 404, 'not_found');
		assertProblem(await del(`${M}/${m.id}`, { token: c.access }), 404, 'not_found');
		const got = assertJson(await get(`${M}/${m.id}`, { token: b.access }), 200);
		assert.equal(got.is_read, false, 'untouched by the stranger');
		assertProblem(await get(`${M}/not-a-uuid`, { token: b.access }), 400);
	});

	test('flags are per side; folders follow them; stats count them', async () => {
		const { a, b } = await trio('flags');
		const m1 = await send(a, b, { subject: 'one' });
		const m2 = await send(a, b, { subject: 'two' });
		const m3 = await send(b, a, { subject: 'three' });
		let st = assertJson(await get(`${M}/stats/summary`, { token: b.access }), 200);
		assert.deepEqual(st, { total: 2, unread: 2, starred: 0, archived: 0, sent: 1 });
		assert.deepEqual(ids(await list(b, '?unread=true')), [m2.id, m1.id]);

		const r = assertJson(await patch(`${M}/${m1.id}`, { token: b.access, json: { is_read: true, is_starred: true } }), 200);
		assert.equal(r.is_read, true);
		assert.equal(r.is_starred, true);
		assertJson(await patch(`${M}/${m2.id}`, { token: b.access, json: { is_archived: true } }), 200);
		assert.deepEqual(ids(await list(b)), [m1.id]);
		assert.deepEqual(ids(await list(b, '?unread=true')), []);
		assert.deepEqual(ids(await list(b, '?folder=starred')), [m1.id]);
		assert.deepEqual(ids(await list(b, '?folder=archived')), [m2.id]);
		assert.deepEqual(ids(await list(b, '?folder=archived&unread=true')), [m2.id]);
		assert.deepEqual(ids(await list(b, '?folder=sent')), [m3.id]);
		// The sender's side did not change.
		const aview = assertJson(await get(`${M}/${m1.id}`, { token: a.access }), 200);
		assert.equal(aview.is_starred, false);
		assert.deepEqual(ids(await list(a, '?folder=starred')), []);
		assert.deepEqual(ids(await list(a, '?folder=sent')), [m2.id, m1.id]);
		// The sender stars their own copy of m2.
		assertJson(await patch(`${M}/${m2.id}`, { token: a.access, json: { is_starred: true } }), 200);
		assert.deepEqual(ids(await list(a, '?folder=starred')), [m2.id]);

		st = assertJson(await get(`${M}/stats/summary`, { token: b.access }), 200);
		assert.deepEqual(st, { total: 2, unread: 0, starred: 1, archived: 1, sent: 1 });
		st = assertJson(await get(`${M}/stats/summary/`, { token: a.access }), 200);
		assert.deepEqual(st, { total: 1, unread: 1, starred: 1, archived: 0, sent: 2 });

		assertValidation(await patch(`${M}/${m1.id}`, { token: b.access, json: {} }), 'is_read');
		assertValidation(await patch(`${M}/${m1.id}`, { token: b.access, json: { is_read: 'yes' } }), 'is_read');
		assertValidation(await patch(`${M}/${m1.id}`, { token: b.access, json: { subject: 'changed' } }), 'subject');
		assertValidation(await get(M + '?folder=trash', { token: b.access }), 'folder');
		assertValidation(await get(M + '?unread=maybe', { token: b.access }), 'unread');
	});

	test('each side deletes only its own copy', async () => {
		const { a, b } = await trio('del');
		const m = await send(a, b);
		const res = await del(`${M}/${m.id}`, { token: b.access });
		assert.equal(res.status, 204, show(res));
		assertProblem(await get(`${M}/${m.id}`, { token: b.access }), 404);
		assertProblem(await del(`${M}/${m.id}`, { token: b.access }), 404);
		assertProblem(await patch(`${M}/${m.id}`, { token: b.access, json: { is_read: true } }), 404);
		assert.deepEqual(ids(await list(b)), []);
		assertJson(await get(`${M}/${m.id}`, { token: a.access }), 200);
		assert.deepEqual(ids(await list(a, '?folder=sent')), [m.id]);
		assert.equal((await del(`${M}/${m.id}`, { token: a.access })).status, 204);
		assertProblem(await get(`${M}/${m.id}`, { token: a.access }), 404);
	});
});

describe('threads, meetings, search, paging', T, () => {
	test('reply_to makes a thread; a reply to an unseen message is 404', async () => {
		const { a, b, c } = await trio('thread');
		const q = await send(a, b, { subject: 'Question' });
		const ans = await send(b, a, { subject: 'Re: Question', reply_to: q.id });
		assert.equal(ans.thread_id, q.id);
		assert.equal(ans.reply_to, q.id);
		const again = await send(a, b, { subject: 'Re: Question', reply_to: ans.id });
		assert.equal(again.thread_id, q.id);
		await send(a, b, { subject: 'Unrelated' });
		const th = await list(b, `?thread_id=${q.id}`);
		assert.deepEqual(ids(th), [again.id, ans.id, q.id]);
		const cc = await register({ tag: 'threadcc' });
		joinOrg(c, cc);
		const res = await post(M, { token: c.access, json: { recipient_id: cc.user.id, subject: 'x', body: 'y', reply_to: q.id } });
		assertProblem(res, 404, 'reply_to_not_found');
		assertValidation(await get(`${M}?thread_id=zzz`, { token: b.access }), 'thread_id');
	});

	test('a meeting card: a meeting the sender can read, and a time in it', async () => {
		const { a, b, c } = await trio('card');
		const meeting = await createMeeting(a.access, { title: 'Quarterly review' });
		const m = await send(a, b, { meeting_id: meeting.id, at_seconds: 42.5 });
		assert.deepEqual(m.meeting, { id: meeting.id, title: 'Quarterly review', at_seconds: 42.5 });
		assert.equal(m.meeting_id, meeting.id);
		const seen = assertJson(await get(`${M}/${m.id}`, { token: b.access }), 200);
		assert.equal(seen.meeting.title, 'Quarterly review');
		const foreign = await createMeeting(c.access, { title: 'Secret' });
		const res = await post(M, { token: a.access, json: { recipient_id: b.user.id, subject: 'x', body: 'y', meeting_id: foreign.id } });
		const p = assertProblem(res, 404, 'meeting_not_found');
		assert.ok(!p.detail.includes('Secret'));
		assertValidation(
			await post(M, { token: a.access, json: { recipient_id: b.user.id, subject: 'x', body: 'y', meeting_id: meeting.id, at_seconds: -1 } }),
			'at_seconds',
		);
	});

	test('q searches subject and body; wildcards are literal; bounded', async () => {
		const { a, b } = await trio('search');
		const m1 = await send(a, b, { subject: 'Budget 2027', body: 'We are 100% on track' });
		const m2 = await send(a, b, { subject: 'Lunch', body: 'Pizza at noon' });
		assert.deepEqual(ids(await list(b, '?q=budget')), [m1.id]);
		assert.deepEqual(ids(await list(b, '?q=PIZZA')), [m2.id]);
		assert.deepEqual(ids(await list(b, `?q=${encodeURIComponent('100%')}`)), [m1.id]);
		assert.deepEqual(ids(await list(b, `?q=${encodeURIComponent('%')}`)), [m1.id], '% matches only a literal %');
		assert.deepEqual(ids(await list(b, '?q=_')), [], '_ matches only a literal _');
		assert.deepEqual(ids(await list(a, '?folder=sent&q=noon')), [m2.id]);
		assertValidation(await get(`${M}?q=${'x'.repeat(201)}`, { token: b.access }), 'q');
	});

	test('cursor paging: limit default 20, max 100, next_cursor', async () => {
		const { a, b } = await trio('page');
		const sent = [];
		for (let i = 0; i < 23; i++) sent.push((await send(a, b, { subject: `m${i}` })).id);
		const first = await list(b);
		assert.equal(first.data.length, 20);
		assert.equal(typeof first.next_cursor, 'string');
		const second = await list(b, `?cursor=${encodeURIComponent(first.next_cursor)}`);
		assert.equal(second.data.length, 3);
		assert.equal(second.next_cursor, null);
		assert.deepEqual([...ids(first), ...ids(second)], sent.slice().reverse());
		const small = await list(b, '?limit=5');
		assert.equal(small.data.length, 5);
		for (const q of ['?limit=0', '?limit=101', '?limit=x']) assertValidation(await get(M + q, { token: b.access }), 'limit');
		assertValidation(await get(`${M}?cursor=bogus`, { token: b.access }), 'cursor');
	});
});

describe('bulk', T, () => {
	test('per-id results; foreign and unknown ids are reported and left alone', async () => {
		const { a, b, c } = await trio('bulk');
		const cc = await register({ tag: 'bulkcc' });
		joinOrg(c, cc);
		const mine1 = await send(a, b, { subject: 'one' });
		const mine2 = await send(a, b, { subject: 'two' });
		const foreign = await send(c, cc, { subject: 'theirs' });
		const unknown = '0190a0c0-0000-7000-8000-000000000001';
		const res = await put(`${M}/bulk`, { token: b.access, json: { ids: [mine1.id, foreign.id, unknown, mine2.id], action: 'star' } });
		const r = assertJson(res, 200);
		assert.deepEqual(r.results, [
			{ id: mine1.id, status: 'ok' },
			{ id: foreign.id, status: 'not_found' },
			{ id: unknown, status: 'not_found' },
			{ id: mine2.id, status: 'ok' },
		]);
		assert.equal(r.ok, 2);
		assert.equal(r.not_found, 2);
		assert.deepEqual(ids(await list(b, '?folder=starred')), [mine2.id, mine1.id]);
		const theirs = assertJson(await get(`${M}/${foreign.id}`, { token: cc.access }), 200);
		assert.equal(theirs.is_starred, false, "the stranger's message is untouched");

		for (const action of ['read', 'unread', 'unstar', 'archive', 'unarchive']) {
			const x = assertJson(await put(`${M}/bulk/`, { token: b.access, json: { ids: [mine1.id, foreign.id], action } }), 200);
			assert.deepEqual(x.results.map((e) => e.status), ['ok', 'not_found'], action);
		}
		assertJson(await put(`${M}/bulk`, { token: b.access, json: { ids: [mine1.id], action: 'archive' } }), 200);
		assert.deepEqual(ids(await list(b, '?folder=archived')), [mine1.id]);
		const d = assertJson(await put(`${M}/bulk`, { token: b.access, json: { ids: [mine1.id, foreign.id], action: 'delete' } }), 200);
		assert.deepEqual(d.results.map((e) => e.status), ['ok', 'not_found']);
		assertProblem(await get(`${M}/${mine1.id}`, { token: b.access }), 404);
		assertJson(await get(`${M}/${foreign.id}`, { token: cc.access }), 200);
		assertJson(await get(`${M}/${mine1.id}`, { token: a.access }), 200);
	});

	test('bad input: more than 100 ids, none, malformed, unknown action', async () => {
		const { a, b } = await trio('bulkbad');
		const m = await send(a, b);
		const many = Array.from({ length: 101 }, () => m.id);
		assertValidation(await put(`${M}/bulk`, { token: b.access, json: { ids: many, action: 'read' } }), 'ids');
		assertValidation(await put(`${M}/bulk`, { token: b.access, json: { ids: [], action: 'read' } }), 'ids');
		assertValidation(await put(`${M}/bulk`, { token: b.access, json: { ids: ['nope'], action: 'read' } }), 'ids');
		assertValidation(await put(`${M}/bulk`, { token: b.access, json: { ids: [m.id], action: 'purge' } }), 'action');
		assertValidation(await put(`${M}/bulk`, { token: b.access, json: { ids: [m.id] } }), 'action');
		const got = assertJson(await get(`${M}/${m.id}`, { token: b.access }), 200);
		assert.equal(got.is_read, false, 'a refused bulk changed nothing');
		// Exactly 100 is fine.
		const hundred = Array.from({ length: 100 }, () => m.id);
		const r = assertJson(await put(`${M}/bulk`, { token: b.access, json: { ids: hundred, action: 'read' } }), 200);
		assert.equal(r.results.length, 100);
	});
});

describe('contacts', T, () => {
	test('people who share an organization with me, searchable; never strangers', async () => {
		const { a, b, c } = await trio('contacts');
		const all = assertJson(await get(`${M}/contacts`, { token: a.access }), 200);
		const emails = all.data.map((p) => p.email).sort();
		assert.deepEqual(emails, [a.email, b.email].sort());
		assert.ok(!emails.includes(c.email));
		const bob = all.data.find((p) => p.email === b.email);
		assert.deepEqual(bob, { id: b.user.id, email: b.email, name: 'Bob Stone' });
		const q = assertJson(await get(`${M}/contacts?q=bob`, { token: a.access }), 200);
		assert.deepEqual(q.data.map((p) => p.email), [b.email]);
		const none = assertJson(await get(`${M}/contacts?q=${encodeURIComponent(c.email)}`, { token: a.access }), 200);
		assert.deepEqual(none.data, []);
		assertValidation(await get(`${M}/contacts?limit=500`, { token: a.access }), 'limit');
	});
});
