// Meetings: create, list (status filter, cursor paging), get, update,
// delete, path validation and tenancy. Audio is uploaded here only with
// ?transcribe=false (no recognition work); transcription has its own files.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
	MEETINGS,
	UUID_RE,
	assertJson,
	assertMeeting,
	assertNoAudio,
	assertProblem,
	assertRfc3339,
	assertSecurityHeaders,
	assertValidation,
	createApiKey,
	createMeeting,
	del,
	get,
	getMeeting,
	post,
	put,
	readEvents,
	register,
	requestBytes,
	show,
	sleep,
	uploadOk,
} from './helpers.mjs';
import { SENTENCES, speech } from './audio.mjs';

const T = { timeout: 120000 };

const list = (token, query = '') => get(MEETINGS + query, { token });

describe('create', T, () => {
	test('201 with the whole representation, status pending, Location', async () => {
		const a = await register({ tag: 'mtg' });
		const t0 = Date.now();
		const res = await post(MEETINGS, { token: a.access, json: { title: 'Quarterly planning' } });
		const m = assertJson(res, 201);
		assertMeeting(m);
		assert.equal(m.title, 'Quarterly planning');
		assert.ok(m.description === null || m.description === '', `description defaults to empty: ${JSON.stringify(m.description)}`);
		assert.equal(m.meeting_date, null);
		assert.equal(m.status, 'pending');
		assert.equal(m.progress, 0);
		assert.equal(m.language, 'en', 'language defaults to "en"');
		assertNoAudio(m);
		for (const f of ['provider_used', 'model_used', 'transcription_confidence', 'processing_started_at', 'processing_completed_at', 'processing_error']) {
			assert.equal(m[f], null, `${f} is null before any processing`);
		}
		assert.deepEqual(m.processing_steps, []);
		assert.ok(Math.abs(Date.parse(m.created_at) - t0) < 60000, `created_at ${m.created_at} is not now`);
		const loc = res.headers.get('location') || '';
		assert.ok(loc === `${MEETINGS}/${m.id}` || loc.endsWith(`${MEETINGS}/${m.id}`), `Location ${JSON.stringify(loc)}`);

		const got = await getMeeting(a.access, m.id);
		assert.deepEqual(got, m, 'GET returns what POST returned');
	});

	test('every field is stored and echoed; meeting_date is normalised to UTC', async () => {
		const a = await register({ tag: 'mtgall' });
		const json = {
			title: 'Design review — ünïcode ✓',
			description: 'Line one\nLine two with "quotes" and <tags>',
			meeting_date: '2024-05-01T12:30:00+02:00',
			language: 'de',
		};
		const m = assertJson(await post(MEETINGS, { token: a.access, json }), 201);
		assertMeeting(m);
		assert.equal(m.title, json.title);
		assert.equal(m.description, json.description);
		assertRfc3339(m.meeting_date, 'meeting_date');
		assert.equal(Date.parse(m.meeting_date), Date.parse('2024-05-01T10:30:00Z'));
		assert.equal(m.language, 'de');

		const n = await createMeeting(a.access, { title: 'Null date', meeting_date: null, description: 'd' });
		assert.equal(n.meeting_date, null);
		const z = await createMeeting(a.access, { title: 'UTC date', meeting_date: '2023-12-31T23:59:59Z' });
		assert.equal(Date.parse(z.meeting_date), Date.parse('2023-12-31T23:59:59Z'));
	});

	test('title 1..200 characters, description up to 5000', async () => {
		const a = await register({ tag: 'mtglen' });
		assert.equal((await createMeeting(a.access, { title: 't' })).title, 't');
		assert.equal((await createMeeting(a.access, { title: 'x'.repeat(200) })).title, 'x'.repeat(200));
		// characters, not bytes: 200 two-byte characters are fine
		assert.equal((await createMeeting(a.access, { title: 'é'.repeat(200) })).title, 'é'.repeat(200));
		assert.equal((await createMeeting(a.access, { title: 'd', description: 'y'.repeat(5000) })).description, 'y'.repeat(5000));

		const bad = [
			[{}, 'title'],
			[{ title: '' }, 'title'],
			[{ title: 'x'.repeat(201) }, 'title'],
			[{ title: 'é'.repeat(201) }, 'title'],
			[{ title: 42 }, 'title'],
			[{ title: null }, 'title'],
			[{ title: 'ok', description: 'y'.repeat(5001) }, 'description'],
			[{ title: 'ok', meeting_date: 'yesterday' }, 'meeting_date'],
			[{ title: 'ok', meeting_date: '2024-13-45T99:00:00Z' }, 'meeting_date'],
			[{ title: 'ok', meeting_date: 1714550000 }, 'meeting_date'],
			[{ title: 'ok', status: 'completed' }, 'status'],
			[{ title: 'ok', colour: 'blue' }, 'colour'],
		];
		for (const [json, field] of bad) {
			assertValidation(await post(MEETINGS, { token: a.access, json }), [field]);
		}
		// nothing but the good ones was made
		const body = assertJson(await list(a.access, '?limit=100'), 200);
		assert.equal(body.data.length, 4);
		// errors[] lists every bad field at once (README)
		assertValidation(await post(MEETINGS, { token: a.access, json: { title: '', meeting_date: 'yesterday' } }), ['title', 'meeting_date']);
	});

	test('malformed JSON -> 400, wrong content type -> 415', async () => {
		const a = await register({ tag: 'mtgjson' });
		const r1 = await post(MEETINGS, { token: a.access, body: '{"title": ', headers: { 'content-type': 'application/json' } });
		assertProblem(r1, 400);
		const r2 = await post(MEETINGS, { token: a.access, body: 'title=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
		assertProblem(r2, 415);
	});

	test('needs authentication; an API key works', async () => {
		assertProblem(await post(MEETINGS, { json: { title: 'x' } }), 401, 'unauthorized');
		assertProblem(await get(MEETINGS), 401, 'unauthorized');
		assertProblem(await get(`${MEETINGS}/${crypto.randomUUID()}`, { token: 'garbage' }), 401);
		const a = await register({ tag: 'mtgkey' });
		const key = await createApiKey(a.access);
		const m = await createMeeting(key, { title: 'via key' });
		assert.equal((await getMeeting(a.access, m.id)).title, 'via key');
	});
});

describe('list', T, () => {
	test('{data, next_cursor}, newest first, only my organization', async () => {
		const a = await register({ tag: 'mtglist' });
		const b = await register({ tag: 'mtglistb' });
		await createMeeting(b.access, { title: 'not yours' });
		const made = [];
		for (const title of ['first', 'second', 'third']) made.push(await createMeeting(a.access, { title }));
		const body = assertJson(await list(a.access), 200);
		assert.ok(Array.isArray(body.data));
		assert.equal(body.next_cursor, null);
		assert.deepEqual(body.data.map((m) => m.id), made.map((m) => m.id).reverse());
		for (const m of body.data) assertMeeting(m, 'listed meeting');
		assert.deepEqual(body.data.map((m) => m.title), ['third', 'second', 'first']);

		const empty = assertJson(await list((await register({ tag: 'mtgempty' })).access), 200);
		assert.deepEqual(empty, { data: [], next_cursor: null });
	});

	test('?status= filters; an unknown status -> 400 on status', async () => {
		const a = await register({ tag: 'mtgstatus' });
		const p1 = await createMeeting(a.access, { title: 'pending one' });
		const u = await createMeeting(a.access, { title: 'with audio' });
		const p2 = await createMeeting(a.access, { title: 'pending two' });
		const up = await uploadOk(a.access, u.id, speech(SENTENCES.project, 'mp3'), { filename: 'a.mp3', transcribe: false });
		assert.equal(up.status, 'uploaded');

		const uploaded = assertJson(await list(a.access, '?status=uploaded'), 200);
		assert.deepEqual(uploaded.data.map((m) => m.id), [u.id]);
		const pending = assertJson(await list(a.access, '?status=pending'), 200);
		assert.deepEqual(pending.data.map((m) => m.id), [p2.id, p1.id]);
		for (const s of ['queued', 'processing', 'completed', 'failed']) {
			assert.deepEqual(assertJson(await list(a.access, `?status=${s}`), 200).data, [], `status=${s}`);
		}
		for (const s of ['bogus', 'PENDING', 'pending,uploaded']) {
			assertValidation(await list(a.access, `?status=${encodeURIComponent(s)}`), ['status']);
		}
	});

	test('cursor paging: 5 meetings by 2 -> 2, 2, 1; limit 1..100; garbage cursor -> 400', async () => {
		const a = await register({ tag: 'mtgpage' });
		const made = [];
		for (let i = 0; i < 5; i++) made.push((await createMeeting(a.access, { title: `m${i}` })).id);
		const expected = [...made].reverse();
		const seen = [];
		const sizes = [];
		let cursor = null;
		for (let page = 0; page < 10; page++) {
			const q = `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
			const body = assertJson(await list(a.access, q), 200);
			sizes.push(body.data.length);
			seen.push(...body.data.map((m) => m.id));
			if (body.next_cursor === null) break;
			assert.equal(typeof body.next_cursor, 'string');
			cursor = body.next_cursor;
		}
		assert.deepEqual(sizes, [2, 2, 1]);
		assert.deepEqual(seen, expected);

		// the status filter pages too
		const f1 = assertJson(await list(a.access, '?status=pending&limit=3'), 200);
		assert.equal(f1.data.length, 3);
		const f2 = assertJson(await list(a.access, `?status=pending&limit=3&cursor=${encodeURIComponent(f1.next_cursor)}`), 200);
		assert.deepEqual([...f1.data, ...f2.data].map((m) => m.id), expected);
		assert.equal(f2.next_cursor, null);

		for (const l of ['0', '101', '-1', 'abc', '1.5']) assertValidation(await list(a.access, `?limit=${l}`), ['limit']);
		for (const l of ['1', '100']) assertJson(await list(a.access, `?limit=${l}`), 200);
		for (const c of ['garbage', '!!!!', crypto.randomBytes(24).toString('base64url')]) {
			assertValidation(await list(a.access, `?cursor=${encodeURIComponent(c)}`), ['cursor']);
		}
	});
});

describe('get, update, delete', T, () => {
	test('PUT changes only the fields given', async () => {
		const a = await register({ tag: 'mtgput' });
		const m = await createMeeting(a.access, { title: 'Before', description: 'desc', meeting_date: '2024-01-02T03:04:05Z' });
		await sleep(20);

		const r1 = await put(`${MEETINGS}/${m.id}`, { token: a.access, json: { title: 'After' } });
		const m1 = assertJson(r1, 200);
		assertMeeting(m1);
		assert.equal(m1.id, m.id);
		assert.equal(m1.title, 'After');
		assert.equal(m1.description, 'desc');
		assert.equal(Date.parse(m1.meeting_date), Date.parse('2024-01-02T03:04:05Z'));
		assert.equal(m1.language, 'en');
		assert.equal(m1.status, 'pending');
		assert.equal(m1.created_at, m.created_at);
		assert.ok(Date.parse(m1.updated_at) >= Date.parse(m.updated_at), 'updated_at does not go back');

		const m2 = assertJson(await put(`${MEETINGS}/${m.id}`, { token: a.access, json: { description: 'new', meeting_date: null, language: 'fr' } }), 200);
		assert.equal(m2.title, 'After');
		assert.equal(m2.description, 'new');
		assert.equal(m2.meeting_date, null);
		assert.equal(m2.language, 'fr');

		const m3 = assertJson(await put(`${MEETINGS}/${m.id}`, { token: a.access, json: {} }), 200);
		assert.equal(m3.title, 'After');
		assert.deepEqual(await getMeeting(a.access, m.id), m3);

		for (const [json, field] of [
			[{ title: '' }, 'title'],
			[{ title: 'x'.repeat(201) }, 'title'],
			[{ title: null }, 'title'],
			[{ description: 'y'.repeat(5001) }, 'description'],
			[{ meeting_date: 'yesterday' }, 'meeting_date'],
			[{ status: 'completed' }, 'status'],
			[{ nope: 1 }, 'nope'],
		]) {
			assertValidation(await put(`${MEETINGS}/${m.id}`, { token: a.access, json }), [field]);
		}
		assert.deepEqual(await getMeeting(a.access, m.id), m3, 'a refused PUT changes nothing');
	});

	test('DELETE -> 204; then the meeting, its audio and transcript are 404', async () => {
		const a = await register({ tag: 'mtgdel' });
		const m = await createMeeting(a.access, { title: 'doomed' });
		const keep = await createMeeting(a.access, { title: 'kept' });
		await uploadOk(a.access, m.id, speech(SENTENCES.project, 'mp3'), { filename: 'x.mp3', transcribe: false });
		assert.equal((await requestBytes('GET', `${MEETINGS}/${m.id}/audio`, { token: a.access })).status, 200);

		const res = await del(`${MEETINGS}/${m.id}`, { token: a.access });
		assert.equal(res.status, 204, show(res));
		assert.equal(res.text, '');
		assertSecurityHeaders(res);

		assertProblem(await get(`${MEETINGS}/${m.id}`, { token: a.access }), 404, 'not_found');
		assertProblem(await requestBytes('GET', `${MEETINGS}/${m.id}/audio`, { token: a.access }), 404, 'not_found');
		assertProblem(await get(`${MEETINGS}/${m.id}/transcript`, { token: a.access }), 404, 'not_found');
		assertProblem(await put(`${MEETINGS}/${m.id}`, { token: a.access, json: { title: 'x' } }), 404, 'not_found');
		assertProblem(await del(`${MEETINGS}/${m.id}`, { token: a.access }), 404, 'not_found');
		const body = assertJson(await list(a.access), 200);
		assert.deepEqual(body.data.map((x) => x.id), [keep.id]);
	});

	test('a path id that is not a UUID -> 400 invalid_path_parameter; an unknown UUID -> 404', async () => {
		const a = await register({ tag: 'mtgpath' });
		const tok = { token: a.access };
		for (const id of ['not-a-uuid', '123', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz']) {
			assertProblem(await get(`${MEETINGS}/${id}`, tok), 400, 'invalid_path_parameter');
			assertProblem(await put(`${MEETINGS}/${id}`, { ...tok, json: { title: 'x' } }), 400, 'invalid_path_parameter');
			assertProblem(await del(`${MEETINGS}/${id}`, tok), 400, 'invalid_path_parameter');
			assertProblem(await post(`${MEETINGS}/${id}/upload`, { ...tok, body: Buffer.from('x') }), 400, 'invalid_path_parameter');
			assertProblem(await post(`${MEETINGS}/${id}/transcribe`, { ...tok, json: {} }), 400, 'invalid_path_parameter');
			assertProblem(await get(`${MEETINGS}/${id}/audio`, tok), 400, 'invalid_path_parameter');
			assertProblem(await get(`${MEETINGS}/${id}/transcript`, tok), 400, 'invalid_path_parameter');
			assertProblem(await post(`${MEETINGS}/${id}/ticket`, tok), 400, 'invalid_path_parameter');
		}
		const u = crypto.randomUUID();
		assertProblem(await get(`${MEETINGS}/${u}`, tok), 404, 'not_found');
		assertProblem(await put(`${MEETINGS}/${u}`, { ...tok, json: { title: 'x' } }), 404, 'not_found');
		assertProblem(await del(`${MEETINGS}/${u}`, tok), 404, 'not_found');
		assertProblem(await get(`${MEETINGS}/${u}/transcript`, tok), 404, 'not_found');
		assertProblem(await get(`${MEETINGS}/${u}/audio`, tok), 404, 'not_found');
	});
});

describe('tenancy', T, () => {
	test("another organization's meeting is 404 everywhere and stays untouched", async () => {
		const a = await register({ tag: 'mtgtena' });
		const b = await register({ tag: 'mtgtenb' });
		const m = await createMeeting(a.access, { title: 'secret of a', description: 'private' });
		await uploadOk(a.access, m.id, speech(SENTENCES.project, 'mp3'), { filename: 'a.mp3', transcribe: false });
		const before = await getMeeting(a.access, m.id);
		const tok = { token: b.access };
		const p = `${MEETINGS}/${m.id}`;

		assertProblem(await get(p, tok), 404, 'not_found');
		assertProblem(await put(p, { ...tok, json: { title: 'mine now' } }), 404, 'not_found');
		assertProblem(await del(p, tok), 404, 'not_found');
		assertProblem(await post(`${p}/upload?filename=b.mp3`, { ...tok, body: speech(SENTENCES.meeting, 'mp3') }), 404, 'not_found');
		assertProblem(await post(`${p}/transcribe`, { ...tok, json: {} }), 404, 'not_found');
		assertProblem(await requestBytes('GET', `${p}/audio`, tok), 404, 'not_found');
		assertProblem(await get(`${p}/transcript`, tok), 404, 'not_found');
		assertProblem(await get(`${p}/transcript?format=srt`, tok), 404, 'not_found');
		assertProblem(await post(`${p}/ticket`, tok), 404, 'not_found');
		const ev = await readEvents(`${p}/events`, { token: b.access, timeout: 10000 });
		assert.equal(ev.status, 404, `events of another org's meeting: ${ev.status} ${ev.text}`);

		const bl = assertJson(await list(b.access), 200);
		assert.ok(!bl.data.some((x) => x.id === m.id), "B's list must not show A's meeting");
		assert.ok(!assertJson(await list(b.access, '?status=uploaded'), 200).data.some((x) => x.id === m.id));

		// still A's, unchanged
		assert.deepEqual(await getMeeting(a.access, m.id), before);
		assert.match(m.id, UUID_RE);
	});
});

describe('issue 8: Idempotency-Key on POST /meetings', T, () => {
	const titled = async (token, title) => (await list(token, '?limit=100')).body.data.filter((m) => m.title === title);

	test('same key and body -> the same meeting again (Idempotent-Replayed: true); no second meeting', async () => {
		const a = await register({ tag: 'idem' });
		const key = crypto.randomUUID();
		const json = { title: 'Idempotent meeting', description: 'once' };
		const first = await post(MEETINGS, { token: a.access, json, headers: { 'idempotency-key': key } });
		const m = assertJson(first, 201);
		assert.equal(first.headers.get('idempotent-replayed'), null);
		const again = await post(MEETINGS, { token: a.access, json, headers: { 'idempotency-key': key } });
		const m2 = assertJson(again, 201);
		assert.equal(again.headers.get('idempotent-replayed'), 'true');
		assert.equal(m2.id, m.id);
		assert.equal(again.headers.get('location'), first.headers.get('location'));
		assert.deepEqual(m2, m, 'the same reply body');
		assert.equal((await titled(a.access, 'Idempotent meeting')).length, 1);
		// without a key, the same body makes a new meeting as before
		assertJson(await post(MEETINGS, { token: a.access, json }), 201);
		assert.equal((await titled(a.access, 'Idempotent meeting')).length, 2);
	});

	test('same key, different body -> 422 idempotency_key_reused; another user may use the same key', async () => {
		const a = await register({ tag: 'idem2' });
		const key = `key-${crypto.randomUUID()}`;
		assertJson(await post(MEETINGS, { token: a.access, json: { title: 'First use' }, headers: { 'idempotency-key': key } }), 201);
		const other = await post(MEETINGS, { token: a.access, json: { title: 'Second use' }, headers: { 'idempotency-key': key } });
		assertProblem(other, 422, 'idempotency_key_reused');
		assert.equal((await titled(a.access, 'Second use')).length, 0);
		const b = await register({ tag: 'idem3' });
		const theirs = await post(MEETINGS, { token: b.access, json: { title: 'Second use' }, headers: { 'idempotency-key': key } });
		assertJson(theirs, 201);
		assert.equal(theirs.headers.get('idempotent-replayed'), null);
	});

	test('ten concurrent requests with one key create one meeting; the others replay it or get 409 in flight', async () => {
		const a = await register({ tag: 'idem4' });
		const key = crypto.randomUUID();
		const json = { title: 'Concurrent idempotent' };
		const res = await Promise.all(Array.from({ length: 10 }, () => post(MEETINGS, { token: a.access, json, headers: { 'idempotency-key': key } })));
		const created = res.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null);
		assert.equal(created.length, 1, `one fresh 201: ${res.map((r) => r.status).join(',')}`);
		for (const r of res) {
			if (r.status === 201) assert.equal(r.body.id, created[0].body.id);
			else assertProblem(r, 409, 'idempotency_key_in_flight');
		}
		assert.equal((await titled(a.access, 'Concurrent idempotent')).length, 1);
	});

	test('a key that is too long or not printable ASCII -> 400 invalid_idempotency_key', async () => {
		const a = await register({ tag: 'idem5' });
		let checked = 0;
		for (const key of ['x'.repeat(256), 'tab\there', 'caf\u00e9']) {
			const res = await post(MEETINGS, { token: a.access, json: { title: 'Bad key' }, headers: { 'idempotency-key': key } }).catch((e) => e);
			if (res instanceof Error) continue; // fetch itself refuses some header values
			assertProblem(res, 400, 'invalid_idempotency_key');
			checked++;
		}
		assert.ok(checked >= 2, 'at least the long and the tab key reached the server');
		assertJson(await post(MEETINGS, { token: a.access, json: { title: 'Good key' }, headers: { 'idempotency-key': 'x'.repeat(255) } }), 201);
		assert.equal((await titled(a.access, 'Bad key')).length, 0);
	});
});
