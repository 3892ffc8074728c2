// Search narrowed to a collection (issue 13 item 1, the collection filter):
// GET /api/v1/search?collection_id= finds only the meetings in that
// collection; a collection the caller cannot see is 404, never an empty
// list; a guest from another organization with whom the collection is
// shared finds its meetings' text and nothing else of that organization.
//
// Titles and descriptions carry the words (no transcription needed: they
// are indexed like transcript segments).

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
	MEETINGS,
	PASSWORD,
	assertJson,
	assertProblem,
	assertValidation,
	createApiKey,
	createMeeting,
	del,
	get,
	post,
	put,
	register,
	show,
	uniqueEmail,
} from './helpers.mjs';

const T = { timeout: 60000 };
const COLLS = '/api/v1/collections';

async function hits(token, params, status = 200) {
	const res = await get(`/api/v1/search?${new URLSearchParams(params)}`, { token });
	assertJson(res, status);
	return res.body.data;
}
const ids = (data) => [...new Set(data.map((h) => h.meeting.id))].sort();

async function createColl(token, name) {
	const res = await post(COLLS, { token, json: { name } });
	assert.equal(res.status, 201, `create collection: ${show(res)}`);
	return res.body;
}
async function addMeeting(token, cid, mid) {
	const res = await put(`${COLLS}/${cid}/meetings/${mid}`, { token });
	assert.equal(res.status, 204, `add meeting: ${show(res)}`);
}

let owner, guest, stranger, inColl, outColl, board, empty;

before(async () => {
	owner = await register({ tag: 'srchcoll-owner' });
	stranger = await register({ tag: 'srchcoll-stranger' });
	inColl = await createMeeting(owner.access, { title: 'Walrus quarterly review', description: 'walrus tusk inventory' });
	outColl = await createMeeting(owner.access, { title: 'Walrus secret budget', description: 'walrus payroll confidential' });
	board = await createColl(owner.access, 'Board');
	empty = await createColl(owner.access, 'Empty');
	await addMeeting(owner.access, board.id, inColl.id);
	// A guest from outside the organization, invited to Board as a viewer.
	const email = uniqueEmail('srchcoll-guest');
	const inv = await post(`${COLLS}/${board.id}/invitations`, { token: owner.access, json: { email, role: 'viewer' } });
	assert.equal(inv.status, 201, `invite: ${show(inv)}`);
	const res = await post('/api/v1/collection-invitations/signup', {
		json: { token: inv.body.token, password: PASSWORD, first_name: 'Guest' },
	});
	assert.equal(res.status, 201, `guest signup: ${show(res)}`);
	guest = { access: res.body.access_token, org: res.body.organization.id };
	assert.notEqual(guest.org, owner.organization.id);
}, T);

describe('search in a collection', () => {
	test('collection_id keeps the meetings in that collection only', T, async () => {
		assert.deepEqual(ids(await hits(owner.access, { q: 'walrus' })), [inColl.id, outColl.id].sort());
		const only = await hits(owner.access, { q: 'walrus', collection_id: board.id });
		assert.deepEqual(ids(only), [inColl.id]);
		assert.deepEqual(only.map((h) => h.kind).sort(), ['description', 'title']);
		assert.deepEqual(await hits(owner.access, { q: 'payroll', collection_id: board.id }), []);
		assert.deepEqual(await hits(owner.access, { q: 'walrus', collection_id: empty.id }), []);
		// Combined with the other filters.
		assert.deepEqual(ids(await hits(owner.access, { q: 'walrus', collection_id: board.id, meeting_id: inColl.id })), [inColl.id]);
		assert.deepEqual(await hits(owner.access, { q: 'walrus', collection_id: board.id, meeting_id: outColl.id }), []);
		// An API key of the organization narrows the same way.
		const key = await createApiKey(owner.access, 'search key');
		assert.deepEqual(ids(await hits(key, { q: 'walrus', collection_id: board.id })), [inColl.id]);
	});

	test('a meeting taken out of the collection, or deleted, is not found through it', T, async () => {
		const m = await createMeeting(owner.access, { title: 'Walrus offsite plans' });
		await addMeeting(owner.access, board.id, m.id);
		assert.deepEqual(ids(await hits(owner.access, { q: 'offsite', collection_id: board.id })), [m.id]);
		assert.equal((await del(`${COLLS}/${board.id}/meetings/${m.id}`, { token: owner.access })).status, 204);
		assert.deepEqual(await hits(owner.access, { q: 'offsite', collection_id: board.id }), []);
		await addMeeting(owner.access, board.id, m.id);
		assert.equal((await del(`${MEETINGS}/${m.id}`, { token: owner.access })).status, 204);
		assert.deepEqual(await hits(owner.access, { q: 'offsite', collection_id: board.id }), []);
	});

	test('a guest of the collection finds its meetings and nothing else of that organization', T, async () => {
		const own = await createMeeting(guest.access, { title: 'Walrus sketches of my own' });
		const inC = await hits(guest.access, { q: 'walrus', collection_id: board.id });
		assert.deepEqual(ids(inC), [inColl.id]);
		assert.ok(inC.some((h) => /<mark>walrus<\/mark>/i.test(h.snippet)), JSON.stringify(inC));
		assert.deepEqual(ids(await hits(guest.access, { q: 'tusk', collection_id: board.id })), [inColl.id]);
		// Without the filter: the shared meeting and their own, never the other one.
		assert.deepEqual(ids(await hits(guest.access, { q: 'walrus' })), [inColl.id, own.id].sort());
		const secret = await hits(guest.access, { q: 'payroll confidential' });
		assert.deepEqual(secret, []);
		assert.deepEqual(await hits(guest.access, { q: 'walrus', collection_id: board.id, meeting_id: outColl.id }), []);
		// The organization's other collection is not theirs: 404, not an empty list.
		assertProblem(await get(`/api/v1/search?q=walrus&collection_id=${empty.id}`, { token: guest.access }), 404, 'collection_not_found');
	});

	test("another organization's collection, or none at all, is 404; a malformed id is 400", T, async () => {
		await createMeeting(stranger.access, { title: 'Walrus of the stranger' });
		for (const cid of [board.id, empty.id, crypto.randomUUID()]) {
			const res = await get(`/api/v1/search?q=walrus&collection_id=${cid}`, { token: stranger.access });
			assertProblem(res, 404, 'collection_not_found');
			assert.equal(JSON.stringify(res.body).includes('Walrus'), false);
		}
		assertValidation(await get('/api/v1/search?q=walrus&collection_id=board', { token: owner.access }), ['collection_id']);
		assertValidation(await get('/api/v1/search?q=&collection_id=nope', { token: owner.access }), ['q', 'collection_id']);
		// Empty means no filter.
		assert.deepEqual(ids(await hits(owner.access, { q: 'walrus', collection_id: '' })), [inColl.id, outColl.id].sort());
	});
});
